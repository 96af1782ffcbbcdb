//! Compile benchmark: generates cluster specs of 1,000 and 10,000 hosts and times
//! `cairn compile` on each, printing wall time and peak memory (the child's maximum
//! resident set, from `wait4`). Run with `cargo bench --bench compile`; the figures and the
//! machine they came from are kept in bench/README.md.
//!
//! Each size runs `CAIRN_BENCH_RUNS` times (default 3); the best and the median are shown.
//! The generated cluster: 3 masters (ZooKeeper), 2 load balancers (HAProxy), one console
//! host, the rest plain hosts with the preflight checks and host initialisation.
#![allow(unsafe_code)] // wait4(2), to read the peak memory of each compile.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::var("CAIRN_BENCH_RUNS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(3);
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
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");

    println!("cairn compile benchmark ({runs} runs per size; best and median)");
    println!(
        "{:>8}  {:>8}  {:>10}  {:>10}  {:>12}  {:>10}",
        "hosts", "nodes", "best", "median", "peak memory", "lock size"
    );
    for hosts in sizes {
        let folder = workspace.path().join(format!("hosts-{hosts}"));
        std::fs::create_dir_all(folder.join("secrets")).expect("a folder");
        copy_folder(&examples.join("modules"), &folder.join("modules"));
        std::fs::write(folder.join("secrets/console-session-key"), "bench-key\n")
            .expect("a secret");
        std::fs::write(
            folder.join("secrets/fingerprint.key"),
            "bench-fingerprint-key\n",
        )
        .expect("a key");
        // keepalived takes at most 8 characters.
        std::fs::write(folder.join("secrets/keepalived-auth-pass"), "bench-kp\n")
            .expect("a secret");
        std::fs::write(folder.join("cluster.toml"), generate_spec(hosts)).expect("a spec");

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

fn generate_spec(hosts: usize) -> String {
    let mut spec = String::new();
    spec.push_str(
        "[cluster]\nname = \"bench\"\ndomain = \"bench.cairn.test\"\nmodules = [\"modules\"]\n\
         fingerprint_key = { file = \"secrets/fingerprint.key\" }\n\n",
    );
    for index in 0..hosts {
        let roles = match index {
            0..=2 => "[\"master\"]",
            3..=4 => "[\"loadbalancer\"]",
            5 => "[\"console\"]",
            _ => "[]",
        };
        // The numbered modules' hosts (ZooKeeper, keepalived) have ids.
        let id = if index <= 4 {
            format!("id = {}\n", index + 1)
        } else {
            String::new()
        };
        let _ = writeln!(
            spec,
            "[hosts.host{index:05}]\naddress = \"10.{}.{}.{}\"\nroles = {roles}\n{id}",
            index / 65_536,
            (index / 256) % 256,
            index % 256
        );
    }
    spec.push_str(
        "[repository]\nurl = \"http://10.0.0.1:8080/debian\"\n\n[registry]\naddress = \"10.0.0.1:5000\"\n\n\
         [ntp]\nservers = [\"10.0.0.1\"]\n\n[haproxy]\nservices = [\"marathon:8080\", \"console:8000\"]\n\n\
         [keepalived]\nvip = \"10.0.0.100/24\"\ninterface = \"eth0\"\nauth_pass = { file = \"secrets/keepalived-auth-pass\" }\n\n\
         [console]\nsession_key = { file = \"secrets/console-session-key\" }\n",
    );
    spec
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a readable folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("a copy");
        }
    }
}
