//! `cairn build`: images made by cairn itself, with no Docker daemon and no RUN step. Built
//! twice, in two folders with two artifact stores, an image is the same bytes; the layout
//! loads into the real Docker engine (`docker load`) and runs. A change of the module's
//! files changes the top layer alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::support::download_server::DownloadServer;
use crate::support::{Sandbox, cairn, run_successfully};

const BOX_MODULE: &str = r#"[module]
name = "box"
description = "an image from downloads and files alone"
roles = ["app"]

[settings.box.busybox_url]
type = "url"
doc = "A static busybox."

[settings.box.busybox_sha256]
type = "sha256"
doc = "Its checksum."

[settings.box.site_url]
type = "url"
doc = "A tarball of the site, its files under `site/`."

[settings.box.site_sha256]
type = "sha256"
doc = "Its checksum."

[[image]]
name = "box"
base = "scratch"
artifacts = [
    { url = "{{ box.busybox_url }}", sha256 = "{{ box.busybox_sha256 }}", path = "/bin/busybox", mode = "0755" },
    { url = "{{ box.site_url }}", sha256 = "{{ box.site_sha256 }}", path = "/srv/site", unpack = true, strip_components = 1 },
]
files = [{ path = "/usr/local/bin/run", template = "run.sh", mode = "0755" }]
env = { GREETING = "hello from a cairn-built image" }
ports = ["8080/tcp", "8443/tcp", "9000/udp"]
volumes = ["/data", "/cache"]
entrypoint = ["/usr/local/bin/run"]
healthcheck = { command = ["/bin/busybox", "test", "-s", "/srv/site/index.html"], interval_seconds = 7, retries = 2 }
"#;

const RUN_SCRIPT: &str =
    "#!/bin/busybox sh\n/bin/busybox echo \"$GREETING\"\n/bin/busybox cat /srv/site/index.html\n";

/// The downloads, made here and served on loopback.
fn serve_downloads() -> DownloadServer {
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy("/bin/busybox", folder.path().join("busybox"))
        .expect("/bin/busybox (Debian's busybox-static; .ci/run installs it)");
    let gzip = flate2::write::GzEncoder::new(
        std::fs::File::create(folder.path().join("site.tar.gz")).unwrap(),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gzip);
    // `docs/` is not a member: the folder is made by the unpacking.
    for (path, text) in [
        ("site/index.html", "the site, unpacked from its tarball\n"),
        (
            "site/docs/readme.txt",
            "nested, in a folder the archive does not list\n",
        ),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        tar.append_data(&mut header, path, text.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    DownloadServer::serve(folder, "busybox")
}

/// The spec's `[box]` section: each download's URL and checksum.
fn box_settings(downloads: &DownloadServer) -> String {
    format!(
        "\n[box]\nbusybox_url = \"{}\"\nbusybox_sha256 = \"{}\"\n\
         site_url = \"{}\"\nsite_sha256 = \"{}\"\n",
        downloads.url("busybox"),
        downloads.sha256("busybox"),
        downloads.url("site.tar.gz"),
        downloads.sha256("site.tar.gz"),
    )
}

fn box_sandbox(downloads: &DownloadServer) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .write("secrets/fingerprint.key", "builder-fingerprint-key\n")
        .write("modules/box/module.toml", BOX_MODULE)
        .write("modules/box/run.sh", RUN_SCRIPT)
        .write(
            "cluster.toml",
            &format!(
                "[cluster]\nname = \"built\"\ndomain = \"built.example\"\nmodules = [\"modules\"]\n\
                 exclude_modules = [\"host-base\", \"preflight\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\
                 fingerprint_key = {{ file = \"secrets/fingerprint.key\" }}\n\n\
                 [hosts.node1]\naddress = \"127.0.0.1\"\ntransport = \"local\"\nroot = \"sandbox/node1\"\nroles = [\"app\"]\n{}",
                box_settings(downloads)
            ),
        );
    sandbox.compile().success();
    sandbox
}

/// `cairn build` into `output` with the artifact store `store`; what it printed.
fn build(sandbox: &Sandbox, output: &str, store: &str, extra: &[&str]) -> String {
    build_with_umask(sandbox, output, store, extra, "0022")
}

/// [`build`] with the process's umask set to `umask`.
fn build_with_umask(
    sandbox: &Sandbox,
    output: &str,
    store: &str,
    extra: &[&str],
    umask: &str,
) -> String {
    let mut arguments = vec![
        "-c".to_string(),
        format!("umask {umask} && exec \"$0\" \"$@\""),
        env!("CARGO_BIN_EXE_cairn").to_string(),
        "build".to_string(),
        "cluster.lock".to_string(),
        "--output".to_string(),
        output.to_string(),
    ];
    arguments.extend(extra.iter().map(|argument| argument.to_string()));
    let output = run_successfully(
        Command::new("sh")
            .current_dir(sandbox.path())
            .env("CAIRN_STORE", sandbox.path().join(store))
            .args(&arguments),
        "cairn build",
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every file under `folder`, by relative path, with its bytes.
fn tree(folder: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![folder.to_path_buf()];
    while let Some(current) = stack.pop() {
        for item in std::fs::read_dir(&current).unwrap() {
            let path = item.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(folder).unwrap().display().to_string();
                files.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn manifest_digest(report: &str) -> String {
    report
        .split_whitespace()
        .find(|word| word.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("no digest in {report}"))
        .trim_end_matches(',')
        .to_string()
}

/// The layers a layout's Docker manifest lists, bottom first.
fn layers(layout: &Path) -> Vec<String> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("manifest.json")).unwrap()).unwrap();
    manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| layer.as_str().unwrap().to_string())
        .collect()
}

/// Runs the image `tag` once (`docker run --rm`), then removes it: what the run printed
/// on stdout and on stderr.
fn run_once_then_remove(tag: &str) -> (String, String) {
    let run = Command::new("docker")
        .args(["run", "--rm", tag])
        .output()
        .unwrap();
    let _ = Command::new("docker")
        .args(["image", "rm", "--force", tag])
        .output();
    (
        String::from_utf8_lossy(&run.stdout).into_owned(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

#[test]
fn an_image_built_twice_in_two_folders_is_the_same_bytes_and_runs_in_docker() {
    let downloads = serve_downloads();
    let sandbox = box_sandbox(&downloads);
    // Two folders, two stores, two umasks (folders an archive does not list are made by
    // the unpacking: their mode must not be the umask's).
    let first = build_with_umask(&sandbox, "one", "store-one", &[], "0022");
    let second = build_with_umask(&sandbox, "two", "store-two", &[], "0002");
    assert_eq!(manifest_digest(&first), manifest_digest(&second));
    // Built again, unchanged: no work, the same image named.
    let again = build(&sandbox, "one", "store-one", &[]);
    assert!(again.starts_with("unchanged box"), "{again}");
    assert_eq!(manifest_digest(&again), manifest_digest(&first));
    let (one, two) = (
        tree(&sandbox.path().join("one/box")),
        tree(&sandbox.path().join("two/box")),
    );
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );
    assert!(
        one == two,
        "every file of the two layouts is the same bytes"
    );
    for required in ["oci-layout", "index.json", "manifest.json"] {
        assert!(one.contains_key(required), "the layout has {required}");
    }

    // zstd on request: other bytes, as reproducible.
    let zstd_one = build(
        &sandbox,
        "zstd-one",
        "store-one",
        &["--compression", "zstd"],
    );
    let zstd_two = build(
        &sandbox,
        "zstd-two",
        "store-two",
        &["--compression", "zstd", "--level", "3"],
    );
    assert_eq!(manifest_digest(&zstd_one), manifest_digest(&zstd_two));
    assert_ne!(manifest_digest(&zstd_one), manifest_digest(&first));

    // The real engine loads the layout and runs it.
    let loaded = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C '{}' -c . | docker load",
            sandbox.path().join("one/box").display()
        ))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&loaded.stdout).into_owned();
    assert!(
        loaded.status.success(),
        "docker load: {said}{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let tag = said
        .trim()
        .strip_prefix("Loaded image: ")
        .unwrap_or_else(|| panic!("docker load said {said}"))
        .to_string();
    assert!(tag.starts_with("cairn/box:"), "{tag}");
    // The rendered Dockerfile says the same, for `docker build`.
    assert!(sandbox.read("cluster.lock").contains(
        "HEALTHCHECK --interval=7s --timeout=5s --start-period=0s --retries=2 CMD [\"/bin/busybox\", \"test\", \"-s\", \"/srv/site/index.html\"]\n"
    ));
    // Docker reads the health check and the platform from the image config cairn wrote.
    let inspected = Command::new("docker")
        .args([
            "image",
            "inspect",
            "--format",
            "{{json .Config.Healthcheck}} {{.Architecture}}",
            &tag,
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&inspected.stdout).trim(),
        r#"{"Test":["CMD","/bin/busybox","test","-s","/srv/site/index.html"],"Interval":7000000000,"Timeout":5000000000,"Retries":2} amd64"#
    );
    let (stdout, stderr) = run_once_then_remove(&tag);
    assert_eq!(
        stdout, "hello from a cairn-built image\nthe site, unpacked from its tarball\n",
        "{stderr}"
    );
}

#[test]
fn a_change_of_the_modules_files_changes_the_top_layer_alone() {
    let downloads = serve_downloads();
    let sandbox = box_sandbox(&downloads);
    build(&sandbox, "before", "store", &[]);
    sandbox.write("modules/box/run.sh", &format!("{RUN_SCRIPT}# edited\n"));
    sandbox.compile().success();
    build(&sandbox, "after", "store", &[]);
    let before = layers(&sandbox.path().join("before/box"));
    let after = layers(&sandbox.path().join("after/box"));
    assert_eq!(before.len(), 3, "busybox, the site, the module's files");
    assert_eq!(
        before[..2],
        after[..2],
        "the downloads' layers are unchanged"
    );
    assert_ne!(before[2], after[2], "the top layer holds the edited script");
}

#[test]
fn an_image_whose_packages_are_not_pinned_is_refused_by_the_builder_with_the_fix() {
    let sandbox = Sandbox::with_example("quickstart");
    // The quick-start without `[packages] sources`: its images' packages are not pinned.
    sandbox.edit("cluster.toml", |spec| {
        let start = spec
            .find("[packages]")
            .expect("the quick-start pins its images");
        spec[..start].to_string()
    });
    sandbox.compile().success();
    cairn()
        .current_dir(sandbox.path())
        .env(
            "CAIRN_STORE",
            &sandbox.path().join("store").display().to_string(),
        )
        .args([
            "build",
            "cluster.lock",
            "--image",
            "haproxy",
            "--output",
            "images",
        ])
        .run()
        .code(1)
        .stderr_has("image `haproxy` installs packages that are not pinned, from the base `debian:bookworm-slim`")
        .stderr_has("name the package sources in `sources` of [packages]");
    sandbox
        .cairn(&["build", "cluster.lock", "--image", "nginx"])
        .code(2)
        .stderr_has("the lockfile has no image `nginx`");
}

/// Debian's docker-registry on loopback, its storage in a folder of its own; stopped when
/// dropped.
pub(crate) struct Registry {
    _folder: tempfile::TempDir,
    server: std::process::Child,
    pub(crate) address: String,
}

impl Registry {
    pub(crate) fn start() -> Self {
        let folder = tempfile::tempdir().unwrap();
        let port = crate::support::free_ports::free_port("127.0.0.1");
        let address = format!("127.0.0.1:{port}");
        let config = folder.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
                folder.path().join("data").display()
            ),
        )
        .unwrap();
        let server = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry (Debian's; .ci/run installs it)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !Command::new("curl")
            .args(["-sf", "-o", "/dev/null", &format!("http://{address}/v2/")])
            .status()
            .is_ok_and(|status| status.success())
        {
            assert!(
                std::time::Instant::now() < deadline,
                "docker-registry answers"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Self {
            _folder: folder,
            server,
            address,
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

#[test]
fn a_pushed_image_is_pulled_by_digest_and_a_second_push_sends_no_blob() {
    let downloads = serve_downloads();
    let registry = Registry::start();
    let sandbox = box_sandbox(&downloads);
    let first = build(&sandbox, "images", "store", &["--push", &registry.address]);
    let pushed_line = first
        .lines()
        .find(|line| line.starts_with("pushed box as "))
        .unwrap_or_else(|| panic!("no push in {first}"));
    // The config and three layers: busybox, the site, the module's files.
    assert!(pushed_line.contains(": 4 blobs sent"), "{pushed_line}");
    assert!(pushed_line.ends_with(", 0 already there"), "{pushed_line}");
    let pullable = pushed_line
        .strip_prefix("pushed box as ")
        .unwrap()
        .split(": ")
        .next()
        .unwrap()
        .to_string();
    assert!(
        pullable.starts_with(&format!("{}/cairn/box@sha256:", registry.address)),
        "{pullable}"
    );

    run_successfully(
        Command::new("docker").args(["pull", &pullable]),
        &format!("docker pull {pullable}"),
    );
    let (stdout, stderr) = run_once_then_remove(&pullable);
    assert_eq!(
        stdout, "hello from a cairn-built image\nthe site, unpacked from its tarball\n",
        "{stderr}"
    );

    let second = build(&sandbox, "images", "store", &["--push", &registry.address]);
    assert!(second.starts_with("unchanged box"), "{second}");
    assert!(
        second.contains(": 0 blobs sent (0 bytes), 4 already there"),
        "a second push sends no blob:\n{second}"
    );
}

#[test]
fn fetch_downloads_each_pinned_artifact_once_and_names_the_image_of_one_whose_bytes_differ() {
    let downloads = serve_downloads();
    let sandbox = box_sandbox(&downloads);
    let fetch = || {
        cairn()
            .current_dir(sandbox.path())
            .env(
                "CAIRN_STORE",
                &sandbox.path().join("store").display().to_string(),
            )
            .args(["fetch", "cluster.lock"])
            .run()
    };
    let first = fetch().success();
    assert!(
        first
            .stdout
            .starts_with("2 pinned downloads: 2 downloaded (")
            && first.stdout.contains("0 already in the store, 0 failed"),
        "{}",
        first.stdout
    );
    let second = fetch().success();
    assert!(
        second
            .stdout
            .starts_with("2 pinned downloads: 0 downloaded (0 bytes), 2 already in the store"),
        "{}",
        second.stdout
    );

    // The site's tarball changes upstream; a fresh store gets other bytes than pinned.
    std::fs::write(downloads.folder.path().join("site.tar.gz"), "other bytes").unwrap();
    std::fs::remove_dir_all(sandbox.path().join("store")).unwrap();
    fetch()
        .code(1)
        .stderr_has("site.tar.gz is not the pinned artifact")
        .stderr_has("(pinned by image box)");
}

#[test]
fn the_lockfile_records_each_images_compression_and_the_builder_follows_it() {
    let downloads = serve_downloads();
    let sandbox = box_sandbox(&downloads);
    let lock = sandbox.read("cluster.lock");
    assert!(
        lock.contains("compression = \"gzip\"\ncompression_level = 6\n"),
        "gzip 6 unless the spec says otherwise"
    );
    sandbox.edit("cluster.toml", |spec| {
        format!("{spec}\n[images]\ncompression = \"zstd\"\ncompression_level = 5\n")
    });
    sandbox.compile().success();
    assert!(
        sandbox
            .read("cluster.lock")
            .contains("compression = \"zstd\"\ncompression_level = 5\n")
    );
    build(&sandbox, "recorded", "store", &[]);
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(sandbox.path().join("recorded/box/index.json")).unwrap(),
    )
    .unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            sandbox
                .path()
                .join("recorded/box/blobs/sha256")
                .join(manifest_digest.trim_start_matches("sha256:")),
        )
        .unwrap(),
    )
    .unwrap();
    for layer in manifest["layers"].as_array().unwrap() {
        assert_eq!(
            layer["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd",
            "{layer}"
        );
    }

    // A level the compressor does not take is refused where the spec gives it.
    sandbox.edit("cluster.toml", |spec| {
        spec.replace(
            "compression = \"zstd\"\ncompression_level = 5",
            "compression = \"gzip\"\ncompression_level = 12",
        )
    });
    let line = sandbox
        .read("cluster.toml")
        .lines()
        .position(|line| line.starts_with("compression_level"))
        .unwrap()
        + 1;
    sandbox
        .compile()
        .code(2)
        .stderr_has("`compression_level` in [images]: gzip's level is 0 to 9, not 12")
        .stderr_has(&format!("--> cluster.toml:{line}:21"));
}
