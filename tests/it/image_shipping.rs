//! Images cairn builds itself reach the hosts that run them over the hosts' own transport:
//! here SSH, to a real sshd on loopback whose Docker engine is this machine's. Apply builds
//! the image into its image folder once, then sends each host's `docker load` only the
//! layers no image of the host has: a changed top layer travels alone.

use crate::image_builder::Registry;
use crate::support::app_cluster::AppCluster;
use crate::support::busybox_image::stopping_on_term;
use crate::support::cairn;
use crate::support::download_server::DownloadServer;
use crate::support::ssh_fixture::SshFixture;

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
        "#!/bin/busybox sh\n# release {release}\n{}",
        stopping_on_term("/bin/busybox httpd -f -p \"127.0.0.1:$PORT\" -h /www")
    )
}

/// The summary apply gave the container `name` on host1 (`-v` prints each node that ran).
fn container_summary(stderr: &str, name: &str) -> String {
    line_saying(stderr, &format!("host1:container:{name}:"))
}

/// The line apply gave the image `name` it built.
fn image_built_summary(stderr: &str, name: &str) -> String {
    line_saying(stderr, &format!("cluster:image:{name}: built"))
}

/// The first line of `stderr` holding `part`.
fn line_saying(stderr: &str, part: &str) -> String {
    stderr
        .lines()
        .find(|line| line.contains(part))
        .unwrap_or_else(|| panic!("no line says {part:?}:\n{stderr}"))
        .to_string()
}

/// The app cluster of one SSH host running the container of [`MODULE`] with every
/// `shipped` of it renamed `name` (the module, its image and container: tests running at
/// once keep to their own images), `extra` appended to its spec; busybox served on
/// loopback with bytes of this run after its end (which it ignores): a layer no image of
/// the engine has, whatever ran before.
struct Shipped {
    name: &'static str,
    cluster: AppCluster,
    fixture: SshFixture,
    _downloads: DownloadServer,
    port: u16,
    _cleanup: Cleanup,
}

impl Shipped {
    fn new(name: &'static str, extra: &str) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let mut busybox = std::fs::read("/bin/busybox")
            .expect("/bin/busybox (Debian's busybox-static; .ci/run installs it)");
        busybox.extend_from_slice(format!("{:?}", std::time::SystemTime::now()).as_bytes());
        std::fs::write(folder.path().join("busybox"), busybox).unwrap();
        let downloads = DownloadServer::serve(folder, "busybox");
        let fixture = SshFixture::start(&["127.0.0.1"]);
        let cluster = AppCluster::over_ssh(&fixture, &[]);
        let port = crate::support::free_ports::free_port("127.0.0.1");
        cluster
            .sandbox
            .write(
                &format!("modules/{name}/module.toml"),
                &MODULE.replace("shipped", name),
            )
            .write(&format!("modules/{name}/serve.sh"), &serve_script("one"));
        cluster.sandbox.edit("cluster.toml", |text| {
            format!(
                "{text}\n[{name}]\nbusybox_url = \"{}\"\nbusybox_sha256 = \"{}\"\nport = {port}\n{extra}",
                downloads.url("busybox"),
                downloads.sha256("busybox")
            )
        });
        cluster.compile();
        Self {
            name,
            cluster,
            fixture,
            _downloads: downloads,
            port,
            _cleanup: Cleanup(name),
        }
    }

    fn images(&self) -> std::path::PathBuf {
        self.cluster.sandbox.path().join("images")
    }

    /// `cairn apply -v` with the sandbox's own image folder and store: what it printed.
    fn apply(&self) -> crate::support::Outcome {
        cairn()
            .current_dir(self.cluster.sandbox.path())
            .env("CAIRN_IMAGES", &self.images().display().to_string())
            .env(
                "CAIRN_STORE",
                &self
                    .cluster
                    .sandbox
                    .path()
                    .join("store")
                    .display()
                    .to_string(),
            )
            .args(["apply", "cluster.lock", "-v"])
            .args(self.fixture.arguments())
            .run()
            .success()
    }

    fn release(&self, release: &str) {
        self.cluster.sandbox.write(
            &format!("modules/{}/serve.sh", self.name),
            &serve_script(release),
        );
        self.cluster.compile();
    }

    fn served(&self) -> String {
        let output = std::process::Command::new("curl")
            .args([
                "-s",
                "--retry",
                "20",
                "--retry-connrefused",
                "--retry-delay",
                "1",
            ])
            .arg(format!("http://127.0.0.1:{}/index.html", self.port))
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

#[test]
fn a_host_is_sent_the_layers_it_lacks_and_a_new_top_layer_travels_alone() {
    let shipped = Shipped::new("shipped", "");
    let first = shipped.apply();
    assert!(
        first
            .stderr
            .contains("cluster:image:shipped: built cairn/shipped:"),
        "apply builds the image with cairn's builder:\n{}",
        first.stderr
    );
    let layouts: Vec<std::path::PathBuf> = std::fs::read_dir(shipped.images().join("shipped"))
        .expect("the image's folder")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.join("manifest.json").exists())
        .collect();
    assert_eq!(
        layouts.len(),
        1,
        "into its image folder, by name and id: {layouts:?}"
    );
    let sent = container_summary(&first.stderr, "shipped");
    assert!(
        sent.contains("(image sent: 2 of 2 layers"),
        "the host had no layer of it: {sent}"
    );
    assert_eq!(shipped.served(), "served from host1\n");

    // A new release of the script: a new top layer, and only that one is sent.
    shipped.release("two");
    let second = shipped.apply();
    let sent = container_summary(&second.stderr, "shipped");
    assert!(
        sent.contains("(image sent: 1 of 2 layers") && sent.contains("the host had the other 1"),
        "the busybox layer stays: {sent}"
    );
    assert_eq!(shipped.served(), "served from host1\n");
    let script = std::process::Command::new("docker")
        .args([
            "exec",
            "host1-shipped",
            "/bin/busybox",
            "cat",
            "/usr/local/bin/serve",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&script.stdout).contains("# release two"));

    // Nothing changed: nothing is built or sent; the image is found built in its folder.
    let third = shipped.apply();
    for node in ["cluster:image:shipped", "host1:container:shipped"] {
        assert!(
            !third.stderr.contains(&format!("ran      {node}")),
            "{node} runs again:\n{}",
            third.stderr
        );
    }
}

#[test]
fn with_the_clusters_registry_apply_pushes_the_blobs_it_lacks_and_the_host_pulls_by_digest() {
    let registry = Registry::start();
    let shipped = Shipped::new(
        "pulled",
        &format!("\n[images]\nregistry = \"{}\"\n", registry.address),
    );
    let first = shipped.apply();
    let image = image_built_summary(&first.stderr, "pulled");
    assert!(
        image.contains(&format!("pushed to {} (", registry.address))
            && image.contains("0 already there"),
        "{image}"
    );
    let pulled = container_summary(&first.stderr, "pulled");
    assert!(
        pulled.contains(&format!(
            "(image pulled as {}/cairn/pulled@sha256:",
            registry.address
        )),
        "{pulled}"
    );
    assert_eq!(shipped.served(), "served from host1\n");

    // A new release: the registry is sent the new top layer, config and manifest alone.
    shipped.release("two");
    let second = shipped.apply();
    let image = image_built_summary(&second.stderr, "pulled");
    assert!(
        image.contains("(2 blobs sent") && image.contains("; 1 already there)"),
        "the busybox layer is not sent again: {image}"
    );
    assert!(container_summary(&second.stderr, "pulled").contains("(image pulled as "));
    assert_eq!(shipped.served(), "served from host1\n");

    // The registry gone, a host that lacks the image is sent it over SSH, saying why.
    drop(registry);
    let _ = std::process::Command::new("docker")
        .args(["rm", "--force", "host1-pulled"])
        .output();
    Cleanup::remove_images("pulled");
    shipped.release("three");
    let third = shipped.apply();
    let image = image_built_summary(&third.stderr, "pulled");
    assert!(image.contains("not pushed ("), "{image}");
    let sent = container_summary(&third.stderr, "pulled");
    assert!(sent.contains("(image sent: 2 of 2 layers"), "{sent}");
    assert_eq!(shipped.served(), "served from host1\n");

    // Until a push succeeds, each apply tries again; the host, which has the image, is left
    // alone.
    let fourth = shipped.apply();
    assert!(
        fourth
            .stderr
            .contains("cluster:image:pulled: cairn/pulled:")
            && fourth.stderr.contains("is already built in")
            && fourth.stderr.contains("; not pushed ("),
        "{}",
        fourth.stderr
    );
    assert!(!fourth.stderr.contains("ran      host1:container:pulled"));
}

/// Removes the test's container and images however the test ends.
struct Cleanup(&'static str);

impl Cleanup {
    /// Every image of the repository `cairn/<name>`, wherever it came from (a registry's
    /// name for it too).
    fn remove_images(name: &str) {
        let _ = std::process::Command::new("sh")
            .args([
                "-c",
                &format!(
                    "docker image ls --format '{{{{.Repository}}}} {{{{.ID}}}}' | awk '$1 ~ /(^|\\/)cairn\\/{name}$/ {{ print $2 }}' | sort -u | xargs -r docker image rm --force"
                ),
            ])
            .output();
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        // The container, and the one a replacement kept (stopped) to put back.
        let _ = std::process::Command::new("docker")
            .args(["rm", "--force", &format!("host1-{}", self.0)])
            .arg(format!("host1-{}.previous", self.0))
            .output();
        Self::remove_images(self.0);
    }
}
