//! A host whose network vanishes while one of its commands runs: the apply must fail
//! soon after, naming what it was doing, instead of waiting for an answer that never comes.

use std::time::{Duration, Instant};

use crate::support::app_cluster::AppCluster;

/// Adds to the app module a command, `slow`, that marks its start (`/started` under the
/// host's root) and then sleeps `seconds`.
pub fn add_slow_command(cluster: &AppCluster, seconds: u32) {
    cluster.sandbox.edit("modules/app/module.toml", |text| {
        format!(
            "{text}\n[[node]]\nkind = \"command\"\nname = \"slow\"\n\
             run = \"touch \\\"$CAIRN_ROOT/started\\\"; sleep {seconds}\"\n"
        )
    });
}

/// SSH configuration lines that make every host's connection ask whether the host is alive
/// each second and give it up after three unanswered keepalives: a cut is noticed in
/// seconds, where cairn's defaults (every 10 s, 3 unanswered) take 30 to 40.
pub const ALIVE_EVERY_SECOND: &str = "ServerAliveInterval 1\nServerAliveCountMax 3\n";

/// Runs `cairn apply cluster.lock ARGUMENTS` under `timeout LIMIT`, calls `cut` once
/// host1's slow command has started, and asserts that the apply then fails (exit code 1,
/// not the timeout's 124) within `within` of the cut. Returns its stderr.
pub fn apply_failing_after_a_cut(
    cluster: &AppCluster,
    arguments: &[&str],
    limit_seconds: u32,
    within: Duration,
    cut: impl FnOnce(),
) -> String {
    let apply = std::process::Command::new("timeout")
        .arg(limit_seconds.to_string())
        .arg(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(cluster.sandbox.path())
        .args(["apply", "cluster.lock"])
        .args(arguments)
        .args(&cluster.connection)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started_at = Instant::now();
    let marker = cluster.host_file("host1", "/started");
    while !marker.exists() {
        assert!(
            started_at.elapsed() < Duration::from_secs(60),
            "the slow command never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let cut_at = Instant::now();
    cut();
    let output = apply.wait_with_output().unwrap();
    let waited = cut_at.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "the apply fails (124 would be the timeout): {stderr}"
    );
    assert!(
        waited < within,
        "it failed {waited:?} after the cut, not within {within:?}: {stderr}"
    );
    stderr
}
