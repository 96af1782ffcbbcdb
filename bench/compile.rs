//! Compile benchmark: generates cluster specs of 1,000 and 10,000 hosts and times
//! `cairn compile` on each, printing wall time and peak memory (the child's maximum
//! resident set, from `wait4`). Run with `cargo bench --bench compile`; the figures and the
//! machine they came from are kept in bench/README.md.
//!
//! Each size runs `CAIRN_BENCH_RUNS` times (default 3); the best and the median are shown.
//! The generated cluster: 3 masters (ZooKeeper), 2 load balancers (HAProxy), one console
//! host, the rest plain hosts with the preflight checks and host initialisation.
#![allow(unsafe_code)] // wait4(2), to read the peak memory of each compile.

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
    let sizes: Vec<usize> = std::env::var("CAIRN_BENCH_HOSTS")
        .ok()
        .map(|text| {
            text.split(',')
                .filter_map(|size| size.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![1_000, 10_000]);
    let binary = env!("CARGO_BIN_EXE_cairn");
    let workspace = tempfile::tempdir().expect("a temporary folder");

    println!("cairn compile benchmark ({runs} runs per size; best and median)");
    println!(
        "{:>8}  {:>8}  {:>10}  {:>10}  {:>12}  {:>10}",
        "hosts", "nodes", "best", "median", "peak memory", "lock size"
    );
    for hosts in sizes {
        let folder = workspace.path().join(format!("hosts-{hosts}"));
        generated_cluster::write_cluster(&folder, hosts);

        let mut timings = Vec::with_capacity(runs);
        let mut peak_kib = 0;
        for _ in 0..runs {
            let _ = std::fs::remove_file(folder.join("cluster.lock"));
            let (elapsed, max_rss_kib) = run_measured(binary, &folder);
            timings.push(elapsed);
            peak_kib = peak_kib.max(max_rss_kib);
        }
        timings.sort();
        let lock = std::fs::read_to_string(folder.join("cluster.lock")).expect("a lockfile");
        let nodes = lock.matches("\n[[node]]\n").count();
        println!(
            "{hosts:>8}  {nodes:>8}  {:>10}  {:>10}  {:>9.0} MiB  {:>6.1} MiB",
            seconds(timings[0]),
            seconds(timings[timings.len() / 2]),
            peak_kib as f64 / 1024.0,
            lock.len() as f64 / (1024.0 * 1024.0),
        );
    }
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
