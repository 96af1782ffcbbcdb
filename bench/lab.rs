//! Lab benchmark: the whole platform installed from nothing onto the lab's nine fresh
//! machines (`examples/lab`), then applied again unchanged, then after one template change
//! (HAProxy's connection limit: haproxy.cfg on both load balancers). For each apply: the
//! wall time; per phase (the repository and packages, images, host files and services,
//! containers, health checks) the span from the first node of the phase starting to the
//! last ending, and the time its nodes took added up; the bytes cairn sent the hosts over
//! SSH (scripts and their stdin: file contents, the repository's files, images sent
//! whole); and the bytes the hosts pulled from the control host's registry (the compressed
//! layers of the images each host runs, as the manifests in cairn's image folder list
//! them, each layer once per host).
//!
//! The store of pinned downloads is filled first (`cairn fetch`, timed apart): an install
//! from an offline repository does not wait on Debian's mirrors. The image folder starts
//! empty: the images are built as part of the first install, as on a fresh control machine.
//!
//! `cargo bench --bench lab`; needs root, Docker, debootstrap (as the lab does) and the
//! release build of cairn. There is no Ansible or pyinfra run here: the installer they
//! would be is the old one cairn replaces, not a playbook of this repository; the
//! comparison with them on the same work is `cargo bench --bench apply`.

#[path = "common.rs"]
#[allow(dead_code)] // each benchmark uses some of what they share
mod common;

use common::load_average;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Phases, by node kind, in the order an install goes through them.
const PHASES: [(&str, &[&str]); 5] = [
    ("repository and packages", &["repository", "package"]),
    ("images", &["image"]),
    (
        "host files, commands, services",
        &["file", "command", "service"],
    ),
    ("containers", &["container"]),
    ("health checks", &["health"]),
];

fn main() {
    let workspace = tempfile::tempdir().expect("a temporary folder");
    let folder = workspace.path().join("lab");
    copy_example(&folder);
    let images = workspace.path().join("images");
    let cairn = |arguments: &[&str]| -> (Duration, String) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cairn"));
        command
            .current_dir(&folder)
            .env("CAIRN_IMAGES", &images)
            .args(arguments);
        let started = Instant::now();
        let output = command.output().expect("cairn runs");
        let elapsed = started.elapsed();
        assert!(
            output.status.success(),
            "cairn {arguments:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (
            elapsed,
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    eprintln!("load average before: {}", load_average());
    let (fetch_time, _) = cairn(&["fetch", "cluster.lock"]);
    let (up_time, _) = cairn(&["lab", "up", "cluster.toml"]);
    let _down = LabDown(folder.clone());
    let apply = |cairn: &dyn Fn(&[&str]) -> (Duration, String)| {
        let (elapsed, stdout) = cairn(&[
            "apply",
            "cluster.lock",
            "--json",
            "--identity",
            "lab/id_ed25519",
            "--known-hosts",
            "lab/known_hosts",
        ]);
        (
            elapsed,
            serde_json::from_str::<serde_json::Value>(&stdout).expect("apply's JSON"),
        )
    };

    let mut report = String::new();
    report.push_str(&format!(
        "lab benchmark ({}), load average {} at the start\n\
         `cairn fetch` (the store filled beforehand): {}; `cairn lab up` of 9 machines: {}\n\n",
        machine(),
        load_average(),
        seconds(fetch_time),
        seconds(up_time)
    ));
    let (first_time, first) = apply(&cairn);
    report.push_str(&describe(
        "first install, from nothing",
        first_time,
        &first,
        &images,
    ));
    let (noop_time, noop) = apply(&cairn);
    report.push_str(&describe("no-op re-apply", noop_time, &noop, &images));
    let spec = folder.join("cluster.toml");
    let text = std::fs::read_to_string(&spec).expect("the spec");
    std::fs::write(
        &spec,
        text.replace("max_connections = 2000", "max_connections = 2500"),
    )
    .expect("the spec edited");
    cairn(&["compile", "cluster.toml"]);
    let (change_time, change) = apply(&cairn);
    report.push_str(&describe(
        "one template changed (haproxy.cfg on both load balancers)",
        change_time,
        &change,
        &images,
    ));
    report.push_str(&format!("load average at the end: {}\n", load_average()));
    println!("{report}");
}

/// The lab brought down when the benchmark ends, however it ends.
struct LabDown(PathBuf);

impl Drop for LabDown {
    fn drop(&mut self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .current_dir(&self.0)
            .args(["lab", "down", "--dir", "lab"])
            .output();
    }
}

/// A table of one apply.
fn describe(title: &str, elapsed: Duration, report: &serde_json::Value, images: &Path) -> String {
    let hosts = report["hosts"].as_object().expect("hosts");
    let mut out = format!(
        "{title}: {}\n\n| phase | span | nodes | node time |\n|---|---:|---:|---:|\n",
        seconds(elapsed)
    );
    for (phase, kinds) in PHASES {
        let mut first: Option<u64> = None;
        let mut last: u64 = 0;
        let mut total = 0;
        let mut count = 0;
        for host in hosts.values() {
            let started = host["started_ms"].as_object().into_iter().flatten();
            for (name, start) in started {
                let kind = name.split(':').nth(1).unwrap_or_default();
                if !kinds.contains(&kind) {
                    continue;
                }
                let start = start.as_u64().unwrap_or_default();
                let duration = host["durations_ms"][name].as_u64().unwrap_or_default();
                first = Some(first.map_or(start, |first| first.min(start)));
                last = last.max(start + duration);
                total += duration;
                count += 1;
            }
        }
        let span = first.map_or(0, |first| last - first);
        out.push_str(&format!(
            "| {phase} | {} | {count} | {} |\n",
            seconds(Duration::from_millis(span)),
            seconds(Duration::from_millis(total))
        ));
    }
    let sent: u64 = hosts
        .values()
        .map(|host| {
            host["sent"]["script_bytes"].as_u64().unwrap_or_default()
                + host["sent"]["stdin_bytes"].as_u64().unwrap_or_default()
        })
        .sum();
    let pulled = registry_bytes(hosts, images);
    out.push_str(&format!(
        "\nsent over SSH: {}; pulled from the registry: {}\n\n",
        megabytes(sent),
        megabytes(pulled)
    ));
    out
}

/// The compressed bytes of the layers of each image a host pulled from the registry in
/// this apply (its container node's summary says so), each layer once per host (Docker
/// pulls a layer a host has once).
fn registry_bytes(hosts: &serde_json::Map<String, serde_json::Value>, images: &Path) -> u64 {
    let mut total = 0;
    for (host, report) in hosts {
        if host == "cluster" || host == "control" {
            continue;
        }
        let mut layers: BTreeMap<String, u64> = BTreeMap::new();
        let summaries = report["summaries"].as_object().into_iter().flatten();
        for (name, summary) in summaries {
            let (true, Some(summary)) = (name.contains(":container:"), summary.as_str()) else {
                continue;
            };
            // `started NAME from cairn/IMAGE:ID (image pulled as ...)`
            let pulled = summary.contains("(image pulled as ");
            let image = summary
                .split(" from cairn/")
                .nth(1)
                .and_then(|rest| rest.split(':').next());
            if let (true, Some(image)) = (pulled, image) {
                layers.extend(image_layers(&images.join(image)));
            }
        }
        total += layers.values().sum::<u64>();
    }
    total
}

/// Every layer of the images built under `folder` (`<id>/`), by digest, with its size.
fn image_layers(folder: &Path) -> BTreeMap<String, u64> {
    let mut layers = BTreeMap::new();
    let Ok(builds) = std::fs::read_dir(folder) else {
        return layers;
    };
    for build in builds.flatten().filter(|entry| entry.path().is_dir()) {
        let layout = build.path();
        let Ok(index) = std::fs::read(layout.join("index.json")) else {
            continue;
        };
        let index: serde_json::Value = serde_json::from_slice(&index).expect("index.json");
        let Some(digest) = index["manifests"][0]["digest"].as_str() else {
            continue;
        };
        let manifest = layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(manifest).expect("the manifest"))
                .expect("the manifest's JSON");
        for layer in manifest["layers"].as_array().into_iter().flatten() {
            if let (Some(digest), Some(size)) = (layer["digest"].as_str(), layer["size"].as_u64()) {
                layers.insert(digest.to_string(), size);
            }
        }
    }
    layers
}

/// `examples/lab` and the operators' modules it reads, into `folder` (beside its
/// `../modules`).
fn copy_example(folder: &Path) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    copy_tree(&examples.join("lab"), folder, &["lab", "sandbox"]);
    copy_tree(
        &examples.join("modules"),
        &folder.parent().expect("a parent").join("modules"),
        &[],
    );
}

fn copy_tree(from: &Path, to: &Path, skipped: &[&str]) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a folder to copy") {
        let entry = entry.expect("an entry");
        let name = entry.file_name();
        if skipped.iter().any(|skipped| name == *skipped) {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("a type").is_dir() {
            copy_tree(&entry.path(), &target, &[]);
        } else {
            std::fs::copy(entry.path(), target).expect("a copy");
        }
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// The processor and core count, for the figures' record.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown processor".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{model}, {cores} cores")
}
