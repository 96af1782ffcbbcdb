//! The README's main command, exactly as the README writes it, on a copy of the
//! quick-start example: it compiles the spec, builds its images from the packages the
//! lockfile pins, and applies it to the example's sandbox host, its containers running in
//! this machine's Docker engine and healthy.

use std::process::Command;

use crate::support::{Sandbox, cairn, repository};

/// The quick-start's containers, as the sandbox host `node1` names them in Docker.
const CONTAINERS: [&str; 3] = ["node1-console", "node1-haproxy", "node1-zookeeper"];

/// Removes the quick-start's containers, and the images apply loaded for them, however
/// the test ends.
struct Containers;

impl Drop for Containers {
    fn drop(&mut self) {
        for name in CONTAINERS {
            let image = Command::new("docker")
                .args(["inspect", "--format", "{{.Config.Image}}", name])
                .output()
                .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
                .unwrap_or_default();
            let _ = Command::new("docker")
                .args(["rm", "--force", name])
                .output();
            if image.starts_with("cairn/") {
                let _ = Command::new("docker")
                    .args(["image", "rm", "--force", &image])
                    .output();
            }
        }
    }
}

/// The arguments after `cargo run --release --` of the README's apply command.
fn readme_apply_arguments() -> Vec<String> {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("the README");
    let line = readme
        .lines()
        .find(|line| line.starts_with("cargo run --release -- apply examples/quickstart/"))
        .expect("the README's quick start applies the quick-start example");
    line.trim_start_matches("cargo run --release -- ")
        .split_whitespace()
        .map(|word| {
            word.strip_prefix("examples/quickstart/")
                .unwrap_or(word)
                .to_string()
        })
        .collect()
}

/// Runs the README's apply command with `--json`, which succeeds; the nodes it ran on
/// node1.
fn node1_ran(sandbox: &Sandbox, arguments: &[String]) -> Vec<String> {
    let report = cairn()
        .current_dir(sandbox.path())
        .args(arguments)
        .arg("--json")
        .run()
        .success()
        .json();
    report["hosts"]["node1"]["ran"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_readme_main_command_applies_the_quick_start_to_its_sandbox_and_again_changes_nothing() {
    let sandbox = Sandbox::with_example("quickstart");
    let _ = std::fs::remove_dir_all(sandbox.path().join("sandbox"));
    let _containers = Containers;
    let arguments = readme_apply_arguments();

    let ran = node1_ran(&sandbox, &arguments);
    let ran: Vec<&str> = ran.iter().map(String::as_str).collect();
    assert!(
        ran.contains(&"node1:file:/etc/cairn/haproxy/haproxy.cfg"),
        "{ran:?}"
    );
    let config = sandbox.read("sandbox/node1/etc/cairn/haproxy/haproxy.cfg");
    assert!(config.contains("resolvers"), "{config}");
    // The sandbox's state lives in the sandbox too.
    assert!(
        sandbox
            .path()
            .join("sandbox/node1/var/lib/cairn/state")
            .is_dir()
    );

    // Every container runs the image cairn built for it; the apply succeeded, so each
    // one's health checks passed (HAProxy's /healthz, ZooKeeper's imok and its standalone
    // mode, the console's /health).
    for name in CONTAINERS {
        let inspected = Command::new("docker")
            .args([
                "inspect",
                "--format",
                "{{.State.Running}} {{.Config.Image}}",
                name,
            ])
            .output()
            .expect("docker runs");
        let state = String::from_utf8_lossy(&inspected.stdout)
            .trim()
            .to_string();
        assert!(state.starts_with("true cairn/"), "{name}: {state}");
    }
    for health in [
        "node1:health:haproxy-http",
        "node1:health:zookeeper-quorum",
        "node1:health:console-http",
    ] {
        assert!(ran.contains(&health), "{health} ran: {ran:?}");
    }

    let ran_besides_checks: Vec<String> = node1_ran(&sandbox, &arguments)
        .into_iter()
        .filter(|name| !name.starts_with("node1:check:"))
        .collect();
    assert!(ran_besides_checks.is_empty(), "{ran_besides_checks:?}");
}
