//! Connect benchmark: what unreachable hosts cost, and hosts behind one bastion.
//!
//! 1. `cairn plan` of `CAIRN_BENCH_SILENT` (500) hosts whose addresses drop every packet
//!    (a block routed into a blackhole of a network namespace: no reset, no ICMP error),
//!    with the default connect timeout (10 s) and with `--connect-timeout 2`, at the
//!    default `--jobs` (32) and at `--jobs 128`. `CAIRN_BENCH_BEFORE=/path/to/cairn` also
//!    times an older cairn (without `--connect-timeout`) on the same lockfile.
//! 2. `cairn apply` of `CAIRN_BENCH_BEHIND` (200) hosts reached through one bastion whose
//!    sshd keeps OpenSSH's default `MaxStartups 10:30:100`, all on one sshd behind it
//!    (each host a folder of its own), at `--jobs 64`: with `--max-startups 1000` (no
//!    bound) and with the default; the time, the hosts that failed, and the connections
//!    the bastion's sshd dropped (its log's `past MaxStartups`), which cairn tries again.
//!
//! `cargo bench --bench connect`; run as root (network namespaces, sshd). The load
//! average is printed before each run: the figures mean little on a busy machine.

#[path = "../tests/it/support/free_ports.rs"]
#[allow(dead_code)]
mod free_ports;
#[path = "../tests/it/support/network_namespaces.rs"]
#[allow(dead_code)]
mod network_namespaces;
#[path = "../tests/it/support/silent_network.rs"]
mod silent_network;
#[path = "../tests/it/support/ssh_fixture.rs"]
#[allow(dead_code)]
mod ssh_fixture;

#[path = "common.rs"]
#[allow(dead_code)] // each benchmark uses some of what they share
mod common;

use common::{env_number, load_average};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use network_namespaces::{HiddenHost, PrivateNetwork};
use silent_network::SilentNetwork;
use ssh_fixture::{ServerPlace, SshFixture};

const MODULE: &str = "[module]\nname = \"bench\"\ndescription = \"one file per host\"\nroles = [\"bench\"]\n\n\
[[node]]\nkind = \"file\"\npath = \"/etc/bench.conf\"\ncontent = \"{{ host.name }}\\n\"\n";

fn main() {
    let silent_hosts = env_number("CAIRN_BENCH_SILENT", 500);
    let hosts_behind = env_number("CAIRN_BENCH_BEHIND", 200);
    let mut report = String::new();
    if silent_hosts > 0 {
        report.push_str(&silent_scenarios(silent_hosts));
    }
    if hosts_behind > 0 {
        report.push_str(&bastion_scenarios(hosts_behind));
    }
    print!("{report}");
}

/// A cluster folder: the bench module, and a spec of `hosts` (`[hosts.NAME]` bodies).
fn write_cluster(folder: &Path, hosts: &[(String, String)]) {
    std::fs::create_dir_all(folder.join("modules/bench")).unwrap();
    std::fs::write(folder.join("modules/bench/module.toml"), MODULE).unwrap();
    let mut spec = String::from(
        "[cluster]\nname = \"bench\"\ndomain = \"bench.example\"\nmodules = [\"modules\"]\n\
         exclude_modules = [\"host-base\", \"preflight\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\n",
    );
    for (name, body) in hosts {
        let _ = write!(spec, "[hosts.{name}]\n{body}roles = [\"bench\"]\n\n");
    }
    std::fs::write(folder.join("cluster.toml"), spec).unwrap();
    let compiled = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(folder)
        .args(["compile", "cluster.toml"])
        .output()
        .unwrap();
    assert!(
        compiled.status.success(),
        "{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
}

fn silent_scenarios(count: usize) -> String {
    let silent = SilentNetwork::create("bnch");
    let workspace = tempfile::tempdir().unwrap();
    let folder = workspace.path();
    // `user` and `port` written out, so that an older cairn reads the lockfile too.
    let hosts: Vec<(String, String)> = (0..count)
        .map(|index| {
            (
                format!("silent{index:04}"),
                format!(
                    "address = \"{}\"\nuser = \"root\"\nport = 22\n",
                    silent.address(index)
                ),
            )
        })
        .collect();
    write_cluster(folder, &hosts);
    let mut out = format!(
        "\n`cairn plan` of {count} hosts that drop every packet (time to exit 2, every host named):\n\n\
         | cairn | options | wall time | load average before |\n|---|---|---:|---|\n"
    );
    let mut runs: Vec<(String, String, Vec<&str>)> = Vec::new();
    if let Ok(before) = std::env::var("CAIRN_BENCH_BEFORE") {
        runs.push(("before".to_string(), before, vec![]));
    }
    let after = env!("CARGO_BIN_EXE_cairn").to_string();
    runs.push(("this".to_string(), after.clone(), vec![]));
    runs.push((
        "this".to_string(),
        after.clone(),
        vec!["--connect-timeout", "2"],
    ));
    runs.push((
        "this".to_string(),
        after,
        vec!["--connect-timeout", "2", "--jobs", "128"],
    ));
    for (label, binary, options) in runs {
        let load = load_average();
        eprintln!("plan of {count} silent hosts, {label} {options:?}...");
        let started = Instant::now();
        let output = Command::new(&binary)
            .current_dir(folder)
            .args(["plan", "cluster.lock", "--persist", "0"])
            .args(&options)
            .output()
            .unwrap();
        let took = started.elapsed();
        let named = String::from_utf8_lossy(&output.stderr)
            .matches("cannot read the state of host")
            .count();
        eprintln!(
            "  {} ({named} hosts named, exit {:?})",
            seconds(took),
            output.status.code()
        );
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {load} |",
            if options.is_empty() {
                "(defaults)".to_string()
            } else {
                options.join(" ")
            },
            seconds(took)
        );
    }
    out
}

fn bastion_scenarios(count: usize) -> String {
    let network = PrivateNetwork::create("bnch", 1);
    let bastion = &network.hosts[0];
    let hidden = HiddenHost::behind(&bastion.namespace, "bnch", 0);
    let logs = tempfile::tempdir().unwrap();
    let bastion_log = logs.path().join("bastion.log");
    let mut bastion_place = ServerPlace::in_namespace(&bastion.address, 2222, &bastion.namespace);
    bastion_place.max_startups = Some("10:30:100".to_string());
    bastion_place.log = Some(bastion_log.clone());
    let fixture = SshFixture::start_at(&[
        bastion_place,
        ServerPlace::in_namespace(&hidden.address, 2222, &hidden.namespace),
    ]);
    let mut out = format!(
        "\n`cairn apply --jobs 64` of {count} hosts behind one bastion (sshd's default MaxStartups 10:30:100):\n\n\
         | options | wall time | hosts failed | connections the bastion dropped | load average before |\n|---|---:|---:|---:|---|\n"
    );
    for options in [vec!["--max-startups", "1000"], vec![]] {
        let workspace = tempfile::tempdir().unwrap();
        let folder = workspace.path();
        let key = fixture.identity().display().to_string();
        std::fs::write(
            folder.join("ssh_config"),
            format!(
                "Host bastion\n    HostName {}\n    Port 2222\n    User root\n    IdentityFile {key}\n\
                 Host app-*\n    HostName {}\n    Port 2222\n    User root\n    IdentityFile {key}\n    ProxyJump bastion\n",
                bastion.address, hidden.address
            ),
        )
        .unwrap();
        let hosts: Vec<(String, String)> = (0..count)
            .map(|index| {
                (
                    format!("app{index:04}"),
                    format!(
                        "address = \"app-{index:04}\"\nroot = \"{}/hosts/{index}\"\n",
                        folder.display()
                    ),
                )
            })
            .collect();
        write_cluster(folder, &hosts);
        let load = load_average();
        let dropped_before = dropped_connections(&bastion_log);
        eprintln!("apply of {count} hosts behind a bastion {options:?}...");
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .current_dir(folder)
            .args([
                "apply",
                "cluster.lock",
                "--json",
                "--persist",
                "0",
                "--jobs",
                "64",
            ])
            .args(["--ssh-config", "ssh_config", "--known-hosts"])
            .arg(fixture.known_hosts())
            .args(&options)
            .output()
            .unwrap();
        let took = started.elapsed();
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
        let failed = report["hosts"].as_object().map_or(count, |hosts| {
            hosts
                .values()
                .filter(|host| host["succeeded"] != true)
                .count()
        });
        let dropped = dropped_connections(&bastion_log) - dropped_before;
        eprintln!(
            "  {} ({failed} hosts failed, {dropped} connections dropped)",
            seconds(took)
        );
        let _ = writeln!(
            out,
            "| {} | {} | {failed} | {dropped} | {load} |",
            if options.is_empty() {
                "(defaults: --max-startups 6)".to_string()
            } else {
                options.join(" ")
            },
            seconds(took)
        );
    }
    out
}

/// The connections sshd logged dropping past `MaxStartups` so far.
fn dropped_connections(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("past MaxStartups")
        .count()
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}
