//! A whole Debian machine for the nodes that need one: systemd as PID 1 (services), apt
//! and dpkg (packages), OpenSSH (cairn reaches it as it reaches any host). It runs as a
//! container of the machine's Docker engine, on the host network, its sshd listening on a
//! loopback address of the test's own.
//!
//! Its image is the lab's machine image (`cairn_lab::MachineImage`: a fresh Debian server,
//! debootstrap's default variant with systemd and OpenSSH, made once per engine since
//! nothing can be pulled here), so the tests and `cairn lab` start from one recipe.
//! Packages for the tests come from a repository each test builds itself
//! ([`TestRepository`]): `.deb`s made by `dpkg-deb`, indexed by `dpkg-scanpackages`,
//! served by busybox's httpd on loopback (the tools of `debian_repository`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::debian_repository::{build_deb, scan_packages, serve_folder};
use crate::support::free_ports::free_port;
use crate::support::ssh_fixture::{keygen, wait_for_port};
use crate::support::{Outcome, Sandbox, cairn, run_successfully};

/// The lab's machine image, made unless the engine has it (tests of one or several
/// processes wait on one lock: it is made once). Its tag: a Debian with apt, for tests
/// that need one as an image's base too.
pub fn ensure_image() -> String {
    cairn_lab::MachineImage::ensure(&cairn_lab::DockerCli, &|_| {})
        .unwrap_or_else(|error| panic!("the machine image: {error}"))
        .tag
}

/// A running systemd host, removed when dropped.
pub struct SystemdHost {
    pub container: String,
    pub address: String,
    pub port: u16,
    directory: tempfile::TempDir,
}

impl Drop for SystemdHost {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "--force", &self.container])
            .output();
    }
}

impl SystemdHost {
    /// Boots a host whose sshd listens on `address` (a loopback address of the test's own).
    pub fn start(address: &str) -> Self {
        let image = ensure_image();
        let directory = tempfile::tempdir().expect("a temporary folder");
        let folder = directory.path();
        keygen(&folder.join("client_key"));
        keygen(&folder.join("host_key"));
        std::fs::copy(
            folder.join("client_key.pub"),
            folder.join("authorized_keys"),
        )
        .expect("authorized_keys");
        let port = free_port(address);
        std::fs::write(
            folder.join("sshd.conf"),
            format!(
                "ListenAddress {address}:{port}\nHostKey /etc/ssh/cairn_test_host_key\n\
                 AuthorizedKeysFile /etc/ssh/cairn_test_authorized_keys\nPasswordAuthentication no\n\
                 PermitRootLogin prohibit-password\nMaxStartups 100\nLogLevel ERROR\n"
            ),
        )
        .expect("sshd settings");
        let container = format!(
            "cairn-test-host-{}-{}",
            std::process::id(),
            address.replace('.', "-")
        );
        let _ = Command::new("docker")
            .args(["rm", "--force", &container])
            .output();
        let mount = |source: &str, target: &str| {
            format!(
                "type=bind,source={},target={target},readonly",
                folder.join(source).display()
            )
        };
        run_successfully(
            Command::new("docker")
                .args(["run", "--detach", "--name", &container, "--network", "host"])
                .args(["--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp"])
                .args(["--volume", "/sys/fs/cgroup:/sys/fs/cgroup:ro"])
                .args([
                    "--mount",
                    &mount("sshd.conf", "/etc/ssh/sshd_config.d/cairn-test.conf"),
                ])
                .args([
                    "--mount",
                    &mount("host_key", "/etc/ssh/cairn_test_host_key"),
                ])
                .args([
                    "--mount",
                    &mount("authorized_keys", "/etc/ssh/cairn_test_authorized_keys"),
                ])
                .arg(&image),
            "docker run of the systemd host",
        );
        let host = Self {
            container,
            address: address.to_string(),
            port,
            directory,
        };
        wait_for_port(address, port);
        let public_key = std::fs::read_to_string(host.directory.path().join("host_key.pub"))
            .expect("the host's public key");
        let public_key: Vec<&str> = public_key.split_whitespace().take(2).collect();
        std::fs::write(
            host.known_hosts(),
            format!("[{address}]:{port} {}\n", public_key.join(" ")),
        )
        .expect("known_hosts");
        host
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.directory.path().join("known_hosts")
    }

    /// The arguments that make `cairn apply` use this host's key and known_hosts.
    pub fn arguments(&self) -> Vec<String> {
        vec![
            "--identity".to_string(),
            self.directory
                .path()
                .join("client_key")
                .display()
                .to_string(),
            "--known-hosts".to_string(),
            self.known_hosts().display().to_string(),
        ]
    }

    /// `cairn apply cluster.lock --json` in `sandbox` against this host, and the JSON it
    /// printed (`null` when it printed none).
    pub fn apply(&self, sandbox: &Sandbox) -> (Outcome, serde_json::Value) {
        let outcome = cairn()
            .current_dir(sandbox.path())
            .args(["apply", "cluster.lock", "--json"])
            .args(self.arguments())
            .run();
        let report = serde_json::from_str(&outcome.stdout).unwrap_or(serde_json::Value::Null);
        (outcome, report)
    }

    /// What `cairn plan cluster.lock` in `sandbox` prints for this host.
    pub fn plan_text(&self, sandbox: &Sandbox) -> String {
        cairn()
            .current_dir(sandbox.path())
            .args(["plan", "cluster.lock"])
            .args(self.arguments())
            .run()
            .success()
            .stdout
    }

    /// Runs `script` on the host (as root, outside cairn); returns its status and stdout.
    pub fn shell(&self, script: &str) -> (bool, String) {
        let output = Command::new("docker")
            .args(["exec", &self.container, "sh", "-c", script])
            .output()
            .expect("docker exec runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).trim().to_string(),
        )
    }

    /// `systemctl show --value -p PROPERTY UNIT`.
    pub fn unit_property(&self, unit: &str, property: &str) -> String {
        self.shell(&format!("systemctl show --value -p {property} {unit}"))
            .1
    }

    /// The installed version of `package`, or `None`.
    pub fn package_version(&self, package: &str) -> Option<String> {
        let (_, status) = self.shell(&format!(
            "dpkg-query -W -f='${{db:Status-Abbrev}}${{Version}}' {package} 2>/dev/null"
        ));
        status.strip_prefix("ii ").map(str::to_string)
    }
}

/// The nodes of a module that make the test's repository a host's only apt source:
/// `cairn-test.list` holding `$content` (a template of the module's source setting), and
/// `sources.list` emptied of Debian's archive. The module's package nodes depend on both.
macro_rules! test_repository_only_nodes {
    ($content:literal) => {
        concat!(
            r##"
[[node]]
kind = "file"
path = "/etc/apt/sources.list.d/cairn-test.list"
content = ""##,
            $content,
            r##""
deps = ["check:*"]

[[node]]
kind = "file"
path = "/etc/apt/sources.list"
content = "# The test repository only.\n"
deps = ["check:*"]
"##
        )
    };
}
pub(crate) use test_repository_only_nodes;

/// The nodes of the `hello` module that run `cairn-hello`'s service (its package node
/// named `hello`): its configuration, saying `greeting = $greeting`, then its unit.
macro_rules! hello_service_nodes {
    ($greeting:literal) => {
        concat!(
            r#"
[[node]]
kind = "file"
path = "/etc/cairn-hello.conf"
content = "greeting = "#,
            $greeting,
            r#"\n"
deps = ["package:hello"]

[[node]]
kind = "service"
unit = "cairn-hello.service"
deps = ["package:hello", "file:/etc/cairn-hello.conf"]
"#
        )
    };
}
pub(crate) use hello_service_nodes;

/// A Debian repository of packages the test makes, served over HTTP on loopback.
pub struct TestRepository {
    pub url: String,
    _directory: tempfile::TempDir,
    server: std::process::Child,
}

impl Drop for TestRepository {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// A package to put in a [`TestRepository`]: its name, version and files (path, content,
/// mode).
pub struct TestPackage<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub files: Vec<(&'a str, String, u32)>,
}

impl TestRepository {
    /// Builds every package, indexes them as a flat repository (`deb URL ./`) and serves it
    /// on `address`.
    pub fn serve(address: &str, packages: &[TestPackage<'_>]) -> Self {
        let directory = tempfile::tempdir().expect("a temporary folder");
        let pool = directory.path().join("repository");
        std::fs::create_dir_all(&pool).expect("the repository folder");
        for package in packages {
            build_package(directory.path(), &pool, package);
        }
        index_repository(
            &pool,
            ".",
            "Packages",
            "Release",
            "Origin: cairn-test\nLabel: cairn-test\n",
        );
        let port = free_port(address);
        Self {
            url: format!("http://{address}:{port}"),
            server: serve_folder(&pool, address, port),
            _directory: directory,
        }
    }

    /// The apt source line for this repository.
    pub fn source_line(&self) -> String {
        format!("deb [trusted=yes] {} ./\n", self.url)
    }

    /// Stops serving: the repository becomes unreachable.
    pub fn stop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Indexes the packages of a repository folder, `root`, as apt reads them: the `.deb`s
/// under `scanned` (relative to `root`, as each `Filename:` of the index then is) listed by
/// `dpkg-scanpackages` in `packages_index`, and a `Release` at `release` (both relative to
/// `root`) that starts with `release_fields` and gives the index's SHA256 and size, by its
/// path from the Release's folder. A flat repository (`deb URL ./`) has both at its top;
/// Debian's layout has `dists/<suite>/Release` and `dists/<suite>/<component>/binary-<arch>/Packages`
/// over a `pool/`.
pub fn index_repository(
    root: &Path,
    scanned: &str,
    packages_index: &str,
    release: &str,
    release_fields: &str,
) {
    let packages_path = root.join(packages_index);
    std::fs::create_dir_all(packages_path.parent().expect("a parent")).expect("the index's folder");
    let index = scan_packages(root, scanned);
    std::fs::write(&packages_path, &index).expect("the Packages index");
    let hash = Command::new("sha256sum")
        .arg(&packages_path)
        .output()
        .expect("sha256sum runs");
    assert!(
        hash.status.success(),
        "sha256sum of the Packages index failed"
    );
    let hash = String::from_utf8_lossy(&hash.stdout);
    let hash = hash.split_whitespace().next().expect("a hash");
    let release_folder = Path::new(release).parent().expect("a parent");
    let listed = Path::new(packages_index)
        .strip_prefix(release_folder)
        .expect("the index lies under the Release's folder");
    std::fs::write(
        root.join(release),
        format!(
            "{release_fields}SHA256:\n {hash} {size} {listed}\n",
            size = index.len(),
            listed = listed.display()
        ),
    )
    .expect("the Release file");
}

/// Builds `package` into `pool` (as `<name>_<version>_all.deb`), its tree staged under
/// `work`; returns the package's path.
pub fn build_package(work: &Path, pool: &Path, package: &TestPackage<'_>) -> PathBuf {
    let tree = work.join(format!("{}-{}", package.name, package.version));
    std::fs::create_dir_all(tree.join("DEBIAN")).expect("the package's DEBIAN folder");
    std::fs::write(
        tree.join("DEBIAN/control"),
        format!(
            "Package: {}\nVersion: {}\nArchitecture: all\nMaintainer: cairn tests <tests@cairn.test>\nDescription: a package the cairn tests made\n",
            package.name, package.version
        ),
    )
    .expect("the control file");
    for (path, content, mode) in &package.files {
        let target = tree.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("a folder");
        std::fs::write(&target, content).expect("a package file");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(*mode))
            .expect("a file mode");
    }
    let built = pool.join(format!("{}_{}_all.deb", package.name, package.version));
    build_deb(&tree, &built);
    built
}
