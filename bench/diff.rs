//! Diff benchmark: compiles a 10,000-host cluster of each shape (`CAIRN_BENCH_SHAPES`,
//! default `dcos-ha,generated`: the dcos-ha example's hosts cloned, then the compile
//! benchmark's lighter generated cluster; see `cluster_shape.rs`), then releases of it that
//! each change one thing, and times `cairn diff` between the first and each (best and
//! median of `CAIRN_BENCH_RUNS`, default 3, the pairs taking turns; `CAIRN_BENCH_HOSTS`
//! another size). Run with
//! `cargo bench --bench diff`; the figures and the machine they came from are kept in
//! bench/README.md. `CAIRN_BENCH_KEEP=DIR` generates into DIR and keeps the lockfiles.
//!
//! The pairs: the same lockfile twice (reading and verifying two lockfiles, nothing to
//! report); one template changed (the console's config: one host of the generated cluster,
//! agent1 and a third of the clones of dcos-ha); on dcos-ha, one setting read on the two
//! load balancers (HAProxy's connection limit: its template is built into cairn, so a
//! setting stands for the small change); one setting read on every host (the NTP servers:
//! chrony.conf on every host, and every chrony restart).

#[path = "cluster_shape.rs"]
mod cluster_shape;
#[path = "common.rs"]
#[allow(dead_code)] // each benchmark uses some of what they share
mod common;
#[path = "dcos_ha_cluster.rs"]
mod dcos_ha_cluster;
#[path = "generated_cluster.rs"]
mod generated_cluster;

use cluster_shape::ClusterShape;
use common::{env_number, load_average, workspace_folder};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A release compiled against the first: one edit of one file of the cluster's folder.
struct Release {
    /// What the edit changes, as the table says it.
    label: &'static str,
    /// The lockfile it is compiled to, in the spec's folder.
    lockfile: &'static str,
    /// The file edited, relative to the cluster's folder.
    file: &'static str,
    /// The text the edit replaces (its first occurrence), which the file must hold.
    from: &'static str,
    /// What replaces it.
    to: &'static str,
}

/// The console's config gains a comment line: its template's text changes, no setting.
fn console_template_release(label: &'static str) -> Release {
    Release {
        label,
        lockfile: "template.lock",
        file: "modules/console/console.conf.j2",
        from: "# Managed by cairn.\n",
        to: "# Managed by cairn.\n# release 2\n",
    }
}

/// The releases diffed against the first compile of `shape`.
fn releases(shape: ClusterShape) -> Vec<Release> {
    match shape {
        ClusterShape::DcosHa => vec![
            console_template_release("one template (console: 1/3 of hosts)"),
            Release {
                label: "one setting (2 load balancers)",
                lockfile: "few-hosts.lock",
                file: "dcos-ha/cluster.toml",
                from: "services = [\"marathon:8080\", \"console:8000\"]\n",
                to: "services = [\"marathon:8080\", \"console:8000\"]\nmax_connections = 30000\n",
            },
            Release {
                label: "one setting read on every host",
                lockfile: "setting.lock",
                file: "dcos-ha/cluster.toml",
                from: "servers = [\"10.10.0.5\"]",
                to: "servers = [\"10.10.0.5\", \"10.10.0.6\"]",
            },
        ],
        ClusterShape::Generated => vec![
            console_template_release("one template (one host)"),
            Release {
                label: "one setting read on every host",
                lockfile: "setting.lock",
                file: "cluster.toml",
                from: "servers = [\"10.0.0.1\"]",
                to: "servers = [\"10.0.0.1\", \"10.0.0.2\"]",
            },
        ],
    }
}

fn main() {
    let runs: usize = env_number("CAIRN_BENCH_RUNS", 3);
    let hosts: usize = env_number("CAIRN_BENCH_HOSTS", 10_000);
    let binary = env!("CARGO_BIN_EXE_cairn");
    let temporary = tempfile::tempdir().expect("a temporary folder");
    let workspace = workspace_folder(temporary.path());
    println!("load average at the start: {}", load_average());
    for shape in ClusterShape::from_environment() {
        let folder = workspace.join(format!("diff-{}-{hosts}", shape.name()));
        shape.write_cluster(&folder, hosts);
        let releases = releases(shape);
        compile_release(binary, shape, &folder, "old.lock");
        for release in &releases {
            let original = edit(&folder, release);
            compile_release(binary, shape, &folder, release.lockfile);
            std::fs::write(folder.join(release.file), original).expect("the file restored");
        }
        let spec_folder = shape.spec_folder(&folder);
        time_in_process(&spec_folder, &releases, runs);
        println!(
            "cairn diff benchmark, {} shape, {hosts} hosts ({runs} runs per pair; best and median)",
            shape.name()
        );
        println!(
            "{:<38}  {:>8}  {:>10}  {:>10}  {:>10}",
            "pair", "changed", "best", "median", "report"
        );
        let mut pairs = vec![("the same lockfile twice", "old.lock")];
        pairs.extend(
            releases
                .iter()
                .map(|release| (release.label, release.lockfile)),
        );
        time_cairn_diffs(binary, &spec_folder, &pairs, runs);
    }
    println!("load average at the end: {}", load_average());
}

/// Makes `release`'s edit; returns the file's text before it. Panics where the file does
/// not hold the text replaced, so no pair is timed on an edit that changed nothing.
fn edit(folder: &Path, release: &Release) -> String {
    let path = folder.join(release.file);
    let original = std::fs::read_to_string(&path).expect("the file to edit");
    let edited = original.replacen(release.from, release.to, 1);
    assert_ne!(
        edited, original,
        "{} holds `{}` ({})",
        release.file, release.from, release.label
    );
    std::fs::write(&path, edited).expect("an edit");
    original
}

/// Compiles the cluster in `folder` from the lockfile `shape` starts from, and names the
/// result `output`, in the spec's folder.
fn compile_release(binary: &str, shape: ClusterShape, folder: &Path, output: &str) {
    shape.ready_for_compile(folder);
    let spec_folder = shape.spec_folder(folder);
    let status = Command::new(binary)
        .current_dir(&spec_folder)
        .args(["compile", "cluster.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("cairn starts");
    assert!(status.success(), "cairn compile for {output} failed");
    std::fs::rename(spec_folder.join("cluster.lock"), spec_folder.join(output))
        .expect("the lockfile renamed");
}

/// Prints, for each release, what reading its lockfile costs in process and what
/// `LockfileDiff::between` alone costs (best of `runs`) against `old.lock`.
fn time_in_process(spec_folder: &Path, releases: &[Release], runs: usize) {
    let old = cairn_lockfiles::Lockfile::read(&spec_folder.join("old.lock")).expect("old.lock");
    for release in releases {
        let start = Instant::now();
        let new = cairn_lockfiles::Lockfile::read(&spec_folder.join(release.lockfile))
            .expect("a lockfile");
        let read = start.elapsed();
        let mut timings: Vec<Duration> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                let diff = cairn_lockfiles::LockfileDiff::between(&old, &new);
                let elapsed = start.elapsed();
                assert!(!diff.is_empty(), "{} changes something", release.lockfile);
                elapsed
            })
            .collect();
        timings.sort();
        println!(
            "in process, old.lock against {}: reading one lockfile {}, LockfileDiff::between best {}",
            release.lockfile,
            seconds(read),
            seconds(timings[0])
        );
    }
}

/// Times `cairn diff old.lock NEW` `runs` times for each pair (label, NEW) and prints the
/// table's rows: the nodes changed (from `--stat`), best, median and the report's size.
/// Each round runs every pair once, so that the machine's speed, which on a shared VM
/// drifts by a fifth within minutes, weighs on every pair alike.
fn time_cairn_diffs(binary: &str, spec_folder: &Path, pairs: &[(&str, &str)], runs: usize) {
    let mut timings: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); pairs.len()];
    let mut reports: Vec<usize> = vec![0; pairs.len()];
    for _ in 0..runs {
        for (index, (_, new)) in pairs.iter().enumerate() {
            let (elapsed, report) = time_cairn_diff(binary, spec_folder, new);
            timings[index].push(elapsed);
            reports[index] = report;
        }
    }
    for (((label, new), timings), report) in pairs.iter().zip(&mut timings).zip(reports) {
        timings.sort();
        println!(
            "{label:<38}  {:>8}  {:>10}  {:>10}  {:>6.1} KiB",
            changed_nodes(binary, spec_folder, new),
            seconds(timings[0]),
            seconds(timings[timings.len() / 2]),
            report as f64 / 1024.0
        );
    }
}

/// One `cairn diff old.lock NEW`: how long it took and the report's size in bytes.
fn time_cairn_diff(binary: &str, spec_folder: &Path, new: &str) -> (Duration, usize) {
    let expected_code = if new == "old.lock" { 0 } else { 1 };
    let start = Instant::now();
    let output = Command::new(binary)
        .current_dir(spec_folder)
        .args(["diff", "old.lock", new])
        .stderr(Stdio::inherit())
        .output()
        .expect("cairn runs");
    let elapsed = start.elapsed();
    assert_eq!(
        output.status.code(),
        Some(expected_code),
        "cairn diff old.lock {new}"
    );
    (elapsed, output.stdout.len())
}

/// The nodes `cairn diff old.lock NEW --stat` counts as changed: its `total` line's last
/// word.
fn changed_nodes(binary: &str, spec_folder: &Path, new: &str) -> String {
    let stat = Command::new(binary)
        .current_dir(spec_folder)
        .args(["diff", "old.lock", new, "--stat"])
        .output()
        .expect("cairn runs");
    String::from_utf8_lossy(&stat.stdout)
        .lines()
        .find(|line| line.starts_with("total"))
        .and_then(|line| line.split_whitespace().last().map(str::to_string))
        .unwrap_or_else(|| "0".to_string())
}

fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}
