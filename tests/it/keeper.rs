//! The connection keeper: SSH connections kept between applies (`--persist`), so a second
//! apply pays commands, not handshakes; and everything an apply promises without a keeper
//! still holds with one: locks released when an apply ends or is killed, a dead kept
//! connection replaced, nothing left running once the keeper's time is up.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::app_cluster::{AppCluster, ran_besides_checks};
use crate::support::app_cluster_checks::APP_CONF_AND_DEPENDANTS;
use crate::support::ssh_fixture::SshFixture;
use crate::support::{Outcome, cairn};

/// Sessions one host's pool opens at most (`SshOptions`' default), the host lock's apart.
const SESSIONS_PER_HOST: usize = 2;

/// `cairn apply` of the cluster, with the keeper's socket in `keeper_directory`.
fn apply(
    cluster: &AppCluster,
    keeper_directory: &Path,
    extra: &[&str],
) -> (Outcome, serde_json::Value) {
    let outcome = cairn()
        .current_dir(cluster.sandbox.path())
        .env("CAIRN_KEEPER_DIR", &keeper_directory.display().to_string())
        .args(["apply", "cluster.lock", "--json"])
        .args(extra)
        .args(&cluster.connection)
        .run();
    let report = serde_json::from_str(&outcome.stdout).unwrap_or(serde_json::Value::Null);
    (outcome, report)
}

/// The keeper processes serving a socket in `directory`.
fn keepers(directory: &Path) -> Vec<String> {
    let output = std::process::Command::new("pgrep")
        .args([
            "-f",
            &format!("cairn keeper --socket {}", directory.display()),
        ])
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Kills the keepers of `directory` and waits (5 s at most) until they are gone: a keeper
/// being killed may still take a connection, which then resets.
fn stop_keepers(directory: &Path) {
    for pid in keepers(directory) {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !keepers(directory).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Stops the test's keeper however the test ends.
struct KeeperDirectory(tempfile::TempDir);

impl Drop for KeeperDirectory {
    fn drop(&mut self) {
        stop_keepers(self.0.path());
    }
}

fn keeper_directory() -> KeeperDirectory {
    KeeperDirectory(tempfile::tempdir().expect("a temporary folder"))
}

/// sshd servers on `addresses`, the app cluster over SSH to them compiled, and a keeper
/// directory of the test's own.
fn compiled_with_a_keeper(addresses: &[&str]) -> (SshFixture, AppCluster, KeeperDirectory) {
    let fixture = SshFixture::start(addresses);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    cluster.compile();
    (fixture, cluster, keeper_directory())
}

#[test]
fn a_second_apply_uses_the_connections_of_the_first() {
    let (fixture, cluster, keeper) = compiled_with_a_keeper(&["127.0.20.1", "127.0.20.2"]);
    apply(&cluster, keeper.0.path(), &[]).0.success();
    let kept: Vec<Vec<u32>> = fixture
        .servers
        .iter()
        .map(|server| server.connections())
        .collect();
    assert!(
        kept.iter().all(|connections| !connections.is_empty()),
        "the keeper holds them"
    );

    let (outcome, report) = apply(&cluster, keeper.0.path(), &[]);
    outcome.success();
    assert!(ran_besides_checks(&report, "host1").is_empty());
    let after: Vec<Vec<u32>> = fixture
        .servers
        .iter()
        .map(|server| server.connections())
        .collect();
    for (before, after) in kept.iter().zip(&after) {
        // Kept connections serve the second apply (without a keeper, every one would be
        // new). The pool may let one go whose release took too long on a loaded machine
        // (it closes such a session rather than hand it out again), so not every one.
        assert!(
            after.iter().any(|connection| before.contains(connection)),
            "connections of the first apply serve the second: {kept:?}, then {after:?}"
        );
        // The pool opens a session only where more nodes run at once than it has: the
        // second apply may add one where the first never needed two, no more.
        assert!(
            after.len() <= SESSIONS_PER_HOST + 1,
            "at most the pool's sessions and the lock's: {kept:?}, then {after:?}"
        );
    }
    assert_eq!(
        keepers(keeper.0.path()).len(),
        1,
        "one keeper for both applies"
    );
}

#[test]
fn without_persist_every_connection_closes_with_the_apply() {
    let (fixture, cluster, keeper) = compiled_with_a_keeper(&["127.0.20.3"]);
    apply(&cluster, keeper.0.path(), &["--persist", "0"])
        .0
        .success();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !fixture.servers[0].connections().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(fixture.servers[0].connections().is_empty());
    assert!(keepers(keeper.0.path()).is_empty(), "no keeper was started");
}

#[test]
fn the_keeper_ends_when_its_time_is_up_and_closes_its_connections() {
    let (fixture, cluster, keeper) = compiled_with_a_keeper(&["127.0.20.4"]);
    apply(&cluster, keeper.0.path(), &["--persist", "1"])
        .0
        .success();
    let deadline = Instant::now() + Duration::from_secs(10);
    while (!keepers(keeper.0.path()).is_empty() || !fixture.servers[0].connections().is_empty())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(keepers(keeper.0.path()).is_empty(), "the keeper ended");
    assert!(
        fixture.servers[0].connections().is_empty(),
        "its connections closed"
    );
    let sockets: Vec<_> = std::fs::read_dir(keeper.0.path())
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            entry
                .path()
                .extension()
                .is_some_and(|extension| extension == "sock")
        })
        .collect();
    assert!(sockets.is_empty(), "its socket was removed");
}

#[test]
fn a_host_restarted_under_a_kept_connection_is_reached_again() {
    let (mut fixture, cluster, keeper) = compiled_with_a_keeper(&["127.0.20.5"]);
    apply(&cluster, keeper.0.path(), &[]).0.success();

    // The kept connections die with the server: the next apply must not fail on them.
    fixture.servers[0].restart();
    cluster.sandbox.edit("modules/app/app.conf.j2", |text| {
        format!("{text}# edited\n")
    });
    cluster.compile();
    let (outcome, report) = apply(&cluster, keeper.0.path(), &[]);
    outcome.success();
    assert_eq!(
        ran_besides_checks(&report, "host1"),
        APP_CONF_AND_DEPENDANTS
    );
}

#[test]
fn a_keeper_killed_between_applies_is_replaced() {
    let (_fixture, cluster, keeper) = compiled_with_a_keeper(&["127.0.20.6"]);
    apply(&cluster, keeper.0.path(), &[]).0.success();
    stop_keepers(keeper.0.path());

    apply(&cluster, keeper.0.path(), &[]).0.success();
    assert_eq!(keepers(keeper.0.path()).len(), 1);
}

#[test]
fn the_host_lock_held_through_the_keeper_is_released_when_the_apply_ends() {
    let (_fixture, cluster, keeper) = compiled_with_a_keeper(&["127.0.20.7"]);
    apply(&cluster, keeper.0.path(), &[]).0.success();
    // The keeper still holds the connection; the lock must not be held with it.
    let lock = cluster.root("host1").join("var/lib/cairn/lock");
    let status = std::process::Command::new("flock")
        .args(["--nonblock", "--exclusive"])
        .arg(&lock)
        .arg("true")
        .status()
        .expect("flock runs");
    assert!(
        status.success(),
        "the host's lock is free once the apply ended"
    );
}

#[test]
fn a_keeper_socket_in_a_folder_others_may_enter_is_not_used() {
    let (_fixture, cluster, keeper) = compiled_with_a_keeper(&["127.0.20.8"]);
    // A folder owned by someone else (here: nobody) could hold a socket of theirs.
    let shared = keeper.0.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let status = std::process::Command::new("chown")
        .args(["nobody"])
        .arg(&shared)
        .status()
        .expect("chown runs");
    assert!(status.success());
    apply(&cluster, &shared, &[]).0.success();
    assert!(keepers(&shared).is_empty(), "the apply connected directly");
}

/// An sshd on `address`, the app cluster over SSH to it with `files` written and `node`
/// added to its module, compiled, and a keeper directory of the test's own.
fn with_a_node_and_a_keeper(
    address: &str,
    files: &[(&str, &str)],
    node: &str,
) -> (SshFixture, AppCluster, KeeperDirectory) {
    let fixture = SshFixture::start(&[address]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    for (path, text) in files {
        cluster.sandbox.write(path, text);
    }
    with_nodes(&cluster, node);
    (fixture, cluster, keeper_directory())
}

/// The next apply succeeds, after which `then` checks what it did; the one after it runs
/// nothing on host1 but the checks.
fn assert_the_next_applies_converge(
    cluster: &AppCluster,
    keeper_directory: &Path,
    then: impl FnOnce(),
) {
    let (outcome, report) = apply(cluster, keeper_directory, &[]);
    outcome.success();
    then();
    let (outcome, report_after) = apply(cluster, keeper_directory, &[]);
    outcome.success();
    assert!(
        ran_besides_checks(&report_after, "host1").is_empty(),
        "converged: {report} then {report_after}"
    );
}

/// Adds `nodes` (module declarations) to the test module and compiles.
fn with_nodes(cluster: &AppCluster, nodes: &str) {
    cluster
        .sandbox
        .edit("modules/app/module.toml", |text| format!("{text}\n{nodes}"));
    cluster.compile();
}

/// Starts an apply through the keeper, waits until `ready` says the moment has come, and
/// kills it (SIGKILL: no destructor runs; only the kernel closes its connections).
fn kill_apply_when(cluster: &AppCluster, keeper_directory: &Path, ready: impl Fn() -> bool) {
    let mut child = cairn()
        .current_dir(cluster.sandbox.path())
        .env("CAIRN_KEEPER_DIR", &keeper_directory.display().to_string())
        .args(["apply", "cluster.lock"])
        .args(&cluster.connection)
        .spawn_silenced();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "the apply never reached the moment to kill it"
        );
        assert!(
            child.try_wait().expect("the apply is there").is_none(),
            "the apply ended before the moment to kill it"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("the killed apply is reaped");
}

#[test]
fn an_apply_killed_while_the_keeper_runs_its_command_leaves_the_lock_to_the_next_one() {
    let (_fixture, cluster, keeper) = with_a_node_and_a_keeper(
        "127.0.20.9",
        &[],
        r#"[[node]]
kind = "command"
name = "slow"
run = "mkdir -p \"$CAIRN_ROOT/var/app\" && touch \"$CAIRN_ROOT/var/app/slow-started\" && sleep 6 && touch \"$CAIRN_ROOT/var/app/slow-done\""
deps = ["file:/etc/app/app.conf"]
"#,
    );
    let started = cluster.host_file("host1", "/var/app/slow-started");
    kill_apply_when(&cluster, keeper.0.path(), || started.exists());

    // The keeper still runs the dead apply's command; the host's lock must be free at
    // once, and the new apply waits for that command before running its own actions.
    assert_the_next_applies_converge(&cluster, keeper.0.path(), || {
        assert!(
            cluster.host_file("host1", "/var/app/slow-done").exists(),
            "the killed apply's command ended before the new apply's actions began"
        );
    });
}

#[test]
fn an_apply_killed_while_the_keeper_sends_a_large_file_leaves_the_lock_to_the_next_one() {
    let (_fixture, cluster, keeper) = with_a_node_and_a_keeper(
        "127.0.20.10",
        &[(
            "modules/app/large.j2",
            "{% for block in range(600) %}{% for line in range(1000) %}line {{ block }}.{{ line }} of {{ host.name }}: the quick brown fox\n{% endfor %}{% endfor %}",
        )],
        r#"[[node]]
kind = "file"
path = "/srv/large/data"
template = "large.j2"
deps = ["file:/etc/app/app.conf"]
"#,
    );
    let folder = cluster.host_file("host1", "/srv/large");
    // A temporary file beside the target: the content is on its way.
    let sending = || {
        std::fs::read_dir(&folder).is_ok_and(|mut entries| {
            entries.any(|entry| {
                entry.is_ok_and(|entry| entry.file_name().to_string_lossy().starts_with(".cairn."))
            })
        })
    };
    kill_apply_when(&cluster, keeper.0.path(), sending);

    assert_the_next_applies_converge(&cluster, keeper.0.path(), || {});
}
