//! `cairn fetch LOCK --export DIR`: the Debian packages a lockfile pins, fetched into the
//! store and checked, then written to DIR as the offline repository the control host serves
//! (`pool/`, `dists/<suite>/main/binary-<arch>/Packages` and `Packages.gz`, an unsigned
//! `Release`). Each image pins its packages from a repository the test builds (dpkg-deb,
//! dpkg-scanpackages) and serves with busybox's httpd on loopback; the export is then read
//! by this machine's apt, with a configuration of its own (its sources, lists, caches and
//! an empty dpkg status in the test's folder, nothing of the machine's apt touched): apt
//! must refresh its lists from it without a warning and resolve, install (simulated) and
//! download exactly the pinned versions.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cairn_lockfiles::{Lockfile, NodeSpec, PackagePin};

use crate::download_server::sha256_hex;
use crate::ssh_fixture::{free_port, wait_for_port};
use crate::support::{Outcome, Sandbox, cairn, file_content};

/// A module whose image asks for one package of the test's repository.
const APP_MODULE: &str = r#"[module]
name = "app"
description = "an image of packages from the test's repository"
roles = ["app"]

[[image]]
name = "app"
base = "{{ images.base }}"
packages = ["cairn-app"]
entrypoint = ["/usr/bin/cairn-app"]
"#;

/// A package of the test's repository: name, version, architecture, `Depends`.
struct Package {
    name: &'static str,
    version: &'static str,
    architecture: &'static str,
    depends: &'static str,
}

/// `cairn-app` needs `cairn-lib (>= 1.0)`, which needs `cairn-base`, and one of
/// `cairn-shell | cairn-other`: the image pins four packages, never `cairn-other`, which
/// the export must then leave out.
const PACKAGES: [Package; 5] = [
    Package {
        name: "cairn-app",
        version: "1.0",
        architecture: "amd64",
        depends: "cairn-lib (>= 1.0), cairn-shell | cairn-other",
    },
    Package {
        name: "cairn-lib",
        version: "1.0",
        architecture: "all",
        depends: "cairn-base",
    },
    Package {
        name: "cairn-base",
        version: "1:1.0",
        architecture: "all",
        depends: "",
    },
    Package {
        name: "cairn-shell",
        version: "1.0",
        architecture: "all",
        depends: "",
    },
    Package {
        name: "cairn-other",
        version: "2.0",
        architecture: "all",
        depends: "",
    },
];

/// The test's upstream repository (`dists/stable/main/binary-amd64`, `pool/main`), served
/// over HTTP: what compile pins from and fetch downloads from.
struct UpstreamRepository {
    url: String,
    root: PathBuf,
    folder: tempfile::TempDir,
    server: Option<std::process::Child>,
}

impl Drop for UpstreamRepository {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

impl UpstreamRepository {
    fn serve(packages: &[Package]) -> UpstreamRepository {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let root = folder.path().join("debian");
        std::fs::create_dir_all(root.join("pool/main")).expect("the pool");
        let address = "127.0.0.1";
        let port = free_port(address);
        let mut repository = UpstreamRepository {
            url: format!("http://{address}:{port}/debian"),
            root,
            folder,
            server: None,
        };
        for package in packages {
            repository.publish(package);
        }
        repository.server = Some(serve_folder(repository.folder.path(), address, port));
        repository
    }

    /// Builds `package` into the pool, then indexes the pool again.
    fn publish(&self, package: &Package) {
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
                "Package: {}\nVersion: {}\nArchitecture: {}\n{depends}Maintainer: cairn tests <tests@cairn.test>\nPriority: optional\nDescription: a package the cairn tests made\n it has a long description\n .\n of two paragraphs\n",
                package.name, package.version, package.architecture
            ),
        )
        .expect("the control file");
        let file_version = package.version.rsplit(':').next().expect("a version");
        let deb = self.root.join(format!(
            "pool/main/{}_{file_version}_{}.deb",
            package.name, package.architecture
        ));
        let output = Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&tree)
            .arg(&deb)
            .output()
            .expect("dpkg-deb runs");
        assert!(
            output.status.success(),
            "dpkg-deb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.index();
    }

    /// `dists/stable/main/binary-amd64/Packages` of the pool and a `Release` listing it.
    fn index(&self) {
        let scan = Command::new("dpkg-scanpackages")
            .args(["--multiversion", "pool", "/dev/null"])
            .current_dir(&self.root)
            .stderr(Stdio::null())
            .output()
            .expect("dpkg-scanpackages runs (Debian's dpkg-dev)");
        assert!(scan.status.success(), "indexing the test repository failed");
        let binary = self.root.join("dists/stable/main/binary-amd64");
        std::fs::create_dir_all(&binary).expect("the index's folder");
        std::fs::write(binary.join("Packages"), &scan.stdout).expect("Packages");
        let release = format!(
            "Suite: stable\nCodename: stable\nArchitectures: amd64\nComponents: main\nSHA256:\n {} {} main/binary-amd64/Packages\n",
            sha256_hex(&scan.stdout),
            scan.stdout.len()
        );
        std::fs::write(self.root.join("dists/stable/Release"), release).expect("Release");
    }
}

/// busybox's httpd serving `folder` on `address:port`.
fn serve_folder(folder: &Path, address: &str, port: u16) -> std::process::Child {
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

/// A spec of the app module on one host, its image pinned from `repository`; host-base
/// left out, so nothing names a suite and the export's is `cairn`.
fn spec(repository: &UpstreamRepository) -> String {
    format!(
        "[cluster]\nname = \"offline\"\ndomain = \"offline.test\"\nmodules = [\"modules\"]\n\
         exclude_modules = [\"host-base\", \"preflight\", \"consul\", \"cadvisor\"]\n\n\
         [hosts.node1]\naddress = \"10.0.0.1\"\nroles = [\"app\"]\n\n\
         [images]\nsources = [\"{} stable main\"]\nbase_packages = []\n",
        repository.url
    )
}

/// A sandbox whose `cluster.lock` pins the app image from `repository`.
fn compiled(repository: &UpstreamRepository) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .write("modules/app/module.toml", APP_MODULE)
        .write("cluster.toml", &spec(repository));
    compile(&sandbox, &[]);
    sandbox
}

fn compile(sandbox: &Sandbox, extra: &[&str]) {
    cairn()
        .current_dir(sandbox.path())
        .env(
            "XDG_CACHE_HOME",
            &sandbox.path().join("cache").to_string_lossy(),
        )
        .args(["compile", "cluster.toml"])
        .args(extra)
        .run()
        .success();
}

/// The sandbox's own artifact store.
fn store(sandbox: &Sandbox) -> PathBuf {
    sandbox.path().join("store")
}

/// `cairn fetch cluster.lock --export FOLDER` with the sandbox's store.
fn fetch_export(sandbox: &Sandbox, folder: &Path) -> Outcome {
    cairn()
        .current_dir(sandbox.path())
        .env("CAIRN_STORE", &store(sandbox).to_string_lossy())
        .args(["fetch", "cluster.lock", "--export"])
        .arg(folder)
        .run()
}

/// The app image's pins.
fn pins(sandbox: &Sandbox) -> Vec<PackagePin> {
    let lockfile = Lockfile::read(&sandbox.path().join("cluster.lock")).expect("the lockfile");
    lockfile
        .nodes()
        .iter()
        .find_map(|node| match &node.spec {
            NodeSpec::Image(image) if image.name == "app" => image.pins.clone(),
            _ => None,
        })
        .expect("the app image is pinned")
        .packages
}

/// Every file under `folder` by its relative path, with its bytes and mode: what two
/// exports are compared by.
fn snapshot(folder: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    let mut files = BTreeMap::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("a folder of the export") {
            let path = entry.expect("an entry").path();
            let metadata = std::fs::symlink_metadata(&path).expect("metadata");
            if metadata.is_dir() {
                assert_eq!(
                    metadata.mode() & 0o777,
                    0o755,
                    "{} is listable by nginx's workers",
                    path.display()
                );
                pending.push(path);
            } else {
                let relative = path.strip_prefix(folder).expect("below the export");
                files.insert(
                    relative.to_string_lossy().into_owned(),
                    (
                        std::fs::read(&path).expect("a file"),
                        metadata.mode() & 0o777,
                    ),
                );
            }
        }
    }
    files
}

/// apt with a configuration of its own in `folder`: the sources file given (deb822, as
/// host-base writes `cairn.sources`), its lists and caches there, an empty dpkg status
/// (so `install --simulate` installs everything a request needs), amd64 whatever this
/// machine is, and none of the machine's configuration read (`APT_CONFIG` points the
/// parts elsewhere).
struct PrivateApt {
    folder: PathBuf,
}

impl PrivateApt {
    fn new(folder: &Path, sources: &str) -> Self {
        for sub_folder in [
            "parts",
            "sources.d",
            "preferences.d",
            "state/lists/partial",
            "cache/archives/partial",
            "download",
        ] {
            std::fs::create_dir_all(folder.join(sub_folder)).expect("apt's folders");
        }
        std::fs::write(folder.join("sources.list"), "").expect("no one-line sources");
        std::fs::write(folder.join("sources.d/cairn.sources"), sources).expect("the source");
        let path = |relative: &str| folder.join(relative).display().to_string();
        std::fs::write(
            folder.join("apt.conf"),
            format!(
                "Dir::Etc::Main \"/dev/null\";\nDir::Etc::Parts \"{parts}\";\n\
                 Dir::Etc::SourceList \"{sources}\";\nDir::Etc::SourceParts \"{source_parts}\";\n\
                 Dir::Etc::PreferencesParts \"{preferences}\";\n\
                 Dir::State \"{state}\";\nDir::State::status \"/dev/null\";\n\
                 Dir::Cache \"{cache}\";\nDebug::NoLocking \"1\";\n\
                 APT::Architecture \"amd64\";\nAPT::Architectures {{ \"amd64\"; }};\n\
                 APT::Sandbox::User \"root\";\nAcquire::Languages \"none\";\n",
                parts = path("parts"),
                sources = path("sources.list"),
                source_parts = path("sources.d"),
                preferences = path("preferences.d"),
                state = path("state"),
                cache = path("cache"),
            ),
        )
        .expect("the apt configuration");
        Self {
            folder: folder.to_path_buf(),
        }
    }

    /// `apt-get ARGUMENTS` in the download folder: its output, which must be a success.
    fn apt_get(&self, arguments: &[&str]) -> String {
        let output = Command::new("apt-get")
            .args(arguments)
            .current_dir(self.folder.join("download"))
            .env("APT_CONFIG", self.folder.join("apt.conf"))
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .expect("apt-get runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "apt-get {arguments:?} failed\n{text}"
        );
        text
    }

    /// `apt-get update`, which must neither fail nor warn: an index missing, a checksum
    /// apt disagrees with, a `Release` field it finds wanting.
    fn update(&self) {
        let output = self.apt_get(&["--error-on=any", "update"]);
        assert!(
            !output
                .lines()
                .any(|line| line.starts_with(['W', 'E', 'N']) && line.chars().nth(1) == Some(':')),
            "apt-get update complained\n{output}"
        );
    }

    /// The (name, version) pairs `apt-get install --simulate REQUEST` would install.
    fn simulated_install(&self, request: &str) -> Vec<(String, String)> {
        let output = self.apt_get(&["install", "--simulate", "--no-install-recommends", request]);
        let mut installed: Vec<(String, String)> = output
            .lines()
            .filter_map(|line| {
                let mut words = line.strip_prefix("Inst ")?.split_whitespace();
                let name = words.next()?.to_string();
                let version = words.next()?.trim_start_matches('(').to_string();
                Some((name, version))
            })
            .collect();
        installed.sort();
        installed
    }
}

/// `Outcome::stdout_has`, as `stderr_has` is.
trait StdoutHas {
    fn stdout_has(self, text: &str) -> Self;
}

impl StdoutHas for Outcome {
    fn stdout_has(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text),
            "`{}`: stdout lacks {text:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.description,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// The deb822 source of an unsigned repository, as host-base writes one.
fn source(uri: &str, suite: &str, components: &str) -> String {
    format!("Types: deb\nURIs: {uri}\nSuites: {suite}\nComponents: {components}\nTrusted: yes\n")
}

fn pinned_versions(pins: &[PackagePin]) -> Vec<(String, String)> {
    let mut versions: Vec<(String, String)> = pins
        .iter()
        .map(|pin| (pin.name.clone(), pin.version.clone()))
        .collect();
    versions.sort();
    versions
}

#[test]
fn apt_reads_the_export_over_http_and_installs_and_downloads_exactly_the_pinned_versions() {
    let upstream = UpstreamRepository::serve(&PACKAGES);
    let sandbox = compiled(&upstream);
    let export = sandbox.path().join("repository");
    fetch_export(&sandbox, &export)
        .success()
        .stdout_has("4 pinned downloads: 4 downloaded")
        .stdout_has(&format!(
            "exported 4 packages to {}: suite cairn, components main, architectures amd64 \
             (4 hard-linked from the store, 0 copied); 0 stale .debs of an earlier export removed",
            export.display()
        ));

    // Debian's layout: the pinned .debs alone in the pool (not cairn-other, which nothing
    // pins), each the store's file itself, readable by nginx's workers; the epoch is not
    // in a file name.
    let pins = pins(&sandbox);
    let files = snapshot(&export);
    let pool: Vec<&str> = files
        .keys()
        .filter(|path| path.starts_with("pool/"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        pool,
        [
            "pool/main/c/cairn-app/cairn-app_1.0_amd64.deb",
            "pool/main/c/cairn-base/cairn-base_1.0_all.deb",
            "pool/main/c/cairn-lib/cairn-lib_1.0_all.deb",
            "pool/main/c/cairn-shell/cairn-shell_1.0_all.deb",
        ]
    );
    for pin in &pins {
        let stored = std::fs::metadata(store(&sandbox).join("sha256").join(&pin.sha256))
            .expect("the store's file");
        let exported = std::fs::metadata(
            export.join(
                pool.iter()
                    .find(|path| path.contains(&format!("/{}/", pin.name)))
                    .expect("in the pool"),
            ),
        )
        .expect("the pool's file");
        assert_eq!(
            (exported.ino(), exported.mode() & 0o777),
            (stored.ino(), 0o644),
            "{} is hard-linked from the store and world-readable",
            pin.name
        );
    }
    let dists: Vec<&str> = files
        .keys()
        .filter(|path| path.starts_with("dists/"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        dists,
        [
            "dists/cairn/Release",
            "dists/cairn/main/binary-amd64/Packages",
            "dists/cairn/main/binary-amd64/Packages.gz",
        ]
    );
    assert!(
        files.values().all(|(_, mode)| *mode == 0o644),
        "every file is world-readable"
    );
    let release = String::from_utf8(files["dists/cairn/Release"].0.clone()).expect("text");
    let packages = &files["dists/cairn/main/binary-amd64/Packages"].0;
    assert!(
        release.starts_with(
            "Origin: cairn\nLabel: cairn\nSuite: cairn\nCodename: cairn\n\
             Date: Thu, 01 Jan 1970 00:00:00 UTC\nArchitectures: amd64\nComponents: main\n"
        ) && release.contains(&format!(
            " {} {:>8} main/binary-amd64/Packages\n",
            sha256_hex(packages),
            packages.len()
        )),
        "the Release lists each index by sha256 and size\n{release}"
    );
    let index = String::from_utf8(packages.clone()).expect("text");
    let lib = pins
        .iter()
        .find(|pin| pin.name == "cairn-lib")
        .expect("lib");
    assert!(
        index.contains(&format!(
            "Package: cairn-lib\nVersion: 1.0\nArchitecture: all\nDepends: cairn-base\n\
             Maintainer: cairn tests <tests@cairn.test>\nPriority: optional\n\
             Description: a package the cairn tests made\n it has a long description\n .\n of two paragraphs\n\
             Filename: pool/main/c/cairn-lib/cairn-lib_1.0_all.deb\nSize: {}\nSHA256: {}\n\n",
            lib.size, lib.sha256
        )),
        "each paragraph is the package's control file, then where and what apt checks\n{index}"
    );

    // Served as the control host serves it, over HTTP, to a host's apt.
    let address = "127.0.0.1";
    let port = free_port(address);
    let mut server = serve_folder(&export, address, port);
    let apt = PrivateApt::new(
        &sandbox.path().join("apt"),
        &source(&format!("http://{address}:{port}"), "cairn", "main"),
    );
    apt.update();
    let installed = apt.simulated_install("cairn-app");
    let downloaded = apt.apt_get(&["download", "cairn-base"]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        installed,
        pinned_versions(&pins),
        "apt resolves the request to the pinned closure"
    );
    assert!(downloaded.contains("cairn-base all 1:1.0"), "{downloaded}");
    let base = pins
        .iter()
        .find(|pin| pin.name == "cairn-base")
        .expect("base");
    assert_eq!(
        sha256_hex(
            &std::fs::read(apt.folder.join("download/cairn-base_1%3a1.0_all.deb"))
                .expect("apt downloaded the package")
        ),
        base.sha256,
        "apt downloads the pinned file byte for byte"
    );
}

#[test]
fn the_same_lockfile_exports_the_same_bytes_and_an_unchanged_export_is_not_rewritten() {
    let upstream = UpstreamRepository::serve(&PACKAGES);
    let sandbox = compiled(&upstream);
    let first = sandbox.path().join("first");
    fetch_export(&sandbox, &first)
        .success()
        .stdout_has("(4 hard-linked from the store, 0 copied)");
    // The second on another filesystem where the machine has one (tmpfs): copies, then.
    let other_filesystem = tempfile::tempdir_in("/dev/shm").ok().filter(|folder| {
        std::fs::metadata(folder.path()).unwrap().dev()
            != std::fs::metadata(sandbox.path()).unwrap().dev()
    });
    let second = match &other_filesystem {
        Some(folder) => folder.path().join("second"),
        None => sandbox.path().join("second"),
    };
    let outcome = fetch_export(&sandbox, &second).success();
    if other_filesystem.is_some() {
        outcome.stdout_has("(0 hard-linked from the store, 4 copied)");
    }
    let exported = snapshot(&first);
    assert_eq!(
        exported,
        snapshot(&second),
        "two exports of one lockfile are the same files, byte for byte"
    );

    let release = first.join("dists/cairn/Release");
    let modified = |path: &Path| std::fs::metadata(path).unwrap().modified().unwrap();
    let before = modified(&release);
    fetch_export(&sandbox, &first)
        .success()
        .stdout_has("0 downloaded");
    assert_eq!(snapshot(&first), exported, "a re-export changes nothing");
    assert_eq!(
        modified(&release),
        before,
        "an unchanged index is not written again: nginx answers apt's update with 304s"
    );
}

#[test]
fn a_re_export_serves_the_new_pins_and_leaves_no_stale_deb_or_index() {
    let upstream = UpstreamRepository::serve(&PACKAGES);
    let sandbox = compiled(&upstream);
    let export = sandbox.path().join("repository");
    fetch_export(&sandbox, &export).success();
    let apt = PrivateApt::new(
        &sandbox.path().join("apt"),
        &source(&format!("file:{}", export.display()), "cairn", "main"),
    );
    apt.update();
    // What an earlier export, or an operator, left that this one does not make: an index
    // of another architecture, a half-placed .deb, a signature of other indexes.
    for (path, text) in [
        ("dists/cairn/main/binary-arm64/Packages", ""),
        (
            "pool/main/c/cairn-lib/.cairn-lib_0.9_all.deb.cairn-partial",
            "half",
        ),
        ("dists/cairn/InRelease", "signed old indexes"),
    ] {
        std::fs::create_dir_all(export.join(path).parent().unwrap()).unwrap();
        std::fs::write(export.join(path), text).unwrap();
    }

    // cairn-lib 2.0 is published upstream and the pins are updated.
    upstream.publish(&Package {
        name: "cairn-lib",
        version: "2.0",
        architecture: "all",
        depends: "cairn-base",
    });
    compile(&sandbox, &["--update-pins"]);
    let pins = pins(&sandbox);
    assert!(
        pinned_versions(&pins).contains(&("cairn-lib".to_string(), "2.0".to_string())),
        "the lockfile pins cairn-lib 2.0"
    );
    fetch_export(&sandbox, &export)
        .success()
        .stdout_has("1 stale .deb of an earlier export removed");

    let files = snapshot(&export);
    let paths: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            "dists/cairn/Release",
            "dists/cairn/main/binary-amd64/Packages",
            "dists/cairn/main/binary-amd64/Packages.gz",
            "pool/main/c/cairn-app/cairn-app_1.0_amd64.deb",
            "pool/main/c/cairn-base/cairn-base_1.0_all.deb",
            "pool/main/c/cairn-lib/cairn-lib_2.0_all.deb",
            "pool/main/c/cairn-shell/cairn-shell_1.0_all.deb",
        ],
        "the pool holds the new pins alone, and the suite's folder what this export wrote"
    );
    apt.update();
    assert_eq!(apt.simulated_install("cairn-app"), pinned_versions(&pins));
}

#[test]
fn a_store_file_that_is_not_the_pinned_one_fails_the_export_naming_the_package() {
    let upstream = UpstreamRepository::serve(&PACKAGES);
    let sandbox = compiled(&upstream);
    let export = sandbox.path().join("repository");
    cairn()
        .current_dir(sandbox.path())
        .env("CAIRN_STORE", &store(&sandbox).to_string_lossy())
        .args(["fetch", "cluster.lock"])
        .run()
        .success();
    let lib = pins(&sandbox)
        .into_iter()
        .find(|pin| pin.name == "cairn-lib")
        .expect("lib");
    let stored = store(&sandbox).join("sha256").join(&lib.sha256);
    std::fs::write(&stored, b"not the pinned package").unwrap();

    // fetch finds a file under the pinned checksum and keeps it; the export reads every
    // byte and refuses it.
    fetch_export(&sandbox, &export)
        .code(1)
        .stderr_has(&format!(
            "the store's copy of cairn-lib 1.0 (all) ({}) is not the pinned file: its sha256 is {}, the lockfile pins {} (for image app); it was removed from the store",
            stored.display(),
            sha256_hex(b"not the pinned package"),
            lib.sha256
        ));
    assert!(
        !export.join("dists").exists() && !export.join("pool").exists(),
        "nothing is exported from a store that failed its check"
    );
    assert!(!stored.exists(), "the wrong file left the store");
    fetch_export(&sandbox, &export)
        .success()
        .stdout_has("1 downloaded");
}

#[test]
fn the_export_serves_the_suite_and_components_the_hosts_sources_ask_for() {
    let upstream = UpstreamRepository::serve(&PACKAGES);
    let sandbox = compiled(&upstream);
    let export = sandbox.path().join("repository");
    fetch_export(&sandbox, &export).success();
    assert!(export.join("dists/cairn/Release").is_file());

    // With host-base, each host's cairn.sources names `[repository]`'s URL, suite and
    // components; here the URL is the export itself, as the control host reads it.
    sandbox.edit("cluster.toml", |spec| {
        spec.replace("\"host-base\", ", "")
            + &format!(
                "\n[repository]\nurl = \"file:{}\"\nsuite = \"offline\"\ncomponents = [\"main\", \"extra\"]\n\n\
                 [registry]\naddress = \"10.0.0.5:5000\"\n\n[ntp]\nservers = [\"10.0.0.5\"]\n",
                export.display()
            )
    });
    compile(&sandbox, &[]);
    fetch_export(&sandbox, &export)
        .success()
        .stdout_has("suite offline, components main extra");
    let files = snapshot(&export);
    let dists: Vec<&str> = files
        .keys()
        .filter(|path| path.starts_with("dists/"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        dists,
        [
            "dists/offline/Release",
            "dists/offline/extra/binary-amd64/Packages",
            "dists/offline/extra/binary-amd64/Packages.gz",
            "dists/offline/main/binary-amd64/Packages",
            "dists/offline/main/binary-amd64/Packages.gz",
        ],
        "the suite the hosts ask for, every component with an index (the packages in the \
         first), and the earlier export's suite gone"
    );

    // apt with the very file the host gets: unsigned, trusted by its `Trusted: yes`.
    let sources = file_content(
        &sandbox.show_json(),
        "node1:file:/etc/apt/sources.list.d/cairn.sources",
    );
    assert!(sources.contains("Trusted: yes"), "{sources}");
    let apt = PrivateApt::new(&sandbox.path().join("apt"), &sources);
    apt.update();
    assert_eq!(
        apt.simulated_install("cairn-app"),
        pinned_versions(&pins(&sandbox))
    );
}

#[test]
fn a_lockfile_without_pins_has_no_repository_to_export() {
    let sandbox = Sandbox::new();
    sandbox.write("modules/app/module.toml", APP_MODULE).write(
        "cluster.toml",
        "[cluster]\nname = \"offline\"\ndomain = \"offline.test\"\nmodules = [\"modules\"]\n\
             exclude_modules = [\"host-base\", \"preflight\", \"consul\", \"cadvisor\"]\n\n\
             [hosts.node1]\naddress = \"10.0.0.1\"\nroles = [\"app\"]\n",
    );
    compile(&sandbox, &[]);
    let export = sandbox.path().join("repository");
    fetch_export(&sandbox, &export)
        .code(2)
        .stderr_has("the lockfile pins no Debian package")
        .stderr_has("hint: give the spec `[images] sources`");
    assert!(!export.exists());
}
