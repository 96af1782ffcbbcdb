//! Images and containers against the real Docker engine, with a base image the tests make
//! themselves (busybox, imported): nothing is pulled.

use std::process::Command;

use crate::app_cluster::{AppCluster, names, ran_besides_checks};

const BASE_IMAGE: &str = "cairn-test/base:1";

/// A base image from Debian's static busybox, imported once.
fn ensure_base_image() {
    let present = Command::new("docker")
        .args(["image", "inspect", BASE_IMAGE])
        .output()
        .expect("docker runs");
    if present.status.success() {
        return;
    }
    let busybox = std::path::Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "/bin/busybox is missing: install Debian's busybox-static (.ci/run does)"
    );
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("bin")).unwrap();
    std::fs::copy(busybox, root.path().join("bin/busybox")).unwrap();
    for applet in ["sh", "httpd", "cat", "sleep"] {
        std::os::unix::fs::symlink("busybox", root.path().join("bin").join(applet)).unwrap();
    }
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C '{}' -c . | docker import - {BASE_IMAGE} >/dev/null",
            root.path().display()
        ))
        .status()
        .unwrap();
    assert!(
        status.success(),
        "docker import of the test base image failed"
    );
}

fn docker(arguments: &[&str]) -> String {
    let output = Command::new("docker")
        .args(arguments)
        .output()
        .expect("docker runs");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Removes the test's containers however the test ends.
struct Containers(Vec<String>);

impl Drop for Containers {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("docker")
                .args(["rm", "--force", name])
                .output();
        }
    }
}

const WEB_MODULE: &str = r#"[module]
name = "web"
description = "a web server in a container"
roles = ["app"]

[settings.web.port]
type = "port"
doc = "The first host's port; the others count up from it."

[[image]]
name = "web"
base = "cairn-test/base:1"
files = [{ path = "/usr/local/bin/serve", template = "serve.sh", mode = "0755" }]
entrypoint = ["/usr/local/bin/serve"]

[[node]]
kind = "file"
path = "/srv/web/index.html"
content = "hello from {{ host.name }}\n"

[[node]]
kind = "container"
name = "web"
image = "web"
network = "host"
volumes = ["/srv/web:/www:ro"]
env = { PORT = "{{ web.port + host.role_index.app - 1 }}", TOKEN = "{{ app.token }}" }
deps = ["file:/srv/web/index.html"]

# Asked from inside the container, found by its Docker name (sandboxes prefix it).
[[node]]
kind = "health"
name = "web-http"
probe = "command"
run = "docker exec \"${CAIRN_CONTAINER_PREFIX}web\" busybox wget -q -O - http://127.0.0.1:{{ web.port + host.role_index.app - 1 }}/index.html | grep -q '^hello from'"
retries = 20
interval_seconds = 1
deps = ["container:web"]
"#;

fn web_cluster(hosts: &[&str]) -> (AppCluster, u16) {
    ensure_base_image();
    let cluster = AppCluster::local(hosts);
    let port = crate::ssh_fixture::free_port("127.0.0.1");
    cluster
        .sandbox
        .write("modules/web/module.toml", WEB_MODULE)
        .write(
            "modules/web/serve.sh",
            "#!/bin/sh\nexec httpd -f -p \"$PORT\" -h /www\n",
        );
    cluster.sandbox.edit("cluster.toml", |text| {
        format!("{text}\n[web]\nport = {port}\n")
    });
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
    cluster.sandbox.edit("modules/web/module.toml", |text| {
        text.replace("hello from", "greetings from")
    });
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
