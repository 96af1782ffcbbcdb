//! Images and containers against the real Docker engine, with a base image the tests make
//! themselves (busybox, imported): nothing is pulled.

use std::process::Command;

use crate::support::app_cluster::{AppCluster, names, ran_besides_checks};
use crate::support::busybox_image::{
    BusyboxImage, Containers, WEB_MODULE, add_web_module, stopping_on_term,
};
use crate::support::download_server::DownloadServer;

const BASE_IMAGE: &str = "cairn-test/base:1";

/// A base image from Debian's static busybox, imported once.
fn ensure_base_image() {
    BusyboxImage {
        applets: &["sh", "httpd", "cat", "sleep"],
        ..BusyboxImage::default()
    }
    .ensure(BASE_IMAGE);
}

fn docker(arguments: &[&str]) -> String {
    let output = Command::new("docker")
        .args(arguments)
        .output()
        .expect("docker runs");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn web_cluster(hosts: &[&str]) -> (AppCluster, u16) {
    ensure_base_image();
    let cluster = AppCluster::local(hosts);
    let port = crate::support::free_ports::free_ports("127.0.0.1", hosts.len());
    add_web_module(&cluster.sandbox, WEB_MODULE, port);
    (cluster, port)
}

fn get(port: u16) -> String {
    let output = Command::new("curl")
        .args(["-s", &format!("http://127.0.0.1:{port}/index.html")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn an_image_is_built_once_and_its_containers_run_converge_and_are_replaced_when_they_change() {
    let hosts = ["dockone", "docktwo"];
    let (cluster, port) = web_cluster(&hosts);
    let _cleanup = Containers(hosts.iter().map(|host| format!("{host}-web")).collect());
    // The hosts are replaced one at a time, each after it stays healthy for its policy's
    // seconds (five by default): this test is about what is replaced, `rollout_apply.rs`'s
    // about how fast.
    cluster.sandbox.edit("cluster.toml", |text| {
        format!("{text}\n[rollouts.web]\nmin_healthy_seconds = 0\n")
    });
    cluster.compile();

    let (outcome, report) = cluster.apply();
    outcome.success();
    // Built now, or found built (same definition, same id, same tag) by another test.
    let mut image = names(&report, "cluster", "ran");
    image.extend(names(&report, "cluster", "skipped"));
    assert_eq!(image, ["image:web"]);
    for host in hosts {
        assert!(ran_besides_checks(&report, host).contains(&"container:web".to_string()));
        assert!(ran_besides_checks(&report, host).contains(&"health:web-http".to_string()));
    }
    assert_eq!(get(port), "hello from dockone\n");
    assert_eq!(get(port + 1), "hello from docktwo\n");
    let first_container = docker(&["inspect", "--format", "{{.Id}}", "dockone-web"]);

    // Nothing changed: nothing but the checks runs, the image is not rebuilt.
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(names(&report, "cluster", "skipped"), ["image:web"]);
    for host in hosts {
        assert_eq!(ran_besides_checks(&report, host), Vec::<String>::new());
    }

    // The page changes: the file is rewritten and the container that serves it replaced.
    cluster
        .sandbox
        .replace("modules/web/module.toml", "hello from", "greetings from");
    cluster.compile();
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(
        ran_besides_checks(&report, "dockone"),
        [
            "file:/srv/web/index.html",
            "container:web",
            "health:web-http"
        ]
    );
    assert_eq!(
        names(&report, "cluster", "skipped"),
        ["image:web"],
        "the image did not change"
    );
    assert_ne!(
        docker(&["inspect", "--format", "{{.Id}}", "dockone-web"]),
        first_container
    );
    assert_eq!(get(port), "greetings from dockone\n");
}

#[test]
fn a_removed_container_is_drift_and_a_container_no_longer_in_the_lockfile_is_removed() {
    let hosts = ["driftone"];
    let (cluster, port) = web_cluster(&hosts);
    let _cleanup = Containers(vec!["driftone-web".to_string()]);
    cluster.compile();
    cluster.apply().0.success();

    docker(&["rm", "--force", "driftone-web"]);
    let plan = cluster.plan();
    let container = plan["hosts"]["driftone"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["name"] == "driftone:container:web")
        .unwrap()
        .clone();
    assert_eq!(container["reason"], "drifted: the container is gone");
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(
        ran_besides_checks(&report, "driftone"),
        ["container:web", "health:web-http"]
    );
    assert_eq!(get(port), "hello from driftone\n");

    cluster.sandbox.edit("modules/web/module.toml", |text| {
        let cut = text.find("[[node]]\nkind = \"container\"").unwrap();
        text[..cut].to_string()
    });
    cluster.compile();
    let (outcome, report) = cluster.apply();
    outcome.success();
    // In removal order: what runs goes before what it runs from.
    assert_eq!(
        names(&report, "driftone", "orphans_removed"),
        ["health:web-http", "container:web"]
    );
    assert_eq!(
        docker(&["ps", "--all", "--quiet", "--filter", "name=^driftone-web$"]),
        ""
    );
}

/// An image taking three downloads: a zip unpacked into a folder, a gzip'd tar unpacked with
/// its top folder stripped, a plain file placed with its mode.
const TOOL_MODULE: &str = r#"[module]
name = "tool"
description = "an image made of downloads"
roles = ["app"]

[settings.tool.zip_url]
type = "url"
doc = "The zip."

[settings.tool.zip_sha256]
type = "sha256"
doc = "Its checksum."

[settings.tool.tar_url]
type = "url"
doc = "The tar.gz."

[settings.tool.tar_sha256]
type = "sha256"
doc = "Its checksum."

[settings.tool.file_url]
type = "url"
doc = "The plain file."

[settings.tool.file_sha256]
type = "sha256"
doc = "Its checksum."

[[image]]
name = "tool"
base = "cairn-test/base:1"
artifacts = [
    { url = "{{ tool.zip_url }}", sha256 = "{{ tool.zip_sha256 }}", path = "/opt/tool", unpack = true },
    { url = "{{ tool.tar_url }}", sha256 = "{{ tool.tar_sha256 }}", path = "/srv/site", unpack = true, strip_components = 1 },
    { url = "{{ tool.file_url }}", sha256 = "{{ tool.file_sha256 }}", path = "/usr/local/bin/greet", mode = "0755" },
]
files = [{ path = "/usr/local/bin/run", template = "run.sh", mode = "0755" }]
entrypoint = ["/usr/local/bin/run"]

[[node]]
kind = "container"
name = "tool"
image = "tool"
"#;

/// The downloads of [`TOOL_MODULE`], made by the test and served on loopback.
fn serve_downloads() -> DownloadServer {
    let folder = tempfile::tempdir().unwrap();
    let mut zip =
        zip::ZipWriter::new(std::fs::File::create(folder.path().join("tool.zip")).unwrap());
    let executable = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bin/tool", executable).unwrap();
    std::io::Write::write_all(&mut zip, b"#!/bin/sh\necho tool from the zip\n").unwrap();
    zip.finish().unwrap();

    let gzip = flate2::write::GzEncoder::new(
        std::fs::File::create(folder.path().join("site-1.0.tar.gz")).unwrap(),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gzip);
    for (path, text) in [
        ("site-1.0/index.html", "site from the tarball\n"),
        ("site-1.0/docs/readme.txt", "nested\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1);
        header.set_cksum();
        tar.append_data(&mut header, path, text.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();

    std::fs::write(
        folder.path().join("greet"),
        "#!/bin/sh\necho greetings from a plain download\n",
    )
    .unwrap();
    DownloadServer::serve(folder, "greet")
}

/// The spec's `[tool]` section: each download's URL and checksum.
fn tool_settings(downloads: &DownloadServer) -> String {
    format!(
        "\n[tool]\nzip_url = \"{}\"\nzip_sha256 = \"{}\"\ntar_url = \"{}\"\ntar_sha256 = \"{}\"\nfile_url = \"{}\"\nfile_sha256 = \"{}\"\n",
        downloads.url("tool.zip"),
        downloads.sha256("tool.zip"),
        downloads.url("site-1.0.tar.gz"),
        downloads.sha256("site-1.0.tar.gz"),
        downloads.url("greet"),
        downloads.sha256("greet"),
    )
}

/// Waits up to 10 s for `condition`.
fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within 10 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `cairn apply` with the sandbox's own artifact store.
fn apply_with_store(cluster: &AppCluster, store: &std::path::Path) -> crate::support::Outcome {
    crate::support::cairn()
        .current_dir(cluster.sandbox.path())
        .env("CAIRN_STORE", &store.display().to_string())
        .args(["apply", "cluster.lock", "--json"])
        .run()
}

#[test]
fn an_image_takes_pinned_downloads_unpacked_and_placed_and_builds_again_from_the_store() {
    ensure_base_image();
    let mut downloads = serve_downloads();
    let cluster = AppCluster::local(&["artifacts"]);
    let _cleanup = Containers(vec!["artifacts-tool".to_string()]);
    let store = cluster.sandbox.path().join("store");
    let run_script = |greeting: &str| {
        format!(
            "#!/bin/sh\n# {greeting}\n/usr/local/bin/greet; /opt/tool/bin/tool; cat /srv/site/index.html /srv/site/docs/readme.txt\n{}",
            stopping_on_term("sleep 600")
        )
    };
    cluster
        .sandbox
        .write("modules/tool/module.toml", TOOL_MODULE)
        .write("modules/tool/run.sh", &run_script("first"));
    cluster.sandbox.edit("cluster.toml", |text| {
        format!("{text}{}", tool_settings(&downloads))
    });
    cluster.compile();

    let dockerfile = cluster.sandbox.read("cluster.lock");
    assert!(
        dockerfile.contains(&format!(
            "COPY artifacts/{}/ /opt/tool/",
            downloads.sha256("tool.zip")
        )),
        "the Dockerfile copies the unpacked zip from the build context"
    );
    apply_with_store(&cluster, &store).success();
    let logs = || {
        eventually("the tool container prints what its downloads hold", || {
            docker(&["logs", "artifacts-tool"]).contains("nested")
        });
        docker(&["logs", "artifacts-tool"])
    };
    assert_eq!(
        logs(),
        "greetings from a plain download\ntool from the zip\nsite from the tarball\nnested"
    );
    // Each download is in the store under its checksum, the bytes it was pinned by.
    for name in ["tool.zip", "site-1.0.tar.gz", "greet"] {
        assert_eq!(
            std::fs::read(store.join("sha256").join(downloads.sha256(name))).unwrap(),
            std::fs::read(downloads.folder.path().join(name)).unwrap(),
            "{name} is stored under its sha256"
        );
    }

    // A new top layer (the run script) builds a new image, its downloads from the store:
    // the server is gone.
    downloads.stop();
    cluster
        .sandbox
        .write("modules/tool/run.sh", &run_script("second"));
    cluster.compile();
    apply_with_store(&cluster, &store).success();
    assert!(
        docker(&["inspect", "--format", "{{.Config.Image}}", "artifacts-tool"])
            .starts_with("cairn/tool:"),
    );
    assert!(logs().ends_with("nested"));
}

#[test]
fn a_download_whose_bytes_are_not_the_pinned_ones_fails_the_image_and_is_not_kept() {
    ensure_base_image();
    let downloads = serve_downloads();
    let cluster = AppCluster::local(&["mismatch"]);
    let _cleanup = Containers(vec!["mismatch-tool".to_string()]);
    let store = cluster.sandbox.path().join("store");
    let wrong = "0".repeat(64);
    cluster
        .sandbox
        .write("modules/tool/module.toml", TOOL_MODULE)
        .write(
            "modules/tool/run.sh",
            &format!("#!/bin/sh\n{}", stopping_on_term("sleep 600")),
        );
    cluster.sandbox.edit("cluster.toml", |text| {
        format!("{text}{}", tool_settings(&downloads)).replace(&downloads.sha256("greet"), &wrong)
    });
    cluster.compile();

    let outcome = apply_with_store(&cluster, &store).code(1);
    assert!(
        outcome.stdout.contains(&downloads.url("greet"))
            && outcome.stdout.contains(&downloads.sha256("greet"))
            && outcome.stdout.contains(&wrong),
        "the failure names the URL, the checksum found and the one pinned:\n{}",
        outcome.stdout
    );
    assert!(!store.join("sha256").join(&wrong).exists());
    assert!(
        !store
            .join("sha256")
            .join(downloads.sha256("greet"))
            .exists()
    );
}
