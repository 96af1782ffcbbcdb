//! The registry-server module's registry, run for real: cairn applies the config (and, with
//! TLS, the certificate and key) into a sandbox control host, then docker-registry (this
//! machine's, from Debian) starts in the host's network namespace on exactly what cairn
//! rendered: the config, the image's entrypoint, the container's volumes. Another host of
//! the network, a client, must get the API's version check answered, push a blob through
//! the registry's HTTP API v2 and get it back byte for byte, find it stored in the control
//! host's data directory by the registry's unprivileged user, and have a delete refused
//! unless `delete_enabled`; with TLS settings, all of it over HTTPS, verified against the
//! spec's certificate.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::namespace_container::{NamespaceContainer, run_in, wait_for};
use crate::support::network_namespaces::{NetworkHost, PrivateNetwork};
use crate::support::{Sandbox, run_successfully};

/// The repository the blob is pushed to: a name with a namespace, as images have.
const REPOSITORY: &str = "cairn/registry-check";

/// The spec: `control1`, with role `control`, at the first namespace's address, a sandbox
/// reached locally; `settings` is the body of its [registry_server] section.
fn spec(network: &PrivateNetwork, settings: &str) -> String {
    format!(
        "[cluster]\nname = \"registry\"\ndomain = \"registry.example\"\n\
         exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\
         fingerprint_key = {{ file = \"secrets/fingerprint.key\" }}\n\n\
         [hosts.control1]\naddress = \"{address}\"\ntransport = \"local\"\n\
         root = \"hosts/control1\"\nroles = [\"control\"]\n\n\
         [preflight]\nfilesystem_paths = []\nmin_free_disk = {{ \"/\" = \"1MiB\" }}\n\n\
         [registry_server]\n{settings}",
        address = network.hosts[0].address,
    )
}

/// The control host's registry, started from what cairn applied, on a network whose second
/// host is the client's; every process of the registry is stopped when dropped.
struct RunningRegistry {
    container: NamespaceContainer,
    /// The control host's data directory, on the host's side.
    data_directory: PathBuf,
    /// The lockfile's nodes (`cairn show --json`).
    nodes: serde_json::Value,
    sandbox: Sandbox,
    network: PrivateNetwork,
}

impl RunningRegistry {
    /// Applies the spec (images and containers held back), then starts the container node
    /// `control1:container:registry` as Docker would. `settings` is given the control
    /// host and the sandbox's folder, where it may keep files the settings name.
    fn start(tag: &str, settings: impl FnOnce(&NetworkHost, &Path) -> String) -> Self {
        let network = PrivateNetwork::create(tag, 2);
        let sandbox = Sandbox::new();
        let settings = settings(&network.hosts[0], sandbox.path());
        sandbox
            .write("cluster.toml", &spec(&network, &settings))
            .write("secrets/fingerprint.key", "test-fingerprint-key\n");
        sandbox.apply_files();
        let nodes = sandbox.show_json();
        let root = sandbox.path().join("hosts/control1");
        assert!(
            root.join("etc/cairn/registry/config.yml").is_file(),
            "apply wrote control1's config.yml"
        );
        let container = NamespaceContainer::start(
            &nodes,
            "control1",
            "registry",
            &root,
            &network.hosts[0],
            &BTreeMap::new(),
        );
        Self {
            container,
            data_directory: root.join("var/lib/docker-registry"),
            nodes,
            sandbox,
            network,
        }
    }
}

impl RunningRegistry {
    /// Runs the module's health probe (`control1:health:registry-http`) on the control
    /// host, as apply would: `http` probes with curl, `command` probes with sh.
    fn health_probe(&self) -> Result<(), String> {
        let name = "control1:health:registry-http";
        let inputs = &self
            .nodes
            .as_array()
            .expect("an array of nodes")
            .iter()
            .find(|node| node["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not in the lockfile"))["inputs"];
        let control = &self.network.hosts[0];
        let (answered, output) = match inputs["probe"].as_str() {
            Some("http") => {
                let url = inputs["url"].as_str().expect("a url");
                let (_, code) = run_in(
                    control,
                    "curl",
                    &[
                        "--silent",
                        "--output",
                        "/dev/null",
                        "--write-out",
                        "%{http_code}",
                        url,
                    ],
                );
                (
                    code == inputs["status"].as_u64().unwrap_or(200).to_string(),
                    format!("{url}: {code}"),
                )
            }
            Some("command") => {
                let run = inputs["run"].as_str().expect("a command");
                let (answered, output) = run_in(control, "sh", &["-c", run]);
                (answered, format!("{run}: {output}"))
            }
            other => panic!("{name} probes with {other:?}"),
        };
        if answered { Ok(()) } else { Err(output) }
    }
}

/// What the registry answered one request.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Response {
    /// A header's value (names are case-insensitive).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// A client of the registry on another host of the network: curl, from inside that
/// host's namespace, trusting `certificate` alone where it is given.
struct RegistryClient<'a> {
    network_host: &'a NetworkHost,
    /// `http://ADDRESS:PORT` or `https://ADDRESS:PORT`.
    base: String,
    certificate: Option<PathBuf>,
    /// Where the requests' bodies and answers are kept.
    folder: PathBuf,
}

impl RegistryClient<'_> {
    /// `method` on `target` (a path of the registry, or a URL it gave), with the file `body`
    /// as the request's body; the registry's answer, or curl's error.
    fn request(&self, method: &str, target: &str, body: Option<&Path>) -> Result<Response, String> {
        let url = if target.starts_with('/') {
            format!("{}{target}", self.base)
        } else {
            target.to_string()
        };
        let (headers, answer) = (self.folder.join("headers"), self.folder.join("answer"));
        let mut command = self.network_host.command("curl");
        command
            .args(["--silent", "--show-error", "--max-time", "10"])
            .args(["--request", method, "--write-out", "%{http_code}"])
            .arg("--dump-header")
            .arg(&headers)
            .arg("--output")
            .arg(&answer);
        if let Some(certificate) = &self.certificate {
            command.arg("--cacert").arg(certificate);
        }
        if let Some(body) = body {
            command
                .args(["--header", "Content-Type: application/octet-stream"])
                .arg("--data-binary")
                .arg(format!("@{}", body.display()));
        }
        let output = command.arg(&url).output().expect("curl runs");
        if !output.status.success() {
            return Err(format!(
                "{method} {url}: {}",
                String::from_utf8_lossy(&output.stderr).trim_end()
            ));
        }
        Ok(Response {
            status: String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .map_err(|_| format!("{method} {url}: no status"))?,
            headers: std::fs::read_to_string(&headers).unwrap_or_default(),
            body: std::fs::read(&answer).unwrap_or_default(),
        })
    }

    /// The API's version check, once it answers 200.
    fn version_check(&self) -> Result<Response, String> {
        let response = self.request("GET", "/v2/", None)?;
        if response.status == 200 {
            Ok(response)
        } else {
            Err(format!("GET /v2/ answered {}", response.status))
        }
    }
}

/// The digest the registry names a blob by: `sha256:` and the hex of its SHA-256.
fn digest_of(file: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(file)
        .output()
        .expect("sha256sum runs (coreutils)");
    let text = String::from_utf8_lossy(&output.stdout);
    format!(
        "sha256:{}",
        text.split_whitespace().next().expect("a digest")
    )
}

/// A blob of every byte value and a marker of the test, written to `folder`; its path,
/// bytes and digest.
fn make_blob(folder: &Path, marker: &str) -> (PathBuf, Vec<u8>, String) {
    let mut bytes: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
    bytes.extend_from_slice(marker.as_bytes());
    let path = folder.join("blob");
    std::fs::write(&path, &bytes).expect("the blob");
    let digest = digest_of(&path);
    (path, bytes, digest)
}

/// Pushes the blob at `path` through the API v2 (an upload started with POST, finished
/// with a monolithic PUT naming the digest) and returns the blob's URL path.
fn push_blob(client: &RegistryClient, path: &Path, digest: &str) -> String {
    let started = client
        .request("POST", &format!("/v2/{REPOSITORY}/blobs/uploads/"), None)
        .expect("the upload starts");
    assert_eq!(started.status, 202, "POST starts an upload: {started:?}");
    let location = started
        .header("Location")
        .expect("the upload's location")
        .to_string();
    let separator = if location.contains('?') { '&' } else { '?' };
    let finished = client
        .request(
            "PUT",
            &format!("{location}{separator}digest={digest}"),
            Some(path),
        )
        .expect("the upload finishes");
    assert_eq!(finished.status, 201, "PUT stores the blob: {finished:?}");
    assert_eq!(finished.header("Docker-Content-Digest"), Some(digest));
    format!("/v2/{REPOSITORY}/blobs/{digest}")
}

/// The blob's data file in the registry's filesystem storage.
fn stored_blob(data_directory: &Path, digest: &str) -> PathBuf {
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    data_directory
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data")
}

/// The uid of the registry's user on this machine (Debian's docker-registry package makes
/// it), whose programs the container runs.
fn registry_user_id() -> u32 {
    let output = Command::new("id")
        .args(["-u", "docker-registry"])
        .output()
        .expect("id runs");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("a docker-registry user (Debian's docker-registry package)")
}

/// Pushes a blob, reads it back, finds it in the data directory, owned by the registry's
/// user; then a DELETE of it must be answered `delete_status`.
fn check_blob_round_trip(
    registry: &NamespaceContainer,
    data_directory: &Path,
    client: &RegistryClient,
    delete_status: u16,
) {
    let (path, bytes, digest) = make_blob(&client.folder, &client.base);
    let blob = push_blob(client, &path, &digest);
    let fetched = client.request("GET", &blob, None).expect("GET of the blob");
    assert_eq!(fetched.status, 200, "{fetched:?}");
    assert!(
        fetched.body == bytes,
        "the registry serves the blob back byte for byte ({} bytes sent, {} received)",
        bytes.len(),
        fetched.body.len()
    );

    let stored = stored_blob(data_directory, &digest);
    assert_eq!(
        std::fs::read(&stored).ok().as_ref(),
        Some(&bytes),
        "the blob is stored in the control host's data_dir, through the container's volume \
         and the config's rootdirectory: {}\n--- the registry's log\n{}",
        stored.display(),
        registry.output()
    );
    assert_eq!(
        std::fs::metadata(&stored).expect("the stored blob").uid(),
        registry_user_id(),
        "the registry runs as its own user, not as root"
    );

    let deleted = client
        .request("DELETE", &blob, None)
        .expect("DELETE of the blob");
    assert_eq!(deleted.status, delete_status, "{deleted:?}");
    let after = client
        .request("GET", &blob, None)
        .expect("GET after the DELETE");
    let expected = if delete_status == 202 { 404 } else { 200 };
    assert_eq!(after.status, expected, "GET after the DELETE: {after:?}");
}

#[test]
fn a_client_pushes_a_blob_over_http_and_gets_it_back_from_the_control_hosts_data_directory() {
    let mut registry = RunningRegistry::start("reg", |_, _| String::new());
    let client_folder = tempfile::tempdir().expect("a temporary folder");
    let network_hosts = &registry.network.hosts;
    let client = RegistryClient {
        network_host: &network_hosts[1],
        base: format!("http://{}:5000", network_hosts[0].address),
        certificate: None,
        folder: client_folder.path().to_path_buf(),
    };
    let answer = wait_for(
        "the registry answers GET /v2/",
        Duration::from_secs(30),
        &mut [&mut registry.container],
        || client.version_check(),
    );
    assert_eq!(
        answer.header("Docker-Distribution-API-Version"),
        Some("registry/2.0"),
        "{answer:?}"
    );
    assert_eq!(
        registry.health_probe(),
        Ok(()),
        "the module's health probe passes"
    );
    // Delete is off by default: the blob stays.
    check_blob_round_trip(&registry.container, &registry.data_directory, &client, 405);
}

#[test]
fn with_tls_settings_the_registry_serves_https_with_the_specs_certificate() {
    assert!(
        Command::new("openssl").arg("version").output().is_ok(),
        "openssl makes the registry's certificate here, and is not installed: apt-get install openssl"
    );
    const PORT: u16 = 5443;
    let (key, certificate) = (
        PathBuf::from("secrets/registry-key.pem"),
        PathBuf::from("registry-certificate.pem"),
    );
    let mut registry = RunningRegistry::start("regt", |control, folder| {
        std::fs::create_dir_all(folder.join("secrets")).expect("a secrets folder");
        // A self-signed certificate for the control host's address: the one a client trusts.
        run_successfully(
            Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                ])
                .args([
                    "-nodes",
                    "-days",
                    "1",
                    "-subj",
                    &format!("/CN={}", control.address),
                ])
                .args(["-addext", &format!("subjectAltName=IP:{}", control.address)])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&certificate)
                .current_dir(folder),
            "openssl req",
        );
        format!(
            "port = {PORT}\ndelete_enabled = true\ntls_certificate = '''\n{}'''\n\
             tls_key = {{ file = \"{}\" }}\n",
            std::fs::read_to_string(folder.join(&certificate)).expect("the certificate"),
            key.display()
        )
    });
    let (key, certificate) = (
        registry.sandbox.path().join(key),
        registry.sandbox.path().join(certificate),
    );
    let lockfile = registry.sandbox.read("cluster.lock");
    let key_text = std::fs::read_to_string(&key).expect("the key");
    let key_body = key_text.lines().nth(1).expect("a line of the key's base64");
    assert!(
        !lockfile.contains(key_body),
        "the TLS key is not in the lockfile"
    );
    let written_key = registry
        .sandbox
        .path()
        .join("hosts/control1/etc/cairn/registry/tls/key.pem");
    assert_eq!(
        std::fs::read_to_string(&written_key).ok(),
        Some(key_text),
        "apply wrote the key, substituted, to the control host"
    );

    let client_folder = tempfile::tempdir().expect("a temporary folder");
    let network_hosts = &registry.network.hosts;
    let address = network_hosts[0].address.clone();
    let client = RegistryClient {
        network_host: &network_hosts[1],
        base: format!("https://{address}:{PORT}"),
        certificate: Some(certificate.clone()),
        folder: client_folder.path().to_path_buf(),
    };
    wait_for(
        "the registry answers GET /v2/ over HTTPS",
        Duration::from_secs(30),
        &mut [&mut registry.container],
        || client.version_check(),
    );

    assert_eq!(
        registry.health_probe(),
        Ok(()),
        "the module's health probe passes"
    );

    // Plain HTTP on the same port is no registry: TLS is what it serves.
    let plain = RegistryClient {
        base: format!("http://{address}:{PORT}"),
        certificate: None,
        ..client
    };
    let answer = plain.request("GET", "/v2/", None);
    assert!(
        answer.as_ref().is_ok_and(|response| response.status == 400),
        "plain HTTP to the TLS port: {answer:?}"
    );
    // Without the spec's certificate, the client does not trust the registry.
    let untrusting = RegistryClient {
        base: format!("https://{address}:{PORT}"),
        certificate: None,
        ..plain
    };
    let refused = untrusting.request("GET", "/v2/", None);
    assert!(
        refused
            .as_ref()
            .is_err_and(|error| error.contains("certificate")),
        "a client without the certificate refuses it: {refused:?}"
    );

    // delete_enabled: the blob is deleted.
    let client = RegistryClient {
        certificate: Some(certificate),
        ..untrusting
    };
    check_blob_round_trip(&registry.container, &registry.data_directory, &client, 202);
}
