//! Diff benchmark: compiles a generated 10,000-host cluster (the compile benchmark's), then
//! two changed releases of it, and times `cairn diff` between the first and each (best and
//! median of `CAIRN_BENCH_RUNS`, default 3). Run with `cargo bench --bench diff`; the
//! figures and the machine they came from are kept in bench/README.md.
//!
//! The pairs: the same lockfile twice (reading and verifying two lockfiles, nothing to
//! report); one template changed (the console's config, one host); one setting read on every
//! host changed (the NTP servers: chrony.conf on every host, and every chrony restart).

#[path = "common.rs"]
#[allow(dead_code)] // each benchmark uses some of what they share
mod common;
#[path = "generated_cluster.rs"]
mod generated_cluster;

use common::env_number;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = env_number("CAIRN_BENCH_RUNS", 3);
    let hosts: usize = env_number("CAIRN_BENCH_HOSTS", 10_000);
    let binary = env!("CARGO_BIN_EXE_cairn");
    let workspace = tempfile::tempdir().expect("a temporary folder");
    let folder = workspace.path();
    generated_cluster::write_cluster(folder, hosts);

    compile(binary, folder, "old.lock");
    let template = folder.join("modules/console/console.conf.j2");
    let original_template = std::fs::read_to_string(&template).expect("a template");
    std::fs::write(&template, format!("{original_template}# release 2\n")).expect("an edit");
    compile(binary, folder, "template.lock");
    std::fs::write(&template, original_template).expect("the template restored");
    let spec = folder.join("cluster.toml");
    let original_spec = std::fs::read_to_string(&spec).expect("a spec");
    let edited = original_spec.replace(
        "servers = [\"10.0.0.1\"]",
        "servers = [\"10.0.0.1\", \"10.0.0.2\"]",
    );
    assert_ne!(edited, original_spec, "the NTP servers are in the spec");
    std::fs::write(&spec, edited).expect("an edit");
    compile(binary, folder, "setting.lock");

    // In process: what reading costs, and what the comparison itself costs.
    let old = cairn_lockfiles::Lockfile::read(&folder.join("old.lock")).expect("old.lock");
    for new_name in ["template.lock", "setting.lock"] {
        let start = Instant::now();
        let new = cairn_lockfiles::Lockfile::read(&folder.join(new_name)).expect("a lockfile");
        let read = start.elapsed();
        let mut timings: Vec<Duration> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                let diff = cairn_lockfiles::LockfileDiff::between(&old, &new);
                let elapsed = start.elapsed();
                assert!(!diff.is_empty());
                elapsed
            })
            .collect();
        timings.sort();
        println!(
            "in process, old.lock against {new_name}: reading one lockfile {}, LockfileDiff::between best {}",
            seconds(read),
            seconds(timings[0])
        );
    }

    println!("cairn diff benchmark, {hosts} hosts ({runs} runs per pair; best and median)");
    println!(
        "{:<34}  {:>8}  {:>10}  {:>10}  {:>10}",
        "pair", "changed", "best", "median", "report"
    );
    for (label, new, expected_code) in [
        ("the same lockfile twice", "old.lock", 0),
        ("one template (one host)", "template.lock", 1),
        ("one setting read on every host", "setting.lock", 1),
    ] {
        let mut timings = Vec::with_capacity(runs);
        let mut report = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            let output = Command::new(binary)
                .current_dir(folder)
                .args(["diff", "old.lock", new])
                .stderr(Stdio::inherit())
                .output()
                .expect("cairn runs");
            timings.push(start.elapsed());
            assert_eq!(
                output.status.code(),
                Some(expected_code),
                "cairn diff old.lock {new}"
            );
            report = output.stdout;
        }
        timings.sort();
        let stat = Command::new(binary)
            .current_dir(folder)
            .args(["diff", "old.lock", new, "--stat"])
            .output()
            .expect("cairn runs");
        let changed = String::from_utf8_lossy(&stat.stdout)
            .lines()
            .find(|line| line.starts_with("total"))
            .and_then(|line| line.split_whitespace().last().map(str::to_string))
            .unwrap_or_else(|| "0".to_string());
        println!(
            "{label:<34}  {changed:>8}  {:>10}  {:>10}  {:>6.1} KiB",
            seconds(timings[0]),
            seconds(timings[timings.len() / 2]),
            report.len() as f64 / 1024.0
        );
    }
}

fn compile(binary: &str, folder: &Path, output: &str) {
    let status = Command::new(binary)
        .current_dir(folder)
        .args(["compile", "cluster.toml", "-o", output])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("cairn starts");
    assert!(status.success(), "cairn compile -o {output} failed");
}

fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}
