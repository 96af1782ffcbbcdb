//! Images cairn builds itself reach the hosts that run them over the hosts' own transport:
//! here SSH, to a real sshd on loopback whose Docker engine is this machine's. Apply builds
//! the image into its image folder once, then sends each host's `docker load` only the
//! layers no image of the host has: a changed top layer travels alone.

use crate::app_cluster::AppCluster;
use crate::download_server::DownloadServer;
use crate::ssh_fixture::SshFixture;
use crate::support::cairn;

const MODULE: &str = r#"[module]
name = "shipped"
description = "a web server in an image of a download and a script"
roles = ["app"]

[settings.shipped.busybox_url]
type = "url"
doc = "A static busybox."

[settings.shipped.busybox_sha256]
type = "sha256"
doc = "Its checksum."

[settings.shipped.port]
type = "port"
doc = "The port it serves on."

[[image]]
name = "shipped"
base = "scratch"
artifacts = [{ url = "{{ shipped.busybox_url }}", sha256 = "{{ shipped.busybox_sha256 }}", path = "/bin/busybox", mode = "0755" }]
files = [{ path = "/usr/local/bin/serve", template = "serve.sh", mode = "0755" }]
entrypoint = ["/usr/local/bin/serve"]

[[node]]
kind = "file"
path = "/srv/shipped/index.html"
content = "served from {{ host.name }}\n"

[[node]]
kind = "container"
name = "shipped"
image = "shipped"
network = "host"
volumes = ["/srv/shipped:/www:ro"]
env = { PORT = "{{ shipped.port }}" }
deps = ["file:/srv/shipped/index.html"]
"#;

/// The script's first line says which release it is: a new release, a new top layer.
fn serve_script(release: &str) -> String {
    format!(
        "#!/bin/busybox sh\n# release {release}\nexec /bin/busybox httpd -f -p \"127.0.0.1:$PORT\" -h /www\n"
    )
}

/// The summary apply gave the container on host1 (`-v` prints each node that ran).
fn container_summary(stderr: &str) -> String {
    stderr
        .lines()
        .find(|line| line.contains("host1:container:shipped:"))
        .unwrap_or_else(|| panic!("the container did not run:\n{stderr}"))
        .to_string()
}

#[test]
fn a_host_is_sent_the_layers_it_lacks_and_a_new_top_layer_travels_alone() {
    let folder = tempfile::tempdir().unwrap();
    // busybox with bytes of this run after its end (which it ignores): a layer no image of
    // the engine has, whatever ran before.
    let mut busybox = std::fs::read("/bin/busybox")
        .expect("/bin/busybox (Debian's busybox-static; .ci/run installs it)");
    busybox.extend_from_slice(format!("{:?}", std::time::SystemTime::now()).as_bytes());
    std::fs::write(folder.path().join("busybox"), busybox).unwrap();
    let downloads = DownloadServer::serve(folder, "busybox");
    let fixture = SshFixture::start(&["127.0.0.1"]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    let port = crate::ssh_fixture::free_port("127.0.0.1");
    let container = "host1-shipped";
    let _cleanup = Cleanup(container.to_string());
    cluster
        .sandbox
        .write("modules/shipped/module.toml", MODULE)
        .write("modules/shipped/serve.sh", &serve_script("one"));
    cluster.sandbox.edit("cluster.toml", |text| {
        format!(
            "{text}\n[shipped]\nbusybox_url = \"{}\"\nbusybox_sha256 = \"{}\"\nport = {port}\n",
            downloads.url("busybox"),
            downloads.sha256("busybox")
        )
    });
    let images = cluster.sandbox.path().join("images");
    let apply = || {
        cairn()
            .current_dir(cluster.sandbox.path())
            .env("CAIRN_IMAGES", &images.display().to_string())
            .env(
                "CAIRN_STORE",
                &cluster.sandbox.path().join("store").display().to_string(),
            )
            .args(["apply", "cluster.lock", "-v"])
            .args(fixture.arguments())
            .run()
            .success()
    };
    let served = || {
        let output = std::process::Command::new("curl")
            .args([
                "-s",
                "--retry",
                "20",
                "--retry-connrefused",
                "--retry-delay",
                "1",
            ])
            .arg(format!("http://127.0.0.1:{port}/index.html"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    cluster.compile();

    let first = apply();
    assert!(
        first
            .stderr
            .contains("cluster:image:shipped: built cairn/shipped:"),
        "apply builds the image with cairn's builder:\n{}",
        first.stderr
    );
    assert!(
        images.join("shipped/manifest.json").exists(),
        "into its image folder"
    );
    let sent = container_summary(&first.stderr);
    assert!(
        sent.contains("(image sent: 2 of 2 layers"),
        "the host had no layer of it: {sent}"
    );
    assert_eq!(served(), "served from host1\n");

    // A new release of the script: a new top layer, and only that one is sent.
    cluster
        .sandbox
        .write("modules/shipped/serve.sh", &serve_script("two"));
    cluster.compile();
    let second = apply();
    let sent = container_summary(&second.stderr);
    assert!(
        sent.contains("(image sent: 1 of 2 layers") && sent.contains("the host had the other 1"),
        "the busybox layer stays: {sent}"
    );
    assert_eq!(served(), "served from host1\n");
    let script = std::process::Command::new("docker")
        .args([
            "exec",
            container,
            "/bin/busybox",
            "cat",
            "/usr/local/bin/serve",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&script.stdout).contains("# release two"));

    // Nothing changed: nothing is built or sent; the image is found built in its folder.
    let third = apply();
    for node in ["cluster:image:shipped", "host1:container:shipped"] {
        assert!(
            !third.stderr.contains(&format!("ran      {node}")),
            "{node} runs again:\n{}",
            third.stderr
        );
    }
}

/// Removes the container and the test's images however the test ends.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "--force", &self.0])
            .output();
        let _ = std::process::Command::new("sh")
            .args([
                "-c",
                "docker image ls --format '{{.Repository}}:{{.Tag}}' cairn/shipped | xargs -r docker image rm --force",
            ])
            .output();
    }
}
