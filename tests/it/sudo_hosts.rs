//! `become = "sudo"`: hosts cairn logs in to as an unprivileged user, every command and
//! file write of the apply run through sudo, against a real sshd and real users with and
//! without sudo rights (`sudo_users.rs`).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::app_cluster::{AppCluster, names, ran_besides_checks};
use crate::support::ssh_fixture::SshFixture;
use crate::support::sudo_users::{
    PASSWORD, PASSWORDLESS, WITH_PASSWORD, WITHOUT_SUDO, ensure_users,
};

/// The machine's test users, an sshd on `address`, and the [`sudo_cluster`] of `user`
/// on it, compiled.
fn compiled_sudo_cluster(address: &str, user: &str) -> (SshFixture, AppCluster) {
    ensure_users();
    let fixture = SshFixture::start(&[address]);
    let cluster = sudo_cluster(&fixture, user, "");
    cluster.compile();
    (fixture, cluster)
}

/// The app cluster on one sshd, its host logging in as `user` with `become = "sudo"` and
/// the extra keys of `become_lines`; and a command node recording who logged in.
fn sudo_cluster(fixture: &SshFixture, user: &str, become_lines: &str) -> AppCluster {
    let cluster = AppCluster::over_ssh(fixture, &[]);
    cluster.sandbox.replace(
        "cluster.toml",
        "[hosts.host1]\n",
        &format!("[hosts.host1]\nuser = \"{user}\"\nbecome = \"sudo\"\n{become_lines}"),
    );
    cluster.sandbox.edit("modules/app/module.toml", |text| {
        format!(
            "{text}\n[[node]]\nkind = \"command\"\nname = \"who\"\n\
             run = \"echo \\\"$(id -un) for $SUDO_USER\\\" > \\\"$CAIRN_ROOT/who\\\"\"\n"
        )
    });
    cluster
}

/// Every process's arguments, read again and again until `done`: those that held
/// `secret` at any moment, and how many times sudo was seen asking its askpass (which
/// shows the sampling saw the processes it is there to watch).
fn argument_lists_holding(secret: &str, done: &AtomicBool) -> (BTreeSet<String>, usize) {
    let mut found = BTreeSet::new();
    let mut sudo_seen = 0;
    while !done.load(Ordering::SeqCst) {
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(arguments) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let arguments = String::from_utf8_lossy(&arguments).replace('\0', " ");
            if arguments.contains(secret) {
                found.insert(arguments.clone());
            }
            if arguments.starts_with("sudo -A -p CAIRN_BECOME_PASSWORD") {
                sudo_seen += 1;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    (found, sudo_seen)
}

#[test]
fn a_user_with_passwordless_sudo_applies_every_node_as_root() {
    let (_fixture, cluster) = compiled_sudo_cluster("127.0.30.2", PASSWORDLESS);
    let lockfile = cluster.sandbox.read("cluster.lock");
    assert!(
        lockfile.contains(&format!("user = \"{PASSWORDLESS}\"\n"))
            && lockfile.contains("\nbecome = \"sudo\"\n"),
        "{lockfile}"
    );
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(
        std::fs::read_to_string(cluster.host_file("host1", "/who")).unwrap(),
        format!("root for {PASSWORDLESS}\n")
    );
    // Files, and cairn's state and lock, are root's.
    let config = cluster.host_file("host1", "/etc/app/app.conf");
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&config).unwrap());
    assert_eq!(owner, 0);
    assert!(ran_besides_checks(&report, "host1").contains(&"command:who".to_string()));
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(ran_besides_checks(&report, "host1"), Vec::<String>::new());
}

#[test]
fn a_sudo_password_goes_to_sudo_alone_and_never_into_an_argument_list() {
    ensure_users();
    let fixture = SshFixture::start(&["127.0.30.3"]);
    let cluster = sudo_cluster(
        &fixture,
        WITH_PASSWORD,
        "become_password = { file = \"secrets/sudo-password\" }\n",
    );
    cluster
        .sandbox
        .write("secrets/sudo-password", &format!("{PASSWORD}\n"));
    cluster.compile();
    let lockfile = cluster.sandbox.read("cluster.lock");
    assert!(
        lockfile.contains("become_password = \"hosts.host1.become_password\"")
            && lockfile.contains("[secrets.\"hosts.host1.become_password\"]\nfile = \"secrets/sudo-password\"\nfingerprint = "),
        "{lockfile}"
    );

    let done = AtomicBool::new(false);
    let (outcome, report, seen) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| argument_lists_holding("horse $7", &done));
        let (outcome, report) = cluster.apply_with(&["--persist", "0"]);
        done.store(true, Ordering::SeqCst);
        (outcome, report, watcher.join().unwrap())
    });
    let (holding, sudo_seen) = seen;
    assert!(
        holding.is_empty(),
        "the password was in arguments: {holding:?}"
    );
    assert!(sudo_seen > 0, "the sampling never saw sudo run");
    let outcome = outcome.success();
    assert_eq!(
        std::fs::read_to_string(cluster.host_file("host1", "/who")).unwrap(),
        format!("root for {WITH_PASSWORD}\n")
    );
    assert_eq!(names(&report, "host1", "failed"), Vec::<String>::new());
    for (what, text) in [
        ("the lockfile", lockfile.as_str()),
        ("stdout", outcome.stdout.as_str()),
        ("stderr", outcome.stderr.as_str()),
    ] {
        assert!(!text.contains("horse $7"), "the password is in {what}");
    }
    // File contents on the same stdin reach their files whole after the password.
    assert_eq!(
        std::fs::read_to_string(cluster.host_file("host1", "/etc/app/app.conf")).unwrap(),
        "greeting = hello from host1\ntoken = the-token-value\n"
    );

    // A password changed since compile is not the one the lockfile was compiled with:
    // apply refuses it before sudo sees it, naming the secret.
    cluster
        .sandbox
        .write("secrets/sudo-password", "not the password\n");
    let (outcome, _) = cluster.apply();
    outcome
        .code(1)
        .stderr_has("secret `hosts.host1.become_password`")
        .stderr_has("compile the spec again")
        .stderr_lacks("not the password");

    // Compiled, a wrong password: sudo refuses it, and the error says which secret to
    // correct, not what it holds.
    cluster.compile();
    let (outcome, _) = cluster.apply();
    outcome
        .code(1)
        .stderr_has("host `host1`")
        .stderr_has("incorrect password")
        .stderr_has("the `become_password` of [hosts.host1]")
        .stderr_lacks("not the password");
}

#[test]
fn a_user_without_sudo_rights_fails_naming_the_host_and_the_fix() {
    let (fixture, cluster) = compiled_sudo_cluster("127.0.30.4", WITHOUT_SUDO);
    let (outcome, report) = cluster.apply();
    outcome
        .code(1)
        .stderr_has(&format!(
            "host `host1` (ssh://{WITHOUT_SUDO}@127.0.30.4:{}): sudo refused to run cairn's commands as root for `{WITHOUT_SUDO}`: sudo: a password is required",
            fixture.servers[0].port
        ))
        .stderr_has(&format!("hint: give `{WITHOUT_SUDO}` passwordless sudo"));
    assert_eq!(report["hosts"]["host1"]["succeeded"], false);
    assert!(
        !cluster.host_file("host1", "/var/lib/cairn").exists(),
        "nothing ran on the host"
    );
}
