//! The SSH client configuration followed as `ssh` follows it: a host named by an alias is
//! dialled on the configuration's `Port`, as its `User`, with its `IdentityFile`, and with
//! `IdentitiesOnly` only that key is offered; the spec's own `user` and `port` win, as a
//! command line's do; what cairn cannot follow is refused, naming the line.

use std::process::{Child, Command, Stdio};

use crate::support::app_cluster::AppCluster;
use crate::support::cairn;
use crate::support::ssh_fixture::{SshFixture, keygen};
use crate::support::sudo_users::{PASSWORDLESS, ensure_users};

/// The `Host app-*` block for the fixture's server, with `extra` lines.
fn app_block(fixture: &SshFixture, extra: &str) -> String {
    let server = &fixture.servers[0];
    format!(
        "Host app-*\n    HostName {}\n    Port {}\n    IdentityFile {}\n{extra}",
        server.address,
        server.port,
        fixture.identity().display()
    )
}

/// A check recording, on the host, who ran it for whom (sudo's `SUDO_USER`): checks run
/// on every apply.
fn record_login(cluster: &AppCluster) {
    cluster.sandbox.replace(
        "cluster.toml",
        "[hosts.host1]\n",
        "[hosts.host1]\nbecome = \"sudo\"\n",
    );
    cluster.sandbox.edit("modules/app/module.toml", |text| {
        format!(
            "{text}\n[[node]]\nkind = \"check\"\nname = \"who\"\nprobe = \"command\"\n\
             run = \"echo \\\"$(id -un) for $SUDO_USER\\\" > \\\"$CAIRN_ROOT/who\\\"\"\n"
        )
    });
}

/// The app cluster of one host, host1, reached by the alias `app-one` of the SSH
/// configuration `config`, compiled.
fn compiled_app_one(fixture: &SshFixture, config: &str) -> AppCluster {
    let cluster = AppCluster::through_ssh_config(fixture, &[("host1", "app-one")], config);
    cluster.compile();
    cluster
}

#[test]
fn an_alias_is_dialled_on_its_port_as_its_user_with_its_key_and_the_spec_wins_over_it() {
    ensure_users();
    let fixture = SshFixture::start(&["127.0.31.2"]);
    let config = app_block(&fixture, &format!("    User {PASSWORDLESS}\n"));
    let cluster = AppCluster::through_ssh_config(&fixture, &[("host1", "app-one")], &config);
    record_login(&cluster);
    cluster.compile();
    let lockfile = cluster.sandbox.read("cluster.lock");
    assert!(
        !lockfile.contains("user =") && !lockfile.contains("port ="),
        "the lockfile leaves them to the configuration: {lockfile}"
    );
    // No --identity: the key comes from the configuration alone.
    let (outcome, _) = cluster.apply_with(&["--persist", "0"]);
    outcome.success();
    let who = || std::fs::read_to_string(cluster.host_file("host1", "/who")).unwrap();
    assert_eq!(who(), format!("root for {PASSWORDLESS}\n"));

    // The spec's user wins over `User`, as `ssh -l` would.
    cluster.sandbox.replace(
        "cluster.toml",
        "[hosts.host1]\n",
        "[hosts.host1]\nuser = \"root\"\n",
    );
    cluster.compile();
    std::fs::remove_file(cluster.host_file("host1", "/who")).unwrap();
    cairn()
        .current_dir(cluster.sandbox.path())
        .args(["apply", "cluster.lock", "--persist", "0"])
        .args(&cluster.connection)
        .run()
        .success();
    assert_eq!(who(), "root for root\n");

    // And the spec's port over `Port`: nothing listens on 1.
    cluster.sandbox.replace(
        "cluster.toml",
        "[hosts.host1]\n",
        "[hosts.host1]\nport = 1\n",
    );
    cluster.compile();
    cairn()
        .current_dir(cluster.sandbox.path())
        .args(["plan", "cluster.lock", "--persist", "0"])
        .args(&cluster.connection)
        .run()
        .code(2)
        .stderr_has(
            "cannot read the state of host `host1`: cannot connect to ssh://root@127.0.31.2:1",
        );
}

/// An ssh-agent holding `count` keys the fixture's servers do not accept; ends when
/// dropped.
struct CrowdedAgent {
    process: Child,
    socket: std::path::PathBuf,
    _folder: tempfile::TempDir,
}

impl CrowdedAgent {
    fn start(count: usize) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let socket = folder.path().join("agent.sock");
        let process = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent runs (Debian's openssh-client)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !socket.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "ssh-agent never listened"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        for index in 0..count {
            let key = folder.path().join(format!("other_key_{index}"));
            keygen(&key);
            let added = Command::new("ssh-add")
                .arg(&key)
                .env("SSH_AUTH_SOCK", &socket)
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(added.success());
        }
        Self {
            process,
            socket,
            _folder: folder,
        }
    }
}

impl Drop for CrowdedAgent {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[test]
fn identities_only_offers_the_configured_key_rather_than_every_key_of_the_agent() {
    let fixture = SshFixture::start(&["127.0.31.3"]);
    // sshd gives up after 6 refused keys (MaxAuthTries): an agent with 6 others, offered
    // first, uses up every try before the configured key's turn.
    let agent = CrowdedAgent::start(6);
    let apply = |cluster: &AppCluster| {
        cairn()
            .current_dir(cluster.sandbox.path())
            .env("SSH_AUTH_SOCK", &agent.socket.display().to_string())
            .args(["apply", "cluster.lock", "--persist", "0"])
            .args(&cluster.connection)
            .run()
    };
    let root = "    User root\n";
    let crowded = compiled_app_one(&fixture, &app_block(&fixture, root));
    apply(&crowded)
        .code(1)
        .stderr_has("authentication as `root` failed");

    let only = compiled_app_one(
        &fixture,
        &app_block(&fixture, &format!("{root}    IdentitiesOnly yes\n")),
    );
    apply(&only).success();
    assert!(only.host_file("host1", "/etc/app/app.conf").exists());
}

#[test]
fn what_cairn_cannot_follow_is_refused_naming_its_line() {
    let fixture = SshFixture::start(&["127.0.31.4"]);
    let plan = |cluster: &AppCluster| {
        cairn()
            .current_dir(cluster.sandbox.path())
            .args(["plan", "cluster.lock", "--persist", "0"])
            .args(&cluster.connection)
            .run()
    };
    let matching = compiled_app_one(
        &fixture,
        &format!(
            "{}\nMatch host *.internal\n    User ops\n",
            app_block(&fixture, "")
        ),
    );
    plan(&matching)
        .code(2)
        .stderr_has("error: ssh_config:6: cairn does not follow `Match host *.internal`");

    let proxied = compiled_app_one(
        &fixture,
        &app_block(&fixture, "    ProxyCommand nc %h %p\n"),
    );
    plan(&proxied)
        .code(2)
        .stderr_has(
            "cannot read the state of host `host1`: ssh://app-one: ssh_config:5: cairn does not run `ProxyCommand nc %h %p`",
        );
}

#[test]
fn the_operators_own_configuration_is_read_only_where_a_host_is_reached_over_ssh() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    std::fs::write(
        home.path().join(".ssh/config"),
        "Host *\n    ServerAliveInterval 30\nMatch exec \"test -e /etc/hosts\"\n    User ops\n",
    )
    .unwrap();
    let home_path = home.path().display().to_string();
    let plan = |cluster: &AppCluster| {
        cairn()
            .current_dir(cluster.sandbox.path())
            .env("HOME", &home_path)
            .args(["plan", "cluster.lock", "--persist", "0"])
            .args(&cluster.connection)
            .run()
    };
    let sandboxes = AppCluster::local(&["host1"]);
    sandboxes.compile();
    plan(&sandboxes).success();

    let fixture = SshFixture::start(&["127.0.31.5"]);
    let over_ssh = AppCluster::over_ssh(&fixture, &[]);
    over_ssh.compile();
    plan(&over_ssh).code(2).stderr_has(&format!(
        "error: {home_path}/.ssh/config:3: cairn does not follow `Match exec test -e /etc/hosts`"
    ));
}
