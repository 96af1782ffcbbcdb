//! A Debian repository the test builds and serves, as a package source of `[packages]` that
//! `cairn compile` pins from and `cairn fetch` downloads from: `.deb`s made by `dpkg-deb`
//! into `pool/main/`, indexed by `dpkg-scanpackages` in `dists/bookworm/main/binary-amd64/`
//! with a hand-written, unsigned `Release` (Debian's layout), served by busybox's httpd on
//! loopback. The Debian tools it is made with ([`build_deb`], [`scan_packages`],
//! [`serve_folder`]) make the other test repositories too (`systemd_host`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::download_server::sha256_hex;
use crate::support::free_ports::free_port;
use crate::support::run_successfully;
use crate::support::ssh_fixture::wait_for_port;

/// A module whose image asks for one package of the test's repository.
pub(crate) const APP_MODULE: &str = r#"[module]
name = "app"
description = "an image of packages from the test's repository"
roles = ["app"]

[[image]]
name = "app"
base = "{{ images.base }}"
packages = ["cairn-app"]
env = { APP_MODE = "pinned" }
entrypoint = ["/usr/bin/cairn-app"]
"#;

/// A package of a [`DebianRepository`]: name, version, architecture, `Depends`.
#[derive(Clone, Copy)]
pub(crate) struct DebianPackage {
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
    pub(crate) architecture: &'static str,
    pub(crate) depends: &'static str,
    /// `Priority`: `optional` unless given ([`DebianPackage::with_priority`]).
    pub(crate) priority: &'static str,
}

impl DebianPackage {
    pub(crate) const fn new(
        name: &'static str,
        version: &'static str,
        architecture: &'static str,
        depends: &'static str,
    ) -> DebianPackage {
        DebianPackage {
            name,
            version,
            architecture,
            depends,
            priority: "optional",
        }
    }

    /// The package with `Priority: priority` (`required`: part of a host's base system).
    pub(crate) const fn with_priority(mut self, priority: &'static str) -> DebianPackage {
        self.priority = priority;
        self
    }

    /// Where the package is, relative to the repository's root:
    /// `pool/main/<name>_<version>_<architecture>.deb`, the version without its epoch, as
    /// Debian names its files.
    pub(crate) fn pool_path(&self) -> String {
        let file_version = self.version.rsplit(':').next().expect("a version");
        format!(
            "pool/main/{}_{file_version}_{}.deb",
            self.name, self.architecture
        )
    }
}

/// The packages the tests pin `cairn-app` from: `cairn-app` needs `cairn-lib (>= 1.0)`,
/// which needs `cairn-base`, and one of `cairn-shell | cairn-other`; `cairn-other` is never
/// chosen for `cairn-app` alone (apt takes the first alternative it can). Each is at 1.0,
/// but `cairn-other` at 2.0 and `cairn-base` at `base_version` (which may have an epoch).
pub(crate) const fn app_packages(base_version: &'static str) -> [DebianPackage; 5] {
    [
        DebianPackage::new(
            "cairn-app",
            "1.0",
            "amd64",
            "cairn-lib (>= 1.0), cairn-shell | cairn-other",
        ),
        DebianPackage::new("cairn-lib", "1.0", "all", "cairn-base"),
        DebianPackage::new("cairn-base", base_version, "all", ""),
        DebianPackage::new("cairn-shell", "1.0", "all", ""),
        DebianPackage::new("cairn-other", "2.0", "all", ""),
    ]
}

/// The Packages indexes a [`DebianRepository`] publishes, each listed in its `Release`.
#[derive(Clone, Copy)]
enum Indexes {
    /// `Packages` and `Packages.gz`: compile reads the compressed one.
    PlainAndGzip,
    /// `Packages` alone: compile reads the plain index when the Release lists no other.
    Plain,
}

/// A Debian repository (`dists/bookworm/main/binary-amd64`, `pool/main`) served over HTTP.
pub(crate) struct DebianRepository {
    /// The repository's root URL, as a source line names it.
    pub(crate) url: String,
    /// The served folder's `debian/`.
    pub(crate) root: PathBuf,
    folder: tempfile::TempDir,
    indexes: Indexes,
    server: Option<std::process::Child>,
}

impl Drop for DebianRepository {
    fn drop(&mut self) {
        self.stop();
    }
}

impl DebianRepository {
    /// Builds `packages`, indexes them (`Packages` and `Packages.gz`) and serves the
    /// repository.
    pub(crate) fn serve(packages: &[DebianPackage]) -> DebianRepository {
        DebianRepository::serve_with(packages, Indexes::PlainAndGzip)
    }

    /// As [`DebianRepository::serve`], the index published uncompressed alone.
    pub(crate) fn serve_uncompressed(packages: &[DebianPackage]) -> DebianRepository {
        DebianRepository::serve_with(packages, Indexes::Plain)
    }

    fn serve_with(packages: &[DebianPackage], indexes: Indexes) -> DebianRepository {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let root = folder.path().join("debian");
        std::fs::create_dir_all(root.join("pool/main")).expect("the pool");
        let address = "127.0.0.1";
        let port = free_port(address);
        let mut repository = DebianRepository {
            url: format!("http://{address}:{port}/debian"),
            root,
            folder,
            indexes,
            server: None,
        };
        for package in packages {
            repository.build(package);
        }
        repository.index();
        repository.server = Some(serve_folder(repository.folder.path(), address, port));
        repository
    }

    /// The repository as a line of `[packages] sources`.
    pub(crate) fn source_line(&self) -> String {
        format!("{} bookworm main", self.url)
    }

    /// Builds `package` into the pool, then indexes the pool again.
    pub(crate) fn publish(&self, package: &DebianPackage) {
        self.build(package);
        self.index();
    }

    /// Builds `package` into the pool, at its [`DebianPackage::pool_path`].
    fn build(&self, package: &DebianPackage) {
        let tree = self
            .folder
            .path()
            .join(format!("build/{}-{}", package.name, package.version));
        let documentation = tree.join("usr/share/doc").join(package.name);
        std::fs::create_dir_all(tree.join("DEBIAN")).expect("the package's DEBIAN folder");
        std::fs::create_dir_all(&documentation).expect("a folder");
        std::fs::write(
            documentation.join("README"),
            format!("{} {}\n", package.name, package.version),
        )
        .expect("a package file");
        let depends = if package.depends.is_empty() {
            String::new()
        } else {
            format!("Depends: {}\n", package.depends)
        };
        std::fs::write(
            tree.join("DEBIAN/control"),
            format!(
                "Package: {}\nVersion: {}\nArchitecture: {}\n{depends}Maintainer: cairn tests <tests@cairn.test>\nPriority: {}\nDescription: a package the cairn tests made\n it has a long description\n .\n of two paragraphs\n",
                package.name, package.version, package.architecture, package.priority
            ),
        )
        .expect("the control file");
        build_deb(&tree, &self.root.join(package.pool_path()));
    }

    /// `dists/bookworm/main/binary-amd64/Packages` of the pool (and `Packages.gz`, unless it
    /// is served uncompressed), and a `Release` listing them by sha256 and size.
    pub(crate) fn index(&self) {
        let packages = scan_packages(&self.root, "pool");
        let mut indexes = vec![("Packages", packages.clone())];
        if let Indexes::PlainAndGzip = self.indexes {
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gzip.write_all(&packages).expect("gzip");
            indexes.push(("Packages.gz", gzip.finish().expect("gzip")));
        }
        let binary = self.root.join("dists/bookworm/main/binary-amd64");
        std::fs::create_dir_all(&binary).expect("the index's folder");
        let mut release = String::from(
            "Origin: cairn-test\nLabel: cairn-test\nSuite: bookworm\nCodename: bookworm\nArchitectures: amd64\nComponents: main\nSHA256:\n",
        );
        for (name, bytes) in &indexes {
            std::fs::write(binary.join(name), bytes).expect("a Packages index");
            release.push_str(&format!(
                " {} {} main/binary-amd64/{name}\n",
                sha256_hex(bytes),
                bytes.len()
            ));
        }
        std::fs::write(self.root.join("dists/bookworm/Release"), release).expect("Release");
    }

    /// Stops serving: the repository becomes unreachable.
    pub(crate) fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

/// `dpkg-deb --build` of the package `tree` into `deb`, its files owned by root.
pub(crate) fn build_deb(tree: &Path, deb: &Path) {
    run_successfully(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(tree)
            .arg(deb),
        "dpkg-deb --build",
    );
}

/// The Packages index `dpkg-scanpackages` writes of the `.deb`s under `scanned`, every
/// version of each, their `Filename:`s relative to `root`.
pub(crate) fn scan_packages(root: &Path, scanned: &str) -> Vec<u8> {
    let scan = Command::new("dpkg-scanpackages")
        .args(["--multiversion", scanned, "/dev/null"])
        .current_dir(root)
        .stderr(Stdio::null())
        .output()
        .expect("dpkg-scanpackages runs (Debian's dpkg-dev)");
    assert!(scan.status.success(), "indexing the test repository failed");
    scan.stdout
}

/// busybox's httpd serving `folder` on `address:port`, once it listens.
pub(crate) fn serve_folder(folder: &Path, address: &str, port: u16) -> std::process::Child {
    let server = Command::new("busybox")
        .args(["httpd", "-f", "-p", &format!("{address}:{port}"), "-h"])
        .arg(folder)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("busybox httpd starts (Debian's busybox-static; .ci/run installs it)");
    wait_for_port(address, port);
    server
}
