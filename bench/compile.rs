//! Compile benchmark: generates cluster specs of 1,000 and 10,000 hosts and times
//! `cairn compile` on each, printing wall time and peak memory (the child's maximum
//! resident set, from `wait4`). Run with `cargo bench --bench compile`; the figures and the
//! machine they came from are kept in bench/README.md.
//!
//! Two shapes (`CAIRN_BENCH_SHAPES`, default both): `dcos-ha`, the example's hosts cloned
//! (`bench/dcos_ha_cluster.rs`: every module, pinned images and packages), and `generated`,
//! the lighter cluster of earlier figures: 3 masters (ZooKeeper), 2 load balancers
//! (HAProxy), one console host, the rest plain hosts with the preflight checks and host
//! initialisation. Each size runs `CAIRN_BENCH_RUNS` times (default 3); the best and the
//! median are shown, with the lockfile's size, nodes and dependency edges.
//! `CAIRN_BENCH_CAIRN=/path/to/cairn` times another build (an older commit's, for a before
//! and after); `CAIRN_BENCH_KEEP=DIR` generates into DIR and keeps it.
#![allow(unsafe_code)] // wait4(2), to read the peak memory of each compile.

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

fn main() {
    let runs: usize = env_number("CAIRN_BENCH_RUNS", 3);
    let sizes: Vec<usize> = std::env::var("CAIRN_BENCH_HOSTS")
        .ok()
        .map(|text| {
            text.split(',')
                .filter_map(|size| size.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![1_000, 10_000]);
    let shapes = ClusterShape::from_environment();
    let binary = std::env::var("CAIRN_BENCH_CAIRN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_cairn").to_string());
    let temporary = tempfile::tempdir().expect("a temporary folder");
    let workspace = workspace_folder(temporary.path());

    println!("cairn compile benchmark ({runs} runs per size; best and median) of {binary}");
    println!("load average at the start: {}", load_average());
    println!(
        "{:>9}  {:>8}  {:>8}  {:>9}  {:>10}  {:>10}  {:>12}  {:>10}",
        "shape", "hosts", "nodes", "edges", "best", "median", "peak memory", "lock size"
    );
    for shape in shapes {
        for &hosts in &sizes {
            let folder = workspace.join(format!("{}-{hosts}", shape.name()));
            shape.write_cluster(&folder, hosts);
            let spec_folder = shape.spec_folder(&folder);
            let mut timings = Vec::with_capacity(runs);
            let mut peak_kib = 0;
            for _ in 0..runs {
                shape.ready_for_compile(&folder);
                let (elapsed, max_rss_kib) = run_measured(&binary, &spec_folder);
                timings.push(elapsed);
                peak_kib = peak_kib.max(max_rss_kib);
            }
            timings.sort();
            let lock_path = spec_folder.join("cluster.lock");
            let lock_size = std::fs::metadata(&lock_path).expect("a lockfile").len();
            let (nodes, edges) = nodes_and_edges(&lock_path);
            println!(
                "{:>9}  {hosts:>8}  {:>8}  {:>9}  {:>10}  {:>10}  {:>9.0} MiB  {:>6.1} MiB",
                shape.name(),
                nodes,
                edges,
                seconds(timings[0]),
                seconds(timings[timings.len() / 2]),
                peak_kib as f64 / 1024.0,
                lock_size as f64 / (1024.0 * 1024.0),
            );
        }
    }
    println!("load average at the end: {}", load_average());
}

/// A lockfile's nodes and dependency edges, read as `cairn` reads it: its text does not
/// list them all, as a host written like another writes only what differs from its model.
fn nodes_and_edges(lock: &Path) -> (usize, usize) {
    let lockfile = cairn_lockfiles::Lockfile::read(lock).expect("the lockfile reads");
    let edges = lockfile.nodes().iter().map(|node| node.deps.len()).sum();
    (lockfile.nodes().len(), edges)
}

fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

/// Runs `cairn compile` in `folder`; returns wall time and the child's peak RSS in KiB.
fn run_measured(binary: &str, folder: &Path) -> (Duration, i64) {
    let start = Instant::now();
    // Reaped by wait4 below, which also gives its resource usage; `Child::wait` would not.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(binary)
        .current_dir(folder)
        .args(["compile", "cluster.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cairn starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; the pid is our own child, reaped here.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert_eq!(waited, pid, "wait4 reaps the compile");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "cairn compile failed in {}",
        folder.display()
    );
    (elapsed, usage.ru_maxrss)
}
