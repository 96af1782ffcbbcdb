//! Images cairn builds from pinned Debian packages alone: no base image, no Docker daemon,
//! no maintainer script run. The built-in images Debian packages (HAProxy, keepalived,
//! ZooKeeper, MariaDB, docker-registry, nginx) and the examples' console (python3) are
//! pinned against Debian's archive (deb.debian.org, which `.ci/run`'s machine reaches),
//! built twice in two folders to the same digests, then loaded into the real Docker engine
//! and run on what cairn rendered for them: HAProxy serves through its config, keepalived
//! takes the virtual IP beside it, ZooKeeper answers `ruok` with `imok`, MariaDB answers a
//! query, the registry stores a blob, nginx serves the repository, the console answers.
//!
//! The pinned .debs are downloaded once per machine into cairn's store (`~/.cache/cairn`),
//! as `cairn fetch` would; the images' closures are some 300 MB.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::cairn;

const ROOT_PASSWORD: &str = "root-of-the-image-test";
const REPLICATION_PASSWORD: &str = "replication-of-the-image-test";
/// keepalived's VRRP password: at most 8 characters.
const VRRP_PASSWORD: &str = "vrrp-img";
const CONSOLE_SESSION_KEY: &str = "console-of-the-image-test";
/// The virtual IP keepalived puts on its container's eth0: a documentation address
/// (TEST-NET-1), which no container of the bridge network has.
const VIP: &str = "192.0.2.100";
const REGISTRY_PORT: u16 = 15000;
const REPOSITORY_PORT: u16 = 18080;
const CONSOLE_PORT: u16 = 18000;
const CONSOLE_TITLE: &str = "Console of the image test";

/// The images this file builds.
const IMAGES: [&str; 7] = crate::support::PLATFORM_IMAGES;

/// `db1` runs every image here (HAProxy and keepalived, ZooKeeper, MariaDB's master, the
/// registry, the repository, the examples' console); `db2` is the slave the mysql module
/// needs named. Images pinned from Debian's archive. The ports of HAProxy, the registry, the
/// repository and the console, and ZooKeeper's heap, are not the examples', so neither are
/// their images: a test that applies an example never finds these in the engine while they
/// run here. keepalived's interface is what its container has on Docker's bridge network,
/// `eth0`.
fn spec() -> String {
    let modules = crate::support::repository().join("examples/modules");
    format!(
        "[cluster]\nname = \"packaged\"\ndomain = \"packaged.example\"\n\
         modules = [\"{modules}\"]\n\
         exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\
         fingerprint_key = {{ file = \"secrets/fingerprint.key\" }}\n\n\
         [hosts.db1]\naddress = \"127.0.0.1\"\nid = 1\ntransport = \"local\"\nroot = \"sandbox/db1\"\n\
         roles = [\"master\", \"loadbalancer\", \"mysql\", \"control\", \"console\"]\n\n\
         [hosts.db2]\naddress = \"127.0.0.2\"\nid = 2\ntransport = \"local\"\nroot = \"sandbox/db2\"\n\
         roles = [\"mysql\"]\n\n\
         [preflight]\nfilesystem_paths = []\nmin_free_disk = {{ \"/\" = \"1MiB\" }}\n\n\
         [haproxy]\nmax_connections = 2000\nstats_port = 18404\n\n\
         [keepalived]\ninterface = \"eth0\"\nvip = \"{VIP}/24\"\nvirtual_router_id = 213\n\
         auth_pass = {{ file = \"secrets/keepalived-auth-pass\" }}\n\n\
         [zookeeper]\nheap = \"256m\"\n\n\
         [mysql]\nmaster = \"db1\"\nslave = \"db2\"\n\
         root_password = {{ file = \"secrets/root\" }}\nreplication_password = {{ file = \"secrets/replication\" }}\n\n\
         [registry_server]\nport = {REGISTRY_PORT}\n\n\
         [repository_server]\nport = {REPOSITORY_PORT}\n\n\
         [console]\nport = {CONSOLE_PORT}\ntitle = \"{CONSOLE_TITLE}\"\n\
         session_key = {{ file = \"secrets/console-session-key\" }}\n\n\
         [packages]\nkeyring = \"/usr/share/keyrings/debian-archive-keyring.gpg\"\nsources = [\n\
             \"http://deb.debian.org/debian bookworm main\",\n\
             \"http://deb.debian.org/debian bookworm-updates main\",\n\
             \"http://deb.debian.org/debian-security bookworm-security main\",\n]\n",
        modules = modules.display()
    )
}

/// The compiled cluster, its files applied into the hosts' sandboxes, and its images built
/// twice: shared by every test here, built once per test run, even where each test
/// is a process of its own (nextest), which wait for one another on a lock file.
struct Built {
    folder: PathBuf,
    /// Each image's name and manifest digest, as `cairn build` reported it, per build
    /// folder.
    first: Vec<(String, String)>,
    second: Vec<(String, String)>,
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let parent = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(parent).unwrap();
        let lock = std::fs::File::create(parent.join("package-images.lock")).unwrap();
        lock.lock().expect("the lock of the package images' folder");
        let run =
            std::env::var("NEXTEST_RUN_ID").unwrap_or_else(|_| std::process::id().to_string());
        let folder = parent.join(format!("package-images-{run}"));
        // Earlier runs' builds go: this run builds with this run's cairn.
        for entry in std::fs::read_dir(parent).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("package-images-") && path != folder {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
        let reports = [folder.join("one.report"), folder.join("two.report")];
        if !reports.iter().all(|report| report.exists()) {
            let _ = std::fs::remove_dir_all(&folder);
            for (path, text) in [
                ("secrets/fingerprint.key", "package-images-fingerprint\n"),
                ("secrets/root", ROOT_PASSWORD),
                ("secrets/replication", REPLICATION_PASSWORD),
                ("secrets/keepalived-auth-pass", VRRP_PASSWORD),
                ("secrets/console-session-key", CONSOLE_SESSION_KEY),
                ("cluster.toml", &spec()),
            ] {
                let path = folder.join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
            cairn()
                .current_dir(&folder)
                .args(["compile", "cluster.toml"])
                .run()
                .success();
            cairn()
                .current_dir(&folder)
                // The files alone: no container starts here, even where the engine
                // has an image of an earlier run.
                .args(["apply", "cluster.toml", "--skip-kind", "image,container"])
                .run()
                .success();
            for (output, report) in ["one", "two"].into_iter().zip(&reports) {
                std::fs::write(report, build(&folder, output)).unwrap();
            }
        }
        let digests = |report: &Path| digests(&std::fs::read_to_string(report).unwrap());
        Built {
            first: digests(&reports[0]),
            second: digests(&reports[1]),
            folder,
        }
    })
}

/// `cairn build` of the images into `output`: what it printed.
fn build(folder: &Path, output: &str) -> String {
    let mut arguments = vec!["build", "cluster.lock", "--output", output];
    for image in IMAGES {
        arguments.extend(["--image", image]);
    }
    cairn()
        .current_dir(folder)
        .args(arguments)
        .run()
        .success()
        .stdout
}

/// Each image's name and manifest digest in a report of `cairn build`.
fn digests(report: &str) -> Vec<(String, String)> {
    IMAGES
        .iter()
        .map(|image| {
            let line = report
                .lines()
                .find(|line| line.starts_with(&format!("built {image} ")))
                .unwrap_or_else(|| panic!("no `built {image}` in {report}"));
            let digest = line
                .split_whitespace()
                .find(|word| word.starts_with("sha256:"))
                .expect("a manifest digest")
                .trim_end_matches(',')
                .to_string();
            (image.to_string(), digest)
        })
        .collect()
}

/// An image of [`built`] loaded into the Docker engine, and a container of it; both
/// removed when dropped.
struct Running {
    container: String,
    image: String,
    /// A lock of the image's own, held while its container runs: tests that run the same
    /// image (keepalived's runs beside HAProxy's) take turns, since the first to end
    /// removes the image, which would leave the other's container's image untagged and
    /// never removed.
    _turn: std::fs::File,
}

impl Running {
    /// Loads `image` from the first build and starts it detached with `arguments` (before
    /// the image name) on the default bridge network.
    fn start(image: &str, arguments: &[String]) -> Self {
        let layout = built().folder.join("one").join(image);
        let turn = std::fs::File::create(
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("package-image-{image}.lock")),
        )
        .unwrap();
        turn.lock().expect("the lock of the image's turn");
        let load = Command::new("sh")
            .arg("-c")
            .arg(format!("tar -C '{}' -c . | docker load", layout.display()))
            .output()
            .expect("sh runs");
        let said = String::from_utf8_lossy(&load.stdout).into_owned();
        assert!(
            load.status.success(),
            "docker load: {said}{}",
            String::from_utf8_lossy(&load.stderr)
        );
        let tag = said
            .lines()
            .find_map(|line| line.strip_prefix("Loaded image: "))
            .unwrap_or_else(|| panic!("docker load said {said}"))
            .trim()
            .to_string();
        let container = format!("cairn-package-image-{image}-{}", std::process::id());
        let _ = docker(&["rm", "--force", &container]);
        let mut run = vec!["run", "--detach", "--name", &container];
        run.extend(arguments.iter().map(String::as_str));
        run.push(&tag);
        let started = docker(&run);
        assert!(started.is_ok(), "docker run {tag}: {started:?}");
        Self {
            container,
            image: tag,
            _turn: turn,
        }
    }

    /// The container's address on Docker's bridge, which this machine reaches.
    fn address(&self) -> String {
        docker(&[
            "inspect",
            "--format",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            &self.container,
        ])
        .expect("docker inspect")
    }

    fn logs(&self) -> String {
        let output = Command::new("docker")
            .args(["logs", &self.container])
            .output()
            .expect("docker runs");
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    }

    /// Waits up to `limit` for `check` to give a value, showing the container's output if
    /// it never does.
    fn wait_for<T>(&self, what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(value) = check() {
                return value;
            }
            assert!(
                start.elapsed() < limit,
                "{what} within {limit:?}; the container said:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits up to 30 seconds for `GET path` on the container's `port` to answer 200: the
    /// answer's head and body.
    fn wait_for_ok(&self, port: u16, path: &str) -> (String, Vec<u8>) {
        let address = self.address();
        let (_, head, body) = self.wait_for(
            &format!("a 200 to GET {path}"),
            Duration::from_secs(30),
            || http(&address, port, "GET", path, b"").filter(|(status, ..)| *status == 200),
        );
        (head, body)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = docker(&["rm", "--force", &self.container]);
        let _ = docker(&["rmi", "--force", &self.image]);
    }
}

/// `docker ARGUMENTS`: its output, or what it said when it failed.
fn docker(arguments: &[&str]) -> Result<String, String> {
    let output = Command::new("docker")
        .args(arguments)
        .output()
        .expect("docker runs");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// A volume of a host's sandbox file (as `/etc/cairn/...` on the host) at `target`.
fn sandbox_volume(host: &str, path: &str, target: &str) -> String {
    let on_disk: PathBuf = built()
        .folder
        .join("sandbox")
        .join(host)
        .join(path.trim_start_matches('/'));
    assert!(on_disk.exists(), "cairn applied {}", on_disk.display());
    format!("--volume={}:{target}:ro", on_disk.display())
}

/// A volume of `db1`'s sandbox folder or file `path`, at the same path, where the module's
/// container has its config.
fn config_volume(path: &str) -> String {
    sandbox_volume("db1", path, path)
}

/// A volume of the test's `folder` at `target` (which may end in `:ro`).
fn volume(folder: &Path, target: &str) -> String {
    format!("--volume={}:{target}", folder.display())
}

/// An environment file of `text` in `folder`, as the module's container has it, as the
/// argument that gives it: the secrets it holds stay out of every argument list.
fn env_file(folder: &Path, text: &str) -> String {
    let environment = folder.join("environment");
    std::fs::write(&environment, text).unwrap();
    format!("--env-file={}", environment.display())
}

/// HAProxy's image, on its rendered config.
fn start_haproxy() -> Running {
    Running::start(
        "haproxy",
        &[config_volume("/etc/cairn/haproxy/haproxy.cfg")],
    )
}

/// Sends `command` to `address:port` and reads the answer until the server closes.
fn ask(address: &str, port: u16, command: &[u8]) -> Option<Vec<u8>> {
    use std::io::{Read, Write};
    let socket = format!("{address}:{port}").parse().ok()?;
    let mut stream = std::net::TcpStream::connect_timeout(&socket, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(command).ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    Some(answer)
}

/// An HTTP/1.0 request, `method path` with `body`, to `address:port`: the answer's status,
/// head and body.
fn http(
    address: &str,
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
) -> Option<(u16, String, Vec<u8>)> {
    let mut request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {address}:{port}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let answer = ask(address, port, &request)?;
    let end = answer.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, head, answer[end + 4..].to_vec()))
}

/// The value of the header `name` in an answer's `head`.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

#[test]
fn each_image_built_in_two_folders_is_the_same_bytes() {
    let built = built();
    assert_eq!(built.first, built.second);
    let layout = |folder: &str, image: &str| -> PathBuf { built.folder.join(folder).join(image) };
    for image in IMAGES {
        let index = |folder: &str| std::fs::read(layout(folder, image).join("index.json")).unwrap();
        assert_eq!(index("one"), index("two"), "{image}'s index.json");
    }
    // Built again, unchanged: no work.
    let again = cairn()
        .current_dir(&built.folder)
        .args([
            "build",
            "cluster.lock",
            "--output",
            "one",
            "--image",
            "zookeeper",
        ])
        .run()
        .success()
        .stdout;
    assert!(again.starts_with("unchanged zookeeper"), "{again}");
}

#[test]
fn haproxy_from_its_packages_serves_through_its_rendered_config() {
    let haproxy = start_haproxy();
    let address = haproxy.address();
    let answer = haproxy.wait_for("HAProxy's /healthz", Duration::from_secs(30), || {
        ask(
            &address,
            18404,
            b"GET /healthz HTTP/1.0\r\nHost: haproxy\r\n\r\n",
        )
        .filter(|answer| answer.starts_with(b"HTTP/1.1 200 "))
    });
    assert!(
        String::from_utf8_lossy(&answer).ends_with("\r\n\r\nok\n"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[test]
fn zookeeper_from_its_packages_answers_ruok_with_imok() {
    let data = tempfile::tempdir().unwrap();
    let myid = built().folder.join("sandbox/db1/var/lib/zookeeper/myid");
    std::fs::copy(&myid, data.path().join("myid")).expect("cairn applied the myid");
    let zookeeper = Running::start(
        "zookeeper",
        &[
            config_volume("/etc/cairn/zookeeper"),
            volume(data.path(), "/var/lib/zookeeper"),
        ],
    );
    let address = zookeeper.address();
    zookeeper.wait_for("ZooKeeper's imok", Duration::from_secs(60), || {
        ask(&address, 2181, b"ruok").filter(|answer| answer == b"imok")
    });
}

#[test]
fn mariadb_from_its_packages_answers_a_query() {
    let data = tempfile::tempdir().unwrap();
    let environment = env_file(
        data.path(),
        &format!(
            "CAIRN_MYSQL_ROLE=master\nCAIRN_MYSQL_PORT=3306\nCAIRN_MYSQL_REPLICATION_USER=replicator\n\
             CAIRN_MYSQL_REPLICATION_PASSWORD={REPLICATION_PASSWORD}\nCAIRN_MYSQL_ROOT_PASSWORD={ROOT_PASSWORD}\n"
        ),
    );
    let datadir = data.path().join("datadir");
    std::fs::create_dir(&datadir).unwrap();
    let mariadb = Running::start(
        "mysql",
        &[
            sandbox_volume(
                "db1",
                "/etc/cairn/mysql/cairn.cnf",
                "/etc/mysql/mariadb.conf.d/99-cairn.cnf",
            ),
            volume(&datadir, "/var/lib/mysql"),
            environment,
        ],
    );
    let answer = mariadb.wait_for("MariaDB's answer", Duration::from_secs(120), || {
        docker(&[
            "exec",
            &mariadb.container,
            "mariadb",
            "--batch",
            "--skip-column-names",
            "--execute",
            "SELECT CONCAT('served by ', @@version_comment, ' as server ', @@server_id)",
        ])
        .ok()
    });
    assert_eq!(
        answer,
        "served by Debian 12 as server 1",
        "{}",
        mariadb.logs()
    );
    let owner = std::fs::metadata(datadir.join("mysql")).expect("the data directory is made");
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&owner),
        500,
        "the image's mysql user, at the id its definition fixes"
    );
}

#[test]
fn keepalived_from_its_packages_takes_the_vip_beside_haproxy() {
    // keepalived runs in HAProxy's network namespace, as both run on a load balancer's host
    // network: its track script asks HAProxy on 127.0.0.1, the VIP goes on the namespace's
    // eth0.
    let haproxy = start_haproxy();
    let keepalived = Running::start(
        "keepalived",
        &[
            format!("--network=container:{}", haproxy.container),
            // The module's container's capabilities.
            "--cap-add=NET_ADMIN".to_string(),
            "--cap-add=NET_BROADCAST".to_string(),
            "--cap-add=NET_RAW".to_string(),
            config_volume("/etc/cairn/keepalived"),
        ],
    );
    keepalived.wait_for("the VIP on eth0", Duration::from_secs(30), || {
        docker(&[
            "exec",
            &keepalived.container,
            "ip",
            "-o",
            "-4",
            "address",
            "show",
            "dev",
            "eth0",
        ])
        .ok()
        .filter(|addresses| addresses.contains(&format!("inet {VIP}/24 ")))
    });
    let logs = keepalived.logs();
    assert!(
        logs.contains("(packaged_vip) Entering MASTER STATE"),
        "the only load balancer is the master:\n{logs}"
    );
    // The entrypoint refuses a config keepalived's own check rejects: the same check, here.
    let checked = docker(&[
        "exec",
        &keepalived.container,
        "keepalived",
        "--config-test",
        "--use-file",
        "/etc/cairn/keepalived/keepalived.conf",
    ]);
    assert!(checked.is_ok(), "keepalived --config-test: {checked:?}");
}

#[test]
fn registry_from_its_packages_stores_a_blob_as_its_own_user() {
    let data = tempfile::tempdir().unwrap();
    let registry = Running::start(
        "registry",
        &[
            config_volume("/etc/cairn/registry"),
            volume(data.path(), "/var/lib/docker-registry"),
        ],
    );
    registry.wait_for_ok(REGISTRY_PORT, "/v2/");
    let address = registry.address();

    // A blob pushed as Docker pushes one: an upload started, then its content put with its
    // digest, which the registry checks.
    let blob = b"a layer of the package images' test\n";
    let hex: String = {
        use sha2::Digest;
        sha2::Sha256::digest(blob)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    };
    let (status, head, _) = http(
        &address,
        REGISTRY_PORT,
        "POST",
        "/v2/image-test/blobs/uploads/",
        b"",
    )
    .expect("the registry answers");
    assert_eq!(status, 202, "{head}");
    let location = header(&head, "Location").expect("the upload's location");
    let upload = &location[location.find("/v2/").expect("the upload's path")..];
    let separator = if upload.contains('?') { '&' } else { '?' };
    let (status, head, _) = http(
        &address,
        REGISTRY_PORT,
        "PUT",
        &format!("{upload}{separator}digest=sha256:{hex}"),
        blob,
    )
    .expect("the registry answers");
    assert_eq!(status, 201, "{head}");
    let (status, head, body) = http(
        &address,
        REGISTRY_PORT,
        "GET",
        &format!("/v2/image-test/blobs/sha256:{hex}"),
        b"",
    )
    .expect("the registry answers");
    assert_eq!((status, body.as_slice()), (200, &blob[..]), "{head}");

    let stored = data
        .path()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(&hex)
        .join("data");
    let owner = std::fs::metadata(&stored).expect("the blob is in the data directory");
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&owner),
        502,
        "the image's docker-registry user, at the id its definition fixes"
    );
}

#[test]
fn nginx_from_its_packages_serves_the_repository_folder() {
    let repository = tempfile::tempdir().unwrap();
    let release = b"Origin: cairn\nSuite: packaged\n";
    let suite = repository.path().join("dists/packaged");
    std::fs::create_dir_all(&suite).unwrap();
    std::fs::write(suite.join("Release"), release).unwrap();
    // Readable by every user, as the module asks: nginx's workers run as www-data.
    std::fs::set_permissions(
        repository.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let nginx = Running::start(
        "repository",
        &[
            config_volume("/etc/cairn/repository"),
            volume(repository.path(), "/var/www/repository:ro"),
        ],
    );
    let (head, body) = nginx.wait_for_ok(REPOSITORY_PORT, "/dists/packaged/Release");
    assert_eq!(body, release, "{head}");
}

#[test]
fn console_from_its_packages_answers_its_health() {
    let data = tempfile::tempdir().unwrap();
    let console = Running::start(
        "console",
        &[
            config_volume("/etc/cairn/console"),
            env_file(
                data.path(),
                &format!("CONSOLE_SESSION_KEY={CONSOLE_SESSION_KEY}\n"),
            ),
        ],
    );
    let (_, health) = console.wait_for_ok(CONSOLE_PORT, "/health");
    assert_eq!(health, b"ok\n");
    let address = console.address();
    // Its page has the title of the config cairn rendered.
    let (status, _, page) =
        http(&address, CONSOLE_PORT, "GET", "/", b"").expect("the console answers");
    assert_eq!(
        (status, String::from_utf8_lossy(&page).into_owned()),
        (200, format!("<h1>{CONSOLE_TITLE}</h1>\n"))
    );
}
