//! The connection keeper: SSH connections kept between applies (`--persist`), so a second
//! apply pays commands, not handshakes; and everything an apply promises without a keeper
//! still holds with one: locks released when an apply ends or is killed, a dead kept
//! connection replaced, nothing left running once the keeper's time is up.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::app_cluster::{AppCluster, ran_besides_checks};
use crate::ssh_fixture::SshFixture;
use crate::support::{Outcome, cairn};

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

fn stop_keepers(directory: &Path) {
    for pid in keepers(directory) {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status();
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

#[test]
fn a_second_apply_uses_the_connections_of_the_first() {
    let fixture = SshFixture::start(&["127.0.20.1", "127.0.20.2"]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    cluster.compile();
    let keeper = keeper_directory();
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
    assert_eq!(
        after, kept,
        "no new connection: the same sshd children serve them"
    );
    assert_eq!(
        keepers(keeper.0.path()).len(),
        1,
        "one keeper for both applies"
    );
}

#[test]
fn without_persist_every_connection_closes_with_the_apply() {
    let fixture = SshFixture::start(&["127.0.20.3"]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    cluster.compile();
    let keeper = keeper_directory();
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
    let fixture = SshFixture::start(&["127.0.20.4"]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    cluster.compile();
    let keeper = keeper_directory();
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
    let mut fixture = SshFixture::start(&["127.0.20.5"]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    cluster.compile();
    let keeper = keeper_directory();
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
        [
            "file:/etc/app/app.conf",
            "command:marker",
            "health:marker-present"
        ]
    );
}

#[test]
fn a_keeper_killed_between_applies_is_replaced() {
    let fixture = SshFixture::start(&["127.0.20.6"]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    cluster.compile();
    let keeper = keeper_directory();
    apply(&cluster, keeper.0.path(), &[]).0.success();
    stop_keepers(keeper.0.path());

    apply(&cluster, keeper.0.path(), &[]).0.success();
    assert_eq!(keepers(keeper.0.path()).len(), 1);
}

#[test]
fn the_host_lock_held_through_the_keeper_is_released_when_the_apply_ends() {
    let fixture = SshFixture::start(&["127.0.20.7"]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    cluster.compile();
    let keeper = keeper_directory();
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
    let fixture = SshFixture::start(&["127.0.20.8"]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    cluster.compile();
    let keeper = keeper_directory();
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
