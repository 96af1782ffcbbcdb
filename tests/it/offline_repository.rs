//! `cairn fetch LOCK --export DIR`: the Debian packages a lockfile pins, fetched into the
//! store and checked, then written to DIR as the offline repository the control host serves
//! (`pool/`, `dists/<suite>/main/binary-<arch>/Packages` and `Packages.gz`, an unsigned
//! `Release`). Each image pins its packages from a repository the test builds (dpkg-deb,
//! dpkg-scanpackages) and serves with busybox's httpd on loopback ([`DebianRepository`]);
//! the export is then read by this machine's apt, with a configuration of its own (its
//! sources, lists, caches and an empty dpkg status in the test's folder, nothing of the
//! machine's apt touched: [`PrivateApt`]): apt must refresh its lists from it without a
//! warning and resolve, install (simulated) and download exactly the pinned versions.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use cairn_lockfiles::{Lockfile, NodeSpec, PackagePin};

use crate::support::debian_repository::{
    APP_MODULE, DebianPackage, DebianRepository, app_packages, serve_folder,
};
use crate::support::download_server::sha256_hex;
use crate::support::free_ports::free_port;
use crate::support::private_apt::{PrivateApt, unsigned_source};
use crate::support::{Outcome, Sandbox, cairn, file_content};

/// [`app_packages`], `cairn-base` with an epoch, which no file name has: the image pins
/// four packages, never `cairn-other`, which the export must then leave out.
const PACKAGES: [DebianPackage; 5] = app_packages("1:1.0");

/// The test's upstream repository of [`PACKAGES`]: what compile pins from and fetch
/// downloads from. Its index is uncompressed alone, so compile reads a plain `Packages`.
fn upstream() -> DebianRepository {
    DebianRepository::serve_uncompressed(&PACKAGES)
}

/// [`upstream`] with stand-ins for host-base's packages too, whose package nodes are
/// pinned as well: chrony depending on `chrony_needs`, docker.io on `docker_needs`, curl.
fn upstream_with_host_base(
    chrony_needs: &'static str,
    docker_needs: &'static str,
) -> DebianRepository {
    let [app, lib, base, shell, other] = PACKAGES;
    DebianRepository::serve_uncompressed(&[
        app,
        lib,
        base,
        shell,
        other,
        DebianPackage::new("chrony", "4.3-2", "amd64", chrony_needs),
        DebianPackage::new("docker.io", "20.10.24", "amd64", docker_needs),
        DebianPackage::new("curl", "7.88.1", "amd64", ""),
    ])
}

/// The settings host-base needs besides `[repository]`: the registry and the time server
/// on the control host, curl as the operators' tool.
const HOST_BASE_SETTINGS: &str = "\n[registry]\naddress = \"10.0.0.5:5000\"\n\n\
    [ntp]\nservers = [\"10.0.0.5\"]\n\n[base]\ntools = [\"curl\"]\n";

/// apt on a host whose only source is the export in `export`, unsigned, `suite main`.
fn apt_reading_the_export(sandbox: &Sandbox, export: &Path, suite: &str) -> PrivateApt {
    PrivateApt::new(
        &sandbox.path().join("apt"),
        &unsigned_source(&format!("file:{}", export.display()), suite, "main"),
    )
}

/// A spec of the app module on one host, its image pinned from `repository`; host-base
/// left out, so nothing names a suite and the export's is `cairn`.
fn spec(repository: &DebianRepository) -> String {
    format!(
        "[cluster]\nname = \"offline\"\ndomain = \"offline.test\"\nmodules = [\"modules\"]\n\
         exclude_modules = [\"host-base\", \"preflight\", \"consul\", \"cadvisor\"]\n\n\
         [hosts.node1]\naddress = \"10.0.0.1\"\nroles = [\"app\"]\n\n\
         [packages]\nsources = [\"{}\"]\n\n[images]\nbase_packages = []\n",
        repository.source_line()
    )
}

/// A sandbox whose `cluster.lock` pins the app image from `repository`.
fn compiled(repository: &DebianRepository) -> Sandbox {
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

/// Exports the sandbox's lockfile into `export`, which succeeds saying `says`; the
/// export's files then.
fn exported_saying(
    sandbox: &Sandbox,
    export: &Path,
    says: &str,
) -> BTreeMap<String, (Vec<u8>, u32)> {
    fetch_export(sandbox, export).success().stdout_has(says);
    snapshot(export)
}

/// The app image's pins.
fn pins(sandbox: &Sandbox) -> Vec<PackagePin> {
    let lockfile = Lockfile::read(&sandbox.path().join("cluster.lock")).expect("the lockfile");
    lockfile
        .nodes()
        .iter()
        .find_map(|node| match &*node.spec {
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

/// The paths of a [`snapshot`] that start with `prefix`, in order.
fn paths_under<'a>(files: &'a BTreeMap<String, (Vec<u8>, u32)>, prefix: &str) -> Vec<&'a str> {
    files
        .keys()
        .filter(|path| path.starts_with(prefix))
        .map(String::as_str)
        .collect()
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
    let upstream = upstream();
    let sandbox = compiled(&upstream);
    let export = sandbox.path().join("repository");
    fetch_export(&sandbox, &export)
        .success()
        .stdout_has("4 pinned downloads: 4 downloaded")
        .stdout_has(&format!(
            "exported 4 packages to {}: suite cairn, components main, architectures amd64 \
             (4 hard-linked from the store, 0 copied); 0 stale files of an earlier export removed",
            export.display()
        ));

    // Debian's layout: the pinned .debs alone in the pool (not cairn-other, which nothing
    // pins), each the store's file itself, readable by nginx's workers; the epoch is not
    // in a file name.
    let pins = pins(&sandbox);
    let files = snapshot(&export);
    let pool = paths_under(&files, "pool/");
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
    let dists = paths_under(&files, "dists/");
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
        &unsigned_source(&format!("http://{address}:{port}"), "cairn", "main"),
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
            &std::fs::read(apt.downloads().join("cairn-base_1%3a1.0_all.deb"))
                .expect("apt downloaded the package")
        ),
        base.sha256,
        "apt downloads the pinned file byte for byte"
    );
}

#[test]
fn the_same_lockfile_exports_the_same_bytes_and_an_unchanged_export_is_not_rewritten() {
    let upstream = upstream();
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
    let upstream = upstream();
    let sandbox = compiled(&upstream);
    let export = sandbox.path().join("repository");
    fetch_export(&sandbox, &export).success();
    let apt = apt_reading_the_export(&sandbox, &export, "cairn");
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
    upstream.publish(&DebianPackage::new("cairn-lib", "2.0", "all", "cairn-base"));
    compile(&sandbox, &["--update-pins"]);
    let pins = pins(&sandbox);
    assert!(
        pinned_versions(&pins).contains(&("cairn-lib".to_string(), "2.0".to_string())),
        "the lockfile pins cairn-lib 2.0"
    );

    let files = exported_saying(
        &sandbox,
        &export,
        "1 stale file of an earlier export removed",
    );
    let paths = paths_under(&files, "");
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
    let upstream = upstream();
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
            "the store's copy of cairn-lib 1.0 (all) ({}) is not the pinned file: its sha256 is {}, the lockfile pins {} (pinned by image app); it was removed from the store",
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
    let upstream = upstream_with_host_base("", "cairn-base");
    let sandbox = compiled(&upstream);
    let export = sandbox.path().join("repository");
    fetch_export(&sandbox, &export).success();
    assert!(export.join("dists/cairn/Release").is_file());

    // With host-base, each host's cairn.sources names `[repository]`'s URL, suite and
    // components; here the URL is the export itself, as the control host reads it.
    sandbox.edit("cluster.toml", |spec| {
        spec.replace("\"host-base\", ", "")
            + &format!(
                "\n[repository]\nurl = \"file:{}\"\nsuite = \"offline\"\ncomponents = [\"main\", \"extra\"]\n\
                 {HOST_BASE_SETTINGS}",
                export.display()
            )
    });
    compile(&sandbox, &[]);
    let files = exported_saying(&sandbox, &export, "suite offline, components main extra");
    let dists = paths_under(&files, "dists/");
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
        .stderr_has("hint: give the spec `[packages] sources`");
    assert!(!export.exists());
}

/// Everything an install needs is in the export: the hosts' pinned packages beside the
/// images', which apt on a host installs from it at the pinned versions, and each image's
/// artifact under `artifacts/`, named as its URL names it, so that a URL naming the control
/// host's repository finds it there.
#[test]
fn the_export_holds_the_hosts_packages_and_the_images_artifacts() {
    let upstream = upstream_with_host_base("cairn-lib", "");
    let artifact = b"#!/bin/sh\necho a tool Debian does not package\n";
    let downloads = tempfile::tempdir().expect("a folder");
    std::fs::write(downloads.path().join("tool-1.0.sh"), artifact).expect("the artifact");
    let server = crate::support::download_server::DownloadServer::serve(downloads, "tool-1.0.sh");
    let module = APP_MODULE.replace(
        "entrypoint = [",
        &format!(
            "artifacts = [{{ url = \"{}\", sha256 = \"{}\", path = \"/usr/local/bin/tool\", mode = \"0755\" }}]\nentrypoint = [",
            server.url("tool-1.0.sh"),
            sha256_hex(artifact)
        ),
    );
    let sandbox = Sandbox::new();
    sandbox.write("modules/app/module.toml", &module).write(
        "cluster.toml",
        &(spec(&upstream).replace("\"host-base\", ", "")
            + "\n[repository]\nurl = \"http://10.0.0.5:8080\"\n"
            + HOST_BASE_SETTINGS),
    );
    compile(&sandbox, &[]);
    let export = sandbox.path().join("repository");

    let files = exported_saying(&sandbox, &export, "exported 7 packages and 1 artifact to");
    assert_eq!(
        files
            .get("artifacts/tool-1.0.sh")
            .map(|(bytes, mode)| (bytes.as_slice(), *mode)),
        Some((artifact.as_slice(), 0o644)),
        "the artifact, by the name its URL gives it"
    );
    let pool = paths_under(&files, "pool/");
    for package in [
        "chrony_4.3-2_amd64.deb",
        "docker.io_20.10.24_amd64.deb",
        "curl_7.88.1_amd64.deb",
    ] {
        assert!(
            pool.iter().any(|path| path.ends_with(package)),
            "the hosts' {package} is in the pool: {pool:?}"
        );
    }

    // apt on a host, reading the export as its only source, installs chrony's pins.
    let apt = apt_reading_the_export(&sandbox, &export, "bookworm");
    apt.update();
    let lockfile = Lockfile::read(&sandbox.path().join("cluster.lock")).expect("the lockfile");
    let chrony = lockfile
        .nodes()
        .iter()
        .find_map(|node| match &*node.spec {
            NodeSpec::Package(package) if package.name == "chrony" => package.pins.clone(),
            _ => None,
        })
        .expect("the chrony node is pinned");
    assert_eq!(
        apt.simulated_install("chrony"),
        pinned_versions(&chrony.packages)
    );
}
