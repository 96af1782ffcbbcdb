//! Image builder benchmark. Run with `cargo bench --bench build`; the figures and the
//! machine they came from are kept in bench/README.md.
//!
//! 1. Layer writing: cairn's layer writer (sorted, fixed headers) on a tree of this
//!    machine (`CAIRN_BENCH_TREE`, default /usr/share/doc), gzip level 6 and zstd level 3,
//!    against `tar --sort=name ... | gzip -6` and `tar ... | zstd -3` on the same tree in the
//!    same run: wall time and throughput in MB/s of tar.
//! 2. `cairn build` of an image made of one large artifact (a tarball of the tree, served
//!    on loopback) and a file: with a cold store (the download counted), a warm store into
//!    a new folder, and again unchanged (no work).
//!
//! Best of `CAIRN_BENCH_RUNS` (default 3) for each.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cairn_executor::image_builder::layer::{Compression, Layer};

fn main() {
    let runs: usize = std::env::var("CAIRN_BENCH_RUNS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(3);
    let tree = std::env::var("CAIRN_BENCH_TREE").unwrap_or_else(|_| "/usr/share/doc".into());
    let tree = Path::new(&tree);
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
        ("cairn layer, gzip 6", Compression::Gzip { level: 6 }),
        ("cairn layer, zstd 3", Compression::Zstd { level: 3 }),
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

    build_benchmark(runs, tree);
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
    let sha256 = {
        use sha2::Digest;
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    };
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
