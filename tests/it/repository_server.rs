//! The repository-server module run for real: cairn applies the control host's nginx.conf
//! into its sandbox, and nginx (this machine's nginx-light, from Debian) starts in the
//! control host's network namespace on exactly what cairn rendered: the image's entrypoint,
//! the container's volumes. Until a repository is exported to the folder the spec names,
//! nginx answers and the module's health probe fails; once the test exports one (its own
//! package, in Debian's `dists/` and `pool/` layout), apt on this machine, with a
//! configuration of its own (nothing of the machine's apt state changes), must refresh its
//! lists from it and download the package byte for byte. The entrypoint must refuse a
//! config nginx rejects. And the compiled graph: where a cluster has a control host, the
//! other hosts' packages wait for its repository, without a cycle on the control host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::Sandbox;
use crate::support::namespace_container::{NamespaceContainer, run_in, wait_for};
use crate::support::network_namespaces::{NetworkHost, PrivateNetwork};
use crate::support::private_apt::{PrivateApt, unsigned_source};
use crate::support::systemd_host::{TestPackage, build_package, index_repository};

/// The folder the spec gives the repository, on the control host (under its sandbox).
const REPOSITORY_PATH: &str = "/srv/offline/debian";
/// The module's default port, which the spec leaves as it is.
const PORT: u16 = 8080;
const SUITE: &str = "bookworm";
const PACKAGE: &str = "cairn-repository-probe";
const VERSION: &str = "1.0";

/// The spec: `control` at its namespace's address, a sandbox reached locally, its
/// repository in `REPOSITORY_PATH`.
fn spec(sandbox: &Sandbox, network_host: &NetworkHost) -> String {
    format!(
        "[cluster]\nname = \"offline\"\ndomain = \"offline.example\"\n\
         exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\n\
         [hosts.control]\naddress = \"{address}\"\ntransport = \"local\"\n\
         root = \"{root}\"\nroles = [\"control\"]\n\n\
         [preflight]\nfilesystem_paths = []\nmin_free_disk = {{ \"/\" = \"1MiB\" }}\n\n\
         [repository_server]\npath = \"{REPOSITORY_PATH}\"\n",
        address = network_host.address,
        root = control_root(sandbox).display(),
    )
}

fn control_root(sandbox: &Sandbox) -> PathBuf {
    sandbox.path().join("hosts/control")
}

/// The control host's repository container, started in `network_host`'s namespace.
fn repository_container(
    nodes: &serde_json::Value,
    root: &Path,
    network_host: &NetworkHost,
) -> NamespaceContainer {
    NamespaceContainer::start(
        nodes,
        "control",
        "repository",
        root,
        network_host,
        &BTreeMap::new(),
    )
}

/// A sandbox of [`spec`] whose files are written on the control host: the sandbox, its
/// nodes as `cairn show --json` gives them, and the control host's root.
fn files_applied(network_host: &NetworkHost) -> (Sandbox, serde_json::Value, PathBuf) {
    let sandbox = Sandbox::new();
    sandbox.write("cluster.toml", &spec(&sandbox, network_host));
    sandbox.apply_files();
    let nodes = sandbox.show_json();
    let root = control_root(&sandbox);
    (sandbox, nodes, root)
}

/// Exports the test's repository to `folder` as Debian lays one out: the package in
/// `pool/main/`, its index in `dists/<suite>/main/binary-amd64/` (the architecture the
/// test's [`PrivateApt`] asks for), the suite's `Release` (unsigned, as the test's apt
/// source says). Returns the package's path.
fn export_repository(folder: &Path, work: &Path) -> PathBuf {
    let pool = folder.join("pool/main/c").join(PACKAGE);
    std::fs::create_dir_all(&pool).expect("the pool");
    let package = build_package(
        work,
        &pool,
        &TestPackage {
            name: PACKAGE,
            version: VERSION,
            files: vec![(
                "/usr/share/cairn-repository-probe/served",
                "served by the control host's repository\n".to_string(),
                0o644,
            )],
        },
    );
    index_repository(
        folder,
        "pool",
        &format!("dists/{SUITE}/main/binary-amd64/Packages"),
        &format!("dists/{SUITE}/Release"),
        &format!(
            "Origin: cairn-test\nLabel: cairn-test\nSuite: {SUITE}\nCodename: {SUITE}\n\
             Date: Thu, 01 Jan 2026 00:00:00 UTC\nComponents: main\nArchitectures: amd64\n"
        ),
    );
    package
}

/// The HTTP status `url` answers with, asked from inside `network_host` (where the
/// module's health probe asks it), or `None` when nothing answers.
fn status_in(network_host: &NetworkHost, url: &str) -> Option<u16> {
    let (_, status) = run_in(
        network_host,
        "curl",
        &[
            "--silent",
            "--max-time",
            "5",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code}",
            url,
        ],
    );
    status.trim().parse().ok().filter(|status| *status != 0)
}

/// The response headers of `url`, asked from this machine, lowercased.
fn headers(url: &str) -> String {
    let output = Command::new("curl")
        .args(["--silent", "--max-time", "5", "--head", url])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&output.stdout).to_lowercase()
}

/// The container node's health URL, as the lockfile has it.
fn health_url(nodes: &serde_json::Value) -> String {
    nodes
        .as_array()
        .expect("an array of nodes")
        .iter()
        .find(|node| node["name"] == "control:health:repository-http")
        .expect("the control host's repository health")["inputs"]["url"]
        .as_str()
        .expect("a URL")
        .to_string()
}

#[test]
fn apt_downloads_a_package_byte_for_byte_from_the_repository_the_control_host_serves() {
    let network = PrivateNetwork::create("repo", 1);
    let network_host = &network.hosts[0];
    let (_sandbox, nodes, root) = files_applied(network_host);
    assert!(
        root.join("etc/cairn/repository/nginx.conf").is_file(),
        "apply wrote the control host's nginx.conf"
    );

    // A fresh control host: the folder is there, the repository not yet exported to it.
    let repository = root.join(REPOSITORY_PATH.trim_start_matches('/'));
    std::fs::create_dir_all(&repository).expect("the repository's folder");
    let mut container = repository_container(&nodes, &root, network_host);
    let health = health_url(&nodes);
    let status = wait_for(
        "nginx answers",
        Duration::from_secs(30),
        &mut [&mut container],
        || status_in(network_host, &health).ok_or_else(|| format!("nothing answers {health}")),
    );
    assert_eq!(
        status, 404,
        "nginx serves, but the health probe ({health}) fails while the folder holds no \
         repository, so no host refreshes its lists from an empty one"
    );
    assert!(
        container.output().contains("has no dists/ folder"),
        "the entrypoint says the repository is missing\n{}",
        container.output()
    );

    // The repository is exported while nginx serves: it is served as it is on disk.
    let work = tempfile::tempdir().expect("a temporary folder");
    let package = export_repository(&repository, work.path());
    assert_eq!(
        status_in(network_host, &health),
        Some(200),
        "the health probe ({health}) passes once the repository is there\n{}",
        container.output()
    );
    let base_url = format!("http://{}:{PORT}", network_host.address);
    let release = headers(&format!("{base_url}/dists/{SUITE}/Release"));
    assert!(
        release.starts_with("http/1.1 200")
            && release.contains("content-type: text/plain")
            && release.contains("last-modified:")
            && !release.contains("cache-control")
            && !release.contains("expires"),
        "the suite's Release is served to other hosts as plain text, with its date and no \
         caching header\n{release}"
    );
    let package_url = format!("{base_url}/pool/main/c/{PACKAGE}/{PACKAGE}_{VERSION}_all.deb");
    let package_headers = headers(&package_url);
    assert!(
        package_headers.contains("content-type: application/vnd.debian.binary-package"),
        "a .deb is served as Debian's binary package type\n{package_headers}"
    );

    // apt on this machine, as a host of the cluster: the repository is its only source.
    let apt = PrivateApt::new(
        &work.path().join("apt"),
        &unsigned_source(&base_url, SUITE, "main"),
    );
    let update = apt
        .try_apt_get(&["--error-on=any", "update"])
        .unwrap_or_else(|error| {
            panic!(
                "apt-get update from {base_url}: {error}\n--- the container's log\n{}",
                container.output()
            )
        });
    assert!(
        update.contains(&format!("{base_url} {SUITE} Release")),
        "apt read the suite's Release from the control host\n{update}"
    );
    apt.try_apt_get(&["download", PACKAGE])
        .unwrap_or_else(|error| {
            panic!(
                "apt-get download {PACKAGE}: {error}\n--- the container's log\n{}",
                container.output()
            )
        });
    let downloaded = apt.downloads().join(format!("{PACKAGE}_{VERSION}_all.deb"));
    assert!(
        std::fs::read(&downloaded).ok() == Some(std::fs::read(&package).expect("the package")),
        "apt downloaded {} byte for byte as the test built it",
        downloaded.display()
    );

    let machine_lists: Vec<String> = std::fs::read_dir("/var/lib/apt/lists")
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.contains(&network_host.address))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        machine_lists.is_empty(),
        "the machine's own package lists know nothing of the test's repository: {machine_lists:?}"
    );

    let log = container.output();
    assert!(
        log.contains(&format!(
            "\"GET /pool/main/c/{PACKAGE}/{PACKAGE}_{VERSION}_all.deb HTTP/1.1\" 200"
        )) && log.contains("Debian APT-HTTP"),
        "nginx's access log, on the container's output, shows apt's download\n{log}"
    );
    assert!(
        container.running(),
        "nginx still serves\n{}",
        container.output()
    );
}

#[test]
fn the_entrypoint_refuses_to_start_nginx_on_a_config_nginx_rejects() {
    let network = PrivateNetwork::create("repb", 1);
    let network_host = &network.hosts[0];
    let (_sandbox, nodes, root) = files_applied(network_host);

    // The rendered config with one value nginx does not take: `autoindex` is on or off.
    let config = root.join("etc/cairn/repository/nginx.conf");
    let rendered = std::fs::read_to_string(&config).expect("the rendered nginx.conf");
    assert!(rendered.contains("autoindex on;"), "{rendered}");
    std::fs::write(&config, rendered.replace("autoindex on;", "autoindex yes;"))
        .expect("a broken copy of the config");

    let mut container = repository_container(&nodes, &root, network_host);
    let start = Instant::now();
    while container.running() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = container.output();
    assert!(
        !container.running()
            && log.contains("invalid value \"yes\"")
            && log.contains("cairn-entrypoint: nginx rejects /etc/cairn/repository/nginx.conf"),
        "the entrypoint stops on nginx's own refusal of the config\n{log}"
    );
    assert_eq!(
        status_in(network_host, &format!("http://127.0.0.1:{PORT}/")),
        None,
        "nothing serves on the port"
    );
}

/// A cluster with a control host (host-base included) and two masters.
const CLUSTER_WITH_CONTROL_HOST: &str = r#"[cluster]
name = "offline"
domain = "offline.example"
exclude_modules = ["consul", "mesos", "marathon", "cadvisor"]

[hosts.control1]
address = "10.0.0.2"
roles = ["control"]

[hosts.master1]
address = "10.0.0.11"
id = 1
roles = ["master"]

[hosts.master2]
address = "10.0.0.12"
id = 2
roles = ["master"]

[repository]
url = "http://10.0.0.2:8080"

[registry]
address = "10.0.0.2:5000"

[ntp]
servers = ["10.0.0.2"]
"#;

#[test]
fn the_other_hosts_wait_for_the_control_hosts_repository_before_installing_packages_and_it_does_not_wait_for_itself()
 {
    let sandbox = Sandbox::new();
    sandbox.write("cluster.toml", CLUSTER_WITH_CONTROL_HOST);
    sandbox.compile().success();
    let nodes = sandbox.nodes();
    let ordered_after = sandbox.ordered_after();
    let health = "control1:health:repository-http";
    for package in ["tools", "chrony", "docker"] {
        for host in ["master1", "master2"] {
            let waits = &ordered_after[&format!("{host}:package:{package}")];
            assert!(
                waits.iter().any(|dependency| dependency == health),
                "{host}'s package:{package} waits for {health} (order only): {waits:?}"
            );
        }
        let (_, deps) = &nodes[&format!("control1:package:{package}")];
        assert!(
            deps.iter()
                .all(|dependency| !dependency.contains("repository")),
            "the control host's package:{package} does not wait for its own repository, \
             whose container needs the Docker engine it installs: {deps:?}"
        );
    }
    let (_, deps) = &nodes[health];
    assert_eq!(
        deps,
        &vec![
            "control1:barrier:checks".to_string(),
            "control1:container:repository".to_string()
        ]
    );

    let show = |node: &str| -> serde_json::Value {
        sandbox
            .show_json()
            .as_array()
            .expect("an array of nodes")
            .iter()
            .find(|candidate| candidate["name"] == node)
            .unwrap_or_else(|| panic!("{node} is in the lockfile"))
            .clone()
    };
    assert_eq!(
        show(health)["inputs"]["url"],
        "http://127.0.0.1:8080/dists/bookworm/Release",
        "the probe asks for the Release of the suite the hosts' sources name"
    );
    // The control host reads the repository from its disk (its own packages come before
    // the server that serves it); the others over HTTP.
    let sources = |host: &str| {
        show(&format!(
            "{host}:file:/etc/apt/sources.list.d/cairn.sources"
        ))["content"]
            .as_str()
            .expect("the sources' text")
            .to_string()
    };
    assert!(sources("control1").contains("URIs: file:/srv/cairn/repository\n"));
    assert!(
        !sources("master1").contains("file:"),
        "{}",
        sources("master1")
    );
    assert_eq!(
        show("control1:container:repository")["inputs"]["volumes"],
        serde_json::json!([
            "/etc/cairn/repository:/etc/cairn/repository:ro",
            "/srv/cairn/repository:/var/www/repository:ro"
        ]),
        "the config and the repository (in its default folder) are mounted read-only"
    );

    // An address of its own: nginx listens there alone, and the probe asks there.
    sandbox.write(
        "cluster.toml",
        &format!(
            "{CLUSTER_WITH_CONTROL_HOST}\n[repository_server]\nlisten = \"10.0.0.2\"\nport = 8081\n"
        ),
    );
    sandbox.compile().success();
    assert_eq!(
        show(health)["inputs"]["url"],
        "http://10.0.0.2:8081/dists/bookworm/Release"
    );
    let config = show("control1:file:/etc/cairn/repository/nginx.conf");
    assert!(
        config["content"]
            .as_str()
            .expect("the config's text")
            .contains("listen 10.0.0.2:8081;"),
        "{}",
        config["content"]
    );
}
