//! Image builder benchmark. Run with `cargo bench --bench build`; the figures and the
//! machine they came from are kept in bench/README.md.
//!
//! 1. Layer writing (`layers`): cairn's layer writer (sorted, fixed headers) on a tree of
//!    this machine (`CAIRN_BENCH_TREE`, default /usr/share/doc), gzip level 6 and zstd
//!    level 3, against `tar --sort=name ... | gzip -6` and `tar ... | zstd -3` on the same
//!    tree in the same run: wall time and throughput in MB/s of tar.
//! 2. `cairn build` of an image made of one large artifact (`artifact`: a tarball of the
//!    tree, served on loopback) and a file: with a cold store (the download counted), a
//!    warm store into a new folder, and again unchanged (no work).
//! 3. Package images (`packages`): HAProxy, ZooKeeper and MariaDB pinned against Debian's
//!    archive (the spec of tests/it/package_images.rs, with settings of the benchmark's
//!    own), the store warmed by `cairn fetch`, then each image built into a new folder
//!    and again unchanged; each image's layers and layout size.
//! 4. A second distribution (part of `packages`): a second release of the spec (ZooKeeper's
//!    heap, rendered into its entrypoint, and HAProxy's statistics port, in its config,
//!    changed) pushed to Debian's `docker-registry` on loopback after the first, and the
//!    archives `docker load` is sent (`distribution::docker_load::load_archive`) for an
//!    engine holding nothing, the first release, or the same image.
//!
//! Best of `CAIRN_BENCH_RUNS` (default 3) for each timing. `CAIRN_BENCH_PARTS` (default
//! `layers,artifact,packages`) picks the parts. The package store and the compiled specs
//! are kept under the target folder (`target/tmp/bench-build-packages`) so that a rerun
//! starts warm and pins the same packages; the first run downloads some 200 MB from
//! deb.debian.org.

#[path = "common.rs"]
#[allow(dead_code)] // each benchmark uses some of what they share
mod common;

use common::{env_number, load_average};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cairn_images::distribution::docker_load::{HOST_LAYERS_SCRIPT, LoadArchive, load_archive};
use cairn_images::image_builder::layer::Layer;
use cairn_lockfiles::LayerCompression;

/// The images of the package part, in the order they are printed.
const PACKAGE_IMAGES: [&str; 3] = ["haproxy", "zookeeper", "mysql"];

fn main() {
    let runs: usize = env_number("CAIRN_BENCH_RUNS", 3);
    let parts =
        std::env::var("CAIRN_BENCH_PARTS").unwrap_or_else(|_| "layers,artifact,packages".into());
    let wanted = |part: &str| parts.split(',').any(|name| name.trim() == part);
    let tree = std::env::var("CAIRN_BENCH_TREE").unwrap_or_else(|_| "/usr/share/doc".into());
    let tree = Path::new(&tree);
    println!("load average at the start: {}", load_average());
    if wanted("layers") {
        layer_benchmark(runs, tree);
    }
    if wanted("artifact") {
        build_benchmark(runs, tree);
    }
    if wanted("packages") {
        package_benchmark(runs);
    }
    println!("\nload average at the end: {}", load_average());
}

/// cairn's layer writer against `tar | gzip` and `tar | zstd` on the same tree.
fn layer_benchmark(runs: usize, tree: &Path) {
    println!("tree: {} ({runs} runs, best)", tree.display());
    let mut layer = Layer::new();
    layer
        .insert_tree(tree, "/tree")
        .expect("the tree is readable");
    let tar_bytes = layer.tar(0).expect("a tar").len() as f64;
    println!("tar: {:.1} MB", tar_bytes / 1e6);
    let report = |name: &str, elapsed: Duration, compressed: usize| {
        println!(
            "{name:<34} {:>8.3} s {:>8.1} MB/s  {:>7.1} MB out",
            elapsed.as_secs_f64(),
            tar_bytes / 1e6 / elapsed.as_secs_f64(),
            compressed as f64 / 1e6
        );
    };
    for (name, compression) in [
        ("cairn layer, gzip 6", LayerCompression::Gzip { level: 6 }),
        ("cairn layer, zstd 3", LayerCompression::Zstd { level: 3 }),
    ] {
        let (elapsed, size) = best(runs, || {
            let start = Instant::now();
            // The whole of cairn's work: reading the tree, the tar, the compression.
            let mut layer = Layer::new();
            layer.insert_tree(tree, "/tree").expect("the tree");
            let blob = layer.write(0, compression).expect("a layer");
            (start.elapsed(), blob.bytes.len())
        });
        report(name, elapsed, size);
    }
    for (name, compressor) in [
        ("tar | gzip -6", "gzip -6"),
        ("tar | zstd -3", "zstd -3 -T1 -q"),
    ] {
        let (elapsed, size) = best(runs, || {
            let start = Instant::now();
            let output = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "tar -C '{}' --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . | {compressor} | wc -c",
                    tree.display()
                ))
                .stderr(Stdio::inherit())
                .output()
                .expect("tar runs");
            let size: usize = String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .expect("a byte count");
            (start.elapsed(), size)
        });
        report(name, elapsed, size);
    }
}

fn best(runs: usize, mut run: impl FnMut() -> (Duration, usize)) -> (Duration, usize) {
    (0..runs.max(1))
        .map(|_| run())
        .min_by_key(|(elapsed, _)| *elapsed)
        .expect("one run")
}

/// `cairn build` of an image of one artifact (the tree, as a tar.gz) and one file.
fn build_benchmark(runs: usize, tree: &Path) {
    let binary = env!("CARGO_BIN_EXE_cairn");
    let workspace = tempfile::tempdir().expect("a temporary folder");
    let folder = workspace.path();
    let served = folder.join("served");
    std::fs::create_dir_all(&served).unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C '{}' --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -czf '{}' .",
            tree.display(),
            served.join("tree.tar.gz").display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(served.join("tree.tar.gz")).unwrap();
    let sha256 = cairn_debian::sha256_hex(&bytes);
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut server = Command::new("busybox")
        .args(["httpd", "-f", "-p", &format!("127.0.0.1:{port}"), "-h"])
        .arg(&served)
        .spawn()
        .expect("busybox httpd (Debian's busybox-static)");
    std::thread::sleep(Duration::from_millis(300));
    std::fs::create_dir_all(folder.join("modules/tree")).unwrap();
    std::fs::write(
        folder.join("modules/tree/module.toml"),
        format!(
            "[module]\nname = \"tree\"\ndescription = \"an image of one large download\"\nroles = [\"app\"]\n\n\
             [[image]]\nname = \"tree\"\nbase = \"scratch\"\n\
             artifacts = [{{ url = \"http://127.0.0.1:{port}/tree.tar.gz\", sha256 = \"{sha256}\", path = \"/srv/tree\", unpack = true }}]\n\
             files = [{{ path = \"/usr/local/bin/run\", content = \"#!/bin/sh\\n\", mode = \"0755\" }}]\n\
             entrypoint = [\"/usr/local/bin/run\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(folder.join("fingerprint.key"), "bench-key\n").unwrap();
    std::fs::write(
        folder.join("cluster.toml"),
        "[cluster]\nname = \"bench\"\ndomain = \"bench.example\"\nmodules = [\"modules\"]\n\
         exclude_modules = [\"host-base\", \"preflight\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\
         fingerprint_key = { file = \"fingerprint.key\" }\n\n\
         [hosts.node1]\naddress = \"127.0.0.1\"\ntransport = \"local\"\nroot = \"sandbox\"\nroles = [\"app\"]\n",
    )
    .unwrap();
    let compiled = Command::new(binary)
        .current_dir(folder)
        .args(["compile", "cluster.toml"])
        .output()
        .unwrap();
    assert!(compiled.status.success(), "{compiled:?}");
    let build = |output: &str, store: &str| -> Duration {
        let start = Instant::now();
        let result = Command::new(binary)
            .current_dir(folder)
            .env("CAIRN_STORE", folder.join(store))
            .args(["build", "cluster.lock", "--output", output])
            .output()
            .unwrap();
        assert!(result.status.success(), "{result:?}");
        start.elapsed()
    };
    println!(
        "\ncairn build, one artifact of {:.1} MB (gzip'd tar of the tree) and one file:",
        bytes.len() as f64 / 1e6
    );
    // Interleaved, so that the disk's writing back of earlier runs weighs on both alike.
    let (mut cold, mut warm) = (Duration::MAX, Duration::MAX);
    for run in 0..runs.max(1) {
        cold = cold.min(build(&format!("cold-{run}"), &format!("store-{run}")));
        warm = warm.min(build(&format!("warm-{run}"), "store-0"));
    }
    let unchanged = (0..runs.max(1))
        .map(|_| build("warm-0", "store-0"))
        .min()
        .unwrap();
    println!(
        "  cold store (download, check, unpack, layers) {:>8.3} s",
        cold.as_secs_f64()
    );
    println!(
        "  warm store, new output folder                {:>8.3} s",
        warm.as_secs_f64()
    );
    println!(
        "  unchanged (nothing to do)                    {:>8.3} s",
        unchanged.as_secs_f64()
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// One release of the package spec: a folder of its own (the spec, its secrets, its
/// lockfile), kept between runs.
struct Release {
    folder: PathBuf,
}

impl Release {
    /// Writes the spec with these settings into `folder` and compiles it there (the
    /// lockfile already there keeps its pins: a rerun pins what the store holds).
    fn compile(folder: PathBuf, store: &Path, stats_port: u16, zookeeper_heap: &str) -> Self {
        for (path, text) in [
            (
                "secrets/fingerprint.key",
                "bench-package-images-fingerprint\n",
            ),
            ("secrets/root", "root-of-the-build-benchmark"),
            ("secrets/replication", "replication-of-the-build-benchmark"),
            ("cluster.toml", &package_spec(stats_port, zookeeper_heap)),
        ] {
            let path = folder.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        cairn(&folder, store, &["compile", "cluster.toml"]);
        Self { folder }
    }

    /// `cairn build` of `images` into `output`, with further `arguments`: its wall time and
    /// what it printed.
    fn build(
        &self,
        store: &Path,
        images: &[&str],
        output: &Path,
        arguments: &[&str],
    ) -> (Duration, String) {
        let output = output.display().to_string();
        let mut all = vec!["build", "cluster.lock", "--output", &output];
        for image in images {
            all.extend(["--image", image]);
        }
        all.extend(arguments);
        cairn(&self.folder, store, &all)
    }
}

/// The spec of tests/it/package_images.rs (`db1` runs HAProxy, ZooKeeper and MariaDB's
/// master, pinned from Debian's archive), with a statistics port, a heap and a MariaDB
/// port of the benchmark's own: its images are never a test's, so the engine never holds
/// one of them under the benchmark's tags.
fn package_spec(stats_port: u16, zookeeper_heap: &str) -> String {
    format!(
        "[cluster]\nname = \"packaged\"\ndomain = \"packaged.example\"\n\
         exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\", \"keepalived\"]\n\
         fingerprint_key = {{ file = \"secrets/fingerprint.key\" }}\n\n\
         [hosts.db1]\naddress = \"127.0.0.1\"\nid = 1\ntransport = \"local\"\nroot = \"sandbox/db1\"\n\
         roles = [\"master\", \"loadbalancer\", \"mysql\"]\n\n\
         [hosts.db2]\naddress = \"127.0.0.2\"\nid = 2\ntransport = \"local\"\nroot = \"sandbox/db2\"\n\
         roles = [\"mysql\"]\n\n\
         [preflight]\nfilesystem_paths = []\nmin_free_disk = {{ \"/\" = \"1MiB\" }}\n\n\
         [haproxy]\nmax_connections = 2000\nstats_port = {stats_port}\n\n\
         [zookeeper]\nheap = \"{zookeeper_heap}\"\n\n\
         [mysql]\nmaster = \"db1\"\nslave = \"db2\"\nport = 3316\n\
         root_password = {{ file = \"secrets/root\" }}\nreplication_password = {{ file = \"secrets/replication\" }}\n\n\
         [packages]\nsources = [\n\
             \"http://deb.debian.org/debian bookworm main\",\n\
             \"http://deb.debian.org/debian bookworm-updates main\",\n\
             \"http://deb.debian.org/debian-security bookworm-security main\",\n]\n"
    )
}

/// Runs the cairn under benchmark in `folder` with the package store `store`: its wall
/// time and what it printed. Panics with what it said if it fails.
fn cairn(folder: &Path, store: &Path, arguments: &[&str]) -> (Duration, String) {
    let start = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(folder)
        .env("CAIRN_STORE", store)
        .args(arguments)
        .output()
        .expect("cairn runs");
    let elapsed = start.elapsed();
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "cairn {}: {said}{}",
        arguments.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    (elapsed, said)
}

/// HAProxy, ZooKeeper and MariaDB from pinned packages: builds from a warm store, then
/// what a second distribution ships.
fn package_benchmark(runs: usize) {
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-build-packages");
    let store = kept.join("store");
    std::fs::create_dir_all(&store).unwrap();
    println!(
        "\npackage images (store and specs kept in {}):",
        kept.display()
    );
    let start = Instant::now();
    let first = Release::compile(kept.join("release-1"), &store, 18504, "288m");
    let second = Release::compile(kept.join("release-2"), &store, 18505, "320m");
    println!(
        "  compiled both releases in {:.3} s",
        start.elapsed().as_secs_f64()
    );
    for (name, release) in [("release 1", &first), ("release 2", &second)] {
        let (elapsed, said) = cairn(&release.folder, &store, &["fetch", "cluster.lock"]);
        println!(
            "  cairn fetch, {name}: {} ({:.3} s)",
            said.trim(),
            elapsed.as_secs_f64()
        );
    }

    let outputs = tempfile::tempdir().expect("a temporary folder");
    let built = outputs.path().join("fresh-0");
    let mut fresh = [Duration::MAX; PACKAGE_IMAGES.len()];
    let mut layers = [0; PACKAGE_IMAGES.len()];
    for run in 0..runs.max(1) {
        let output = outputs.path().join(format!("fresh-{run}"));
        for (index, image) in PACKAGE_IMAGES.iter().enumerate() {
            let (elapsed, said) = first.build(&store, &[image], &output, &[]);
            fresh[index] = fresh[index].min(elapsed);
            layers[index] = layer_count(&said, image);
        }
        if run > 0 {
            std::fs::remove_dir_all(&output).unwrap();
        }
    }
    let mut unchanged = [Duration::MAX; PACKAGE_IMAGES.len()];
    for _ in 0..runs.max(1) {
        for (index, image) in PACKAGE_IMAGES.iter().enumerate() {
            let (elapsed, said) = first.build(&store, &[image], &built, &[]);
            assert!(said.starts_with("unchanged "), "{said}");
            unchanged[index] = unchanged[index].min(elapsed);
        }
    }
    println!("  cairn build --image NAME from the warm store, best of {runs}:");
    println!(
        "  {:<10} {:>6} {:>10} {:>12} {:>10}",
        "image", "layers", "layout", "new folder", "unchanged"
    );
    for (index, image) in PACKAGE_IMAGES.iter().enumerate() {
        println!(
            "  {image:<10} {:>6} {:>10} {:>10.3} s {:>8.3} s",
            layers[index],
            bytes_text(folder_size(&built.join(image))),
            fresh[index].as_secs_f64(),
            unchanged[index].as_secs_f64()
        );
    }

    let next = outputs.path().join("release-2");
    let (elapsed, _) = second.build(&store, &PACKAGE_IMAGES, &next, &[]);
    println!(
        "  release 2 (ZooKeeper's heap and HAProxy's statistics port changed), all three into a new folder: {:.3} s",
        elapsed.as_secs_f64()
    );
    registry_benchmark(&store, &first, &built, &second, &next, outputs.path());
    docker_load_benchmark(&built, &next);
}

/// The layer count `cairn build` printed for `image`.
fn layer_count(said: &str, image: &str) -> usize {
    said.lines()
        .find(|line| line.starts_with(&format!("built {image} ")))
        .and_then(|line| line.rsplit(", ").next())
        .and_then(|last| last.strip_suffix(" layers"))
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no layer count for {image} in {said}"))
}

/// The bytes of the files under `folder`.
fn folder_size(folder: &Path) -> u64 {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let metadata = entry.metadata().unwrap();
            if metadata.is_dir() {
                folder_size(&entry.path())
            } else {
                metadata.len()
            }
        })
        .sum()
}

fn bytes_text(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

/// Debian's docker-registry serving a folder of its own on a loopback port.
struct Registry {
    server: std::process::Child,
    address: String,
}

impl Registry {
    /// Started, and answering; `None` where docker-registry is not installed.
    fn start(folder: &Path) -> Option<Self> {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let address = format!("127.0.0.1:{port}");
        std::fs::create_dir_all(folder).unwrap();
        let config = folder.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
                folder.join("data").display()
            ),
        )
        .unwrap();
        let server = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let registry = Self { server, address };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&registry.address).is_err() {
            assert!(Instant::now() < deadline, "docker-registry answers");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(registry)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// What `cairn build --push` printed for one image: blobs sent, their bytes, blobs the
/// registry had.
fn pushed(said: &str, image: &str) -> (u64, u64, u64) {
    let line = said
        .lines()
        .find(|line| line.starts_with(&format!("pushed {image} as ")))
        .unwrap_or_else(|| panic!("no push of {image} in {said}"));
    let numbers: Vec<u64> = line
        .rsplit(": ")
        .next()
        .unwrap()
        .split(|character: char| !character.is_ascii_digit())
        .filter_map(|word| word.parse().ok())
        .collect();
    match numbers[..] {
        [sent, bytes, present] => (sent, bytes, present),
        _ => panic!("a push line of three counts: {line}"),
    }
}

/// The three images pushed to an empty registry, pushed again, then release 2 pushed.
fn registry_benchmark(
    store: &Path,
    first: &Release,
    built: &Path,
    second: &Release,
    next: &Path,
    temporary: &Path,
) {
    let Some(registry) = Registry::start(&temporary.join("registry")) else {
        println!(
            "  registry: left out, docker-registry is not installed (Debian's docker-registry)"
        );
        return;
    };
    let push = ["--push", registry.address.as_str()];
    let rounds = [
        (
            "release 1, first push",
            first.build(store, &PACKAGE_IMAGES, built, &push),
        ),
        (
            "release 1 again",
            first.build(store, &PACKAGE_IMAGES, built, &push),
        ),
        (
            "release 2 after 1",
            second.build(store, &PACKAGE_IMAGES, next, &push),
        ),
    ];
    println!(
        "  cairn build --push to docker-registry on {}: blobs sent (bytes), blobs already there",
        registry.address
    );
    print!("  {:<10}", "image");
    for (name, _) in &rounds {
        print!(" {name:>28}");
    }
    println!();
    let mut totals = [(0, 0); 3];
    for image in PACKAGE_IMAGES {
        print!("  {image:<10}");
        for (round, (_, (_, said))) in rounds.iter().enumerate() {
            let (sent, bytes, present) = pushed(said, image);
            totals[round].0 += sent;
            totals[round].1 += bytes;
            print!(
                " {:>28}",
                format!("{sent} ({}), {present}", bytes_text(bytes))
            );
        }
        println!();
    }
    print!("  {:<10}", "all three");
    for (round, (_, (elapsed, _))) in rounds.iter().enumerate() {
        let (sent, bytes) = totals[round];
        print!(
            " {:>28}",
            format!(
                "{sent} ({}) in {:.2} s",
                bytes_text(bytes),
                elapsed.as_secs_f64()
            )
        );
    }
    println!();
}

/// `docker ARGUMENTS`: what it printed, or what it said when it failed.
fn docker(arguments: &[&str]) -> Result<String, String> {
    let output = Command::new("docker")
        .args(arguments)
        .output()
        .map_err(|error| error.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// The tag of the image a layout's manifest.json names.
fn layout_tag(layout: &Path) -> String {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("manifest.json")).unwrap()).unwrap();
    manifest[0]["RepoTags"][0]
        .as_str()
        .expect("manifest.json names a tag")
        .to_string()
}

/// `docker load` of an archive: its wall time.
fn docker_load(archive: &LoadArchive) -> Duration {
    let start = Instant::now();
    let mut load = Command::new("docker")
        .args(["load", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker runs");
    load.stdin
        .take()
        .unwrap()
        .write_all(&archive.tar)
        .expect("docker load reads its archive");
    let output = load.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "docker load: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    start.elapsed()
}

/// For each image: the archive `docker load` is sent when the engine has no image, when it
/// has release 1 (the archive of release 2), and when it has the same image. Release 1 and
/// then release 2's archive are loaded into the real engine, so that the layers compared
/// are the engine's own and the partial archive is seen to load; both are removed after,
/// unless the engine had them before. docker load's time depends on the layers the engine
/// already had (from other images), which it never opens: those are counted too.
fn docker_load_benchmark(built: &Path, next: &Path) {
    if let Err(error) = docker(&["version", "--format", "{{.Server.Version}}"]) {
        println!("  docker load: left out, the Docker engine does not answer: {error}");
        return;
    }
    println!(
        "  docker load archives (distribution::docker_load::load_archive): layers sent of all, their bytes; the archive's bytes"
    );
    let cell = |archive: &LoadArchive| {
        format!(
            "{} of {}, {}; {}",
            archive.layers_sent,
            archive.layers_sent + archive.layers_present,
            bytes_text(archive.layer_bytes_sent),
            bytes_text(archive.tar.len() as u64)
        )
    };
    for image in PACKAGE_IMAGES {
        let (layout, later) = (built.join(image), next.join(image));
        let (tag, later_tag) = (layout_tag(&layout), layout_tag(&later));
        let had = |tag: &str| docker(&["image", "inspect", "--format", "{{.Id}}", tag]).is_ok();
        let (had_tag, had_later_tag) = (had(&tag), had(&later_tag));
        let engine_before = Command::new("sh")
            .arg("-c")
            .arg(HOST_LAYERS_SCRIPT)
            .output()
            .expect("sh runs");
        let engine_before = String::from_utf8_lossy(&engine_before.stdout).into_owned();
        let already = load_archive(&layout, &engine_before)
            .expect("an archive")
            .layers_present;
        let whole = load_archive(&layout, "").expect("an archive");
        let whole_load = (!had_tag).then(|| docker_load(&whole));
        let engine_layers = docker(&[
            "image",
            "inspect",
            "--format",
            "{{join .RootFS.Layers \" \"}}",
            &tag,
        ])
        .expect("the engine has release 1");
        let partial = load_archive(&later, &engine_layers).expect("an archive");
        let partial_load = (!had(&later_tag)).then(|| docker_load(&partial));
        assert!(had(&later_tag), "release 2 of {image} loaded");
        let same = load_archive(&layout, &engine_layers).expect("an archive");
        let mut loaded = Vec::new();
        if !had_tag {
            loaded.push(&tag);
        }
        if !had_later_tag && later_tag != tag {
            loaded.push(&later_tag);
        }
        for tag in loaded {
            if let Err(error) = docker(&["image", "rm", tag]) {
                println!("  (could not remove {tag}: {error})");
            }
        }
        let loaded_in = |load: Option<Duration>| match load {
            Some(elapsed) => format!("loaded in {:.2} s", elapsed.as_secs_f64()),
            None => "the engine had it".to_string(),
        };
        println!(
            "  {image:<10} engine without it:          {} (this engine had {already} of the layers: {})",
            cell(&whole),
            loaded_in(whole_load)
        );
        println!(
            "  {:<10} engine with release 1:      {} ({}{})",
            "",
            cell(&partial),
            if later_tag == tag {
                "release 2 is the same image: ".to_string()
            } else {
                "release 2's archive: ".to_string()
            },
            loaded_in(partial_load)
        );
        println!("  {:<10} engine with the same image: {}", "", cell(&same));
    }
}
