//! Package pinning at compile time, in the manner of Cargo.lock: with `[packages] sources`,
//! `cairn compile` resolves each image's packages and their dependencies against the
//! sources' Packages indexes to exact versions, URLs and sha256 in the lockfile, and keeps
//! them until the image's packages change or `--update-pins`. The repository is one the
//! test builds (`dpkg-deb`, `dpkg-scanpackages`, a hand-written `Release` in Debian's
//! layout) and serves with busybox's httpd on loopback ([`DebianRepository`]); the index
//! cache is the test's own (`XDG_CACHE_HOME`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_lockfiles::{ImageNode, Lockfile, NodeSpec};

use crate::support::debian_repository::{
    APP_MODULE, DebianPackage, DebianRepository, app_packages,
};
use crate::support::download_server::sha256_hex;
use crate::support::{Outcome, Sandbox, cairn, run_successfully};

/// [`app_packages`], each without an epoch.
const PACKAGES: [DebianPackage; 5] = app_packages("1.0");

/// A spec of the app module on one host, its images pinned from `sources`. The test
/// repository has none of Debian's base packages: the image asks for none.
fn spec(sources: &[String]) -> String {
    let sources: Vec<String> = sources.iter().map(|line| format!("\"{line}\"")).collect();
    format!(
        "[cluster]\nname = \"pins\"\ndomain = \"pins.test\"\nmodules = [\"modules\"]\n\
         exclude_modules = [\"host-base\", \"preflight\", \"consul\", \"cadvisor\"]\n\n\
         [hosts.node1]\naddress = \"10.0.0.1\"\nroles = [\"app\"]\n\n\
         [images]\nbase_packages = []\n\n[packages]\nsources = [{}]\n",
        sources.join(", ")
    )
}

/// A sandbox with the app module and a spec pinning from `repository`.
fn sandbox(repository: &DebianRepository) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .write("modules/app/module.toml", APP_MODULE)
        .write("cluster.toml", &spec(&[repository.source_line()]));
    sandbox
}

/// A repository of [`PACKAGES`] served, a sandbox pinning from it compiled, and the
/// lockfile that compile wrote.
fn compiled() -> (DebianRepository, Sandbox, String) {
    let repository = DebianRepository::serve(&PACKAGES);
    let sandbox = sandbox(&repository);
    compile(&sandbox, &[]).success();
    let lockfile = sandbox.read("cluster.lock");
    (repository, sandbox, lockfile)
}

/// The app image asks for `packages` (the inside of a TOML array) instead of cairn-app.
fn request_packages(sandbox: &Sandbox, packages: &str) {
    sandbox.replace(
        "modules/app/module.toml",
        "packages = [\"cairn-app\"]",
        &format!("packages = [{packages}]"),
    );
}

/// `cairn compile cluster.toml [extra]` in the sandbox, with the sandbox's index cache.
fn compile(sandbox: &Sandbox, extra: &[&str]) -> Outcome {
    cairn()
        .current_dir(sandbox.path())
        .env("XDG_CACHE_HOME", &cache(sandbox).to_string_lossy())
        .args(["compile", "cluster.toml"])
        .args(extra)
        .run()
}

fn cache(sandbox: &Sandbox) -> PathBuf {
    sandbox.path().join("cache")
}

/// The app image of the sandbox's lockfile.
fn app_image(sandbox: &Sandbox) -> ImageNode {
    let lockfile = Lockfile::read(&sandbox.path().join("cluster.lock")).expect("the lockfile");
    let image = lockfile
        .nodes()
        .iter()
        .find(|node| node.name.to_string() == "cluster:image:app")
        .expect("the app image");
    match &*image.spec {
        NodeSpec::Image(image) => (**image).clone(),
        other => panic!("an image node, not {other:?}"),
    }
}

/// The pinned (name, version) pairs of the app image.
fn pinned_versions(sandbox: &Sandbox) -> Vec<(String, String)> {
    app_image(sandbox)
        .pins
        .expect("the app image is pinned")
        .packages
        .iter()
        .map(|pin| (pin.name.clone(), pin.version.clone()))
        .collect()
}

/// The closure `cairn-app` is pinned to: the first alternative, `cairn-shell`.
const APP_CLOSURE: [(&str, &str); 4] = [
    ("cairn-app", "1.0"),
    ("cairn-base", "1.0"),
    ("cairn-lib", "1.0"),
    ("cairn-shell", "1.0"),
];

/// The closure `cairn-app` and `cairn-other`, resolved together, are pinned to: as apt
/// resolves them, `cairn-shell | cairn-other` is met by `cairn-other`, so `cairn-shell`
/// is not pulled in.
const APP_AND_OTHER_CLOSURE: [(&str, &str); 4] = [
    ("cairn-app", "1.0"),
    ("cairn-base", "1.0"),
    ("cairn-lib", "1.0"),
    ("cairn-other", "2.0"),
];

fn versions(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, version)| (name.to_string(), version.to_string()))
        .collect()
}

fn modified(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .expect("a modification time")
}

#[test]
fn compile_pins_the_closure_with_its_versions_urls_and_checksums_and_the_dockerfile_installs_them()
{
    let repository = DebianRepository::serve(&PACKAGES);
    let sandbox = sandbox(&repository);
    compile(&sandbox, &[])
        .success()
        .stderr_has("pinned the packages of 1 image against 1 source")
        .stderr_has("app (4)");

    let image = app_image(&sandbox);
    let pins = image.pins.clone().expect("the app image is pinned");
    assert_eq!(pins.architecture, "amd64");
    assert_eq!(pins.sources, [repository.source_line()]);
    assert_eq!(image.packages, ["cairn-app"]);
    let names: Vec<&str> = pins.packages.iter().map(|pin| pin.name.as_str()).collect();
    // The closure, sorted by name: the first alternative, never `cairn-other`.
    assert_eq!(
        names,
        ["cairn-app", "cairn-base", "cairn-lib", "cairn-shell"]
    );
    for pin in &pins.packages {
        let package = PACKAGES
            .iter()
            .find(|package| package.name == pin.name)
            .unwrap();
        assert_eq!(pin.version, package.version);
        assert_eq!(pin.architecture, package.architecture);
        let path = package.pool_path();
        assert_eq!(pin.url, format!("{}/{path}", repository.url));
        let deb = std::fs::read(repository.root.join(&path)).unwrap();
        assert_eq!(pin.sha256, sha256_hex(&deb), "{}", pin.name);
        assert_eq!(pin.size, deb.len() as u64, "{}", pin.name);
    }

    // The Dockerfile installs the whole closure at its pinned versions, and keeps the rest
    // of the definition as it was.
    let dockerfile = image.dockerfile.as_str();
    assert!(
        dockerfile.contains("#   cairn-app=1.0\n#   cairn-base=1.0\n#   cairn-lib=1.0\n#   cairn-shell=1.0\nCOPY packages/ /var/cache/cairn-packages/\nRUN DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --allow-downgrades /var/cache/cairn-packages/*.deb \\\n && rm -rf /var/cache/cairn-packages /var/lib/apt/lists/*\n"),
        "{dockerfile}"
    );
    assert!(
        dockerfile.contains("ENV APP_MODE=\"pinned\"\n"),
        "{dockerfile}"
    );
    assert!(
        dockerfile.contains("ENTRYPOINT [\"/usr/bin/cairn-app\"]\n"),
        "{dockerfile}"
    );

    // The lockfile is reviewable: one pin per line, after what they answer.
    let lock = sandbox.read("cluster.lock");
    let pin_lines = lock
        .lines()
        .filter(|line| line.starts_with("    { architecture = "))
        .count();
    assert_eq!(pin_lines, 4, "{lock}");
    assert!(lock.contains("packages = [\"cairn-app\"]\narchitecture = \"amd64\"\n"));
    // The index is kept in the cache by its checksum.
    let cached = std::fs::read_dir(cache(&sandbox).join("cairn/indexes"))
        .expect("the index cache")
        .count();
    assert_eq!(cached, 1);
}

#[test]
fn a_newer_version_is_not_taken_by_a_plain_compile_but_is_with_update_pins() {
    let repository = DebianRepository::serve(&PACKAGES);
    let sandbox = sandbox(&repository);
    compile(&sandbox, &[]).success();
    let first = app_image(&sandbox);
    let lockfile = sandbox.path().join("cluster.lock");
    let written = modified(&lockfile);

    repository.publish(&DebianPackage::new("cairn-lib", "1.1", "all", "cairn-base"));

    // The request did not change: the pins stay, and nothing is fetched.
    compile(&sandbox, &[])
        .success()
        .stderr_has("unchanged: cluster.lock");
    assert_eq!(modified(&lockfile), written);
    assert_eq!(pinned_versions(&sandbox), versions(&APP_CLOSURE));
    compile(&sandbox, &["--locked"]).success();
    std::fs::copy(&lockfile, sandbox.path().join("old.lock")).unwrap();

    // --update-pins resolves again: the newer cairn-lib, a new image id.
    compile(&sandbox, &["--update-pins", "--locked"])
        .code(1)
        .stderr_has("is out of date");
    compile(&sandbox, &["--update-pins"])
        .success()
        .stderr_has("wrote cluster.lock");
    assert_eq!(
        pinned_versions(&sandbox),
        versions(&[
            ("cairn-app", "1.0"),
            ("cairn-base", "1.0"),
            ("cairn-lib", "1.1"),
            ("cairn-shell", "1.0"),
        ])
    );
    let updated = app_image(&sandbox);
    assert!(updated.dockerfile.as_str().contains("#   cairn-lib=1.1\n"));
    assert_ne!(updated.dockerfile, first.dockerfile);
    let lock = sandbox.read("cluster.lock");
    assert!(lock.contains("cairn-lib_1.1_all.deb"), "{lock}");
    // `cairn diff` tells the update per package.
    let diff = sandbox.cairn(&["diff", "old.lock", "cluster.lock"]).code(1);
    assert!(
        diff.stdout.contains("pins: cairn-lib 1.0 → 1.1\n"),
        "{}",
        diff.stdout
    );
}

#[test]
fn a_changed_request_is_resolved_again_without_update_pins() {
    let repository = DebianRepository::serve(&PACKAGES);
    let sandbox = sandbox(&repository);
    compile(&sandbox, &[]).success();
    request_packages(&sandbox, r#""cairn-app", "cairn-other""#);
    compile(&sandbox, &[])
        .success()
        .stderr_has("pinned the packages of 1 image");
    // As apt: `cairn-shell | cairn-other` is met by the requested cairn-other already, so
    // cairn-shell is no longer pulled in.
    assert_eq!(pinned_versions(&sandbox), versions(&APP_AND_OTHER_CLOSURE));
}

#[test]
fn the_pins_of_a_lockfile_cairn_no_longer_reads_are_kept_from_its_text() {
    let (mut repository, sandbox, before) = compiled();
    repository.stop();
    // As a lockfile of another cairn reads: a recorded id this one computes otherwise.
    let id_line = before
        .lines()
        .skip_while(|line| *line != "name = \"cluster:image:app\"")
        .nth(1)
        .unwrap()
        .to_string();
    assert!(id_line.starts_with("id = "), "{id_line}");
    sandbox.replace(
        "cluster.lock",
        &id_line,
        "id = \"00000000000000000000000000000000\"",
    );
    compile(&sandbox, &[])
        .success()
        .stderr_has("note: cluster.lock cannot be read as a lockfile (")
        .stderr_has("its pins are read from its text alone")
        .stderr_has("wrote cluster.lock");
    assert_eq!(sandbox.read("cluster.lock"), before);
}

#[test]
fn a_lockfile_that_is_not_toml_keeps_no_pins_and_they_are_resolved_again() {
    let (_repository, sandbox, before) = compiled();
    sandbox.write("cluster.lock", &format!("<<<<<<< HEAD\n{before}"));
    compile(&sandbox, &[])
        .success()
        .stderr_has("note: cluster.lock cannot be read (")
        .stderr_has("its packages are resolved again")
        .stderr_has("pinned the packages of 1 image");
    assert_eq!(sandbox.read("cluster.lock"), before);
}

#[test]
fn an_unreachable_repository_keeps_the_lockfiles_pins_and_says_so() {
    let (mut repository, sandbox, before) = compiled();
    repository.stop();

    // A plain compile needs no network while the request is unchanged.
    compile(&sandbox, &[])
        .success()
        .stderr_has("unchanged: cluster.lock");
    // An update that cannot reach the repository keeps the pins, and says so.
    compile(&sandbox, &["--update-pins"])
        .success()
        .stderr_has("kept the pins of cluster.lock for image `app`:")
        .stderr_has(&format!("{}/dists/bookworm/Release", repository.url))
        .stderr_has("unchanged: cluster.lock")
        .stderr_lacks("error:");
    assert_eq!(sandbox.read("cluster.lock"), before);
}

#[test]
fn an_unreachable_repository_without_pins_is_an_error_naming_the_image_and_the_source() {
    let mut repository = DebianRepository::serve(&PACKAGES);
    let sandbox = sandbox(&repository);
    repository.stop();
    compile(&sandbox, &[])
        .code(2)
        .stderr_has(&format!(
            "error: cannot pin the packages of image `app`: source `{}`: {}/dists/bookworm/Release:",
            repository.source_line(),
            repository.url
        ))
        .stderr_has("--> cluster.toml:15:12")
        .stderr_has("hint: compile where the repository is reachable");
    assert!(!sandbox.path().join("cluster.lock").exists());
}

#[test]
fn pins_that_do_not_answer_a_changed_request_are_not_kept_when_the_repository_is_unreachable() {
    let (mut repository, sandbox, before) = compiled();
    repository.stop();
    request_packages(&sandbox, r#""cairn-app", "cairn-other""#);
    compile(&sandbox, &[])
        .code(2)
        .stderr_has("error: cannot pin the packages of image `app`");
    assert_eq!(
        sandbox.read("cluster.lock"),
        before,
        "the old lockfile stays"
    );
}

#[test]
fn a_packages_index_whose_checksum_is_not_the_releases_is_refused() {
    let (repository, sandbox, before) = compiled();
    // Another index in place of the one the Release lists.
    let index = repository
        .root
        .join("dists/bookworm/main/binary-amd64/Packages.gz");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(b"Package: cairn-app\nVersion: 9.9\n")
        .unwrap();
    std::fs::write(&index, gzip.finish().unwrap()).unwrap();
    // The cache holds the listed index under its checksum, which would be read instead.
    std::fs::remove_dir_all(cache(&sandbox)).unwrap();

    // Even with pins to keep: a repository that answers wrongly is not an unreachable one.
    compile(&sandbox, &["--update-pins"])
        .code(2)
        .stderr_has("error: cannot pin the packages of image `app`")
        .stderr_has("main/binary-amd64/Packages.gz: its sha256 is ")
        .stderr_has("but the Release file lists")
        .stderr_has("hint: the mirror may be in the middle of an update");
    assert_eq!(sandbox.read("cluster.lock"), before);
    std::fs::remove_file(sandbox.path().join("cluster.lock")).unwrap();
    compile(&sandbox, &[])
        .code(2)
        .stderr_has("but the Release file lists");
    assert!(!sandbox.path().join("cluster.lock").exists());
}

#[test]
fn a_package_the_repository_does_not_have_is_reported_at_the_modules_packages_line() {
    let repository = DebianRepository::serve(&PACKAGES);
    let sandbox = sandbox(&repository);
    request_packages(&sandbox, r#""cairn-shell", "cairn-ap""#);
    compile(&sandbox, &[])
        .code(2)
        .stderr_has("error: cannot pin the packages of image `app`: package `cairn-ap` is not in the repository")
        .stderr_has("--> modules/app/module.toml:9:28")
        .stderr_has("hint: did you mean `cairn-app`?");
    assert!(!sandbox.path().join("cluster.lock").exists());
}

#[test]
fn source_lines_apt_would_read_differently_are_refused_at_their_line_and_column() {
    let sandbox = Sandbox::new();
    sandbox.write("modules/app/module.toml", APP_MODULE).write(
        "cluster.toml",
        &spec(&[
            "http://127.0.0.1:9/debian bookworm main".to_string(),
            "deb http://127.0.0.1:9/debian bookworm main".to_string(),
        ]),
    );
    compile(&sandbox, &[])
        .code(2)
        .stderr_has("error: `sources` in [packages]: `deb http://127.0.0.1:9/debian bookworm main` starts with `deb`")
        .stderr_has("--> cluster.toml:15:55")
        .stderr_has("hint: leave out `deb`");
    sandbox.replace(
        "cluster.toml",
        "\"deb http://127.0.0.1:9/debian bookworm main\"",
        "\"http://127.0.0.1:9/debian bookworm\"",
    );
    compile(&sandbox, &[])
        .code(2)
        .stderr_has("names no component of the suite `bookworm`")
        .stderr_has("--> cluster.toml:15:55");
    sandbox.edit("cluster.toml", |text| {
        text.replace(
            "\"http://127.0.0.1:9/debian bookworm\"",
            "\"http://127.0.0.1:9/debian bookworm main\"",
        ) + "architecture = \"AMD64\"\n"
    });
    compile(&sandbox, &[])
        .code(2)
        .stderr_has("error: `architecture` in [packages] must be one of `amd64`, `arm64`")
        .stderr_has("found `AMD64`")
        .stderr_has("--> cluster.toml:16:16");
}

#[test]
fn without_sources_images_stay_unpinned() {
    let sandbox = Sandbox::new();
    sandbox
        .write("modules/app/module.toml", APP_MODULE)
        .write("cluster.toml", &spec(&[]).replace("sources = []\n", ""));
    compile(&sandbox, &[]).success();
    let image = app_image(&sandbox);
    assert_eq!(image.pins, None);
    assert!(
        image
            .dockerfile
            .as_str()
            .contains("apt-get install -y --no-install-recommends \\\n      cairn-app \\\n")
    );
    assert!(!sandbox.read("cluster.lock").contains("pins = ["));
}

/// The rendered Dockerfile, for a build host that builds with `docker build` (apply builds
/// pinned images with cairn's own builder): its build context holds the pinned .debs that
/// `cairn fetch` downloaded and checked, as `packages/<name>.deb`, and dpkg installs exactly
/// those, so the same lockfile builds the same packages after the repository is gone.
#[test]
fn the_dockerfile_installs_the_pinned_debs_themselves_even_once_the_repository_is_gone() {
    let base = crate::support::systemd_host::ensure_image();
    let mut repository = DebianRepository::serve(&PACKAGES);
    let sandbox = Sandbox::new();
    sandbox.write("modules/app/module.toml", APP_MODULE).write(
        "cluster.toml",
        &spec(&[repository.source_line()])
            .replace("[images]\n", &format!("[images]\nbase = \"{base}\"\n")),
    );
    compile(&sandbox, &[]).success();
    let store = sandbox.path().join("store");
    cairn()
        .current_dir(sandbox.path())
        .env("CAIRN_STORE", &store.to_string_lossy())
        .args(["fetch", "cluster.lock"])
        .run()
        .success();
    repository.stop();

    let image = app_image(&sandbox);
    let context = sandbox.path().join("context");
    std::fs::create_dir_all(context.join("packages")).unwrap();
    std::fs::write(context.join("Dockerfile"), image.dockerfile.as_str()).unwrap();
    for pin in &image.pins.as_ref().expect("pinned").packages {
        std::fs::copy(
            store.join("sha256").join(&pin.sha256),
            context.join("packages").join(format!("{}.deb", pin.name)),
        )
        .expect("cairn fetch stored the pinned .deb under its sha256");
    }
    let tag = format!("cairn-test/pinned-dockerfile:{}", std::process::id());
    let built = Command::new("docker")
        .args(["build", "--quiet", "--tag", &tag])
        .arg(&context)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let read = |path: &str| {
        let output = Command::new("docker")
            .args(["run", "--rm", "--entrypoint", "cat", &tag, path])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // dpkg installed the closure at the pinned versions.
    let installed = (
        read("/usr/share/doc/cairn-lib/README"),
        read("/usr/share/doc/cairn-shell/README"),
    );
    let _ = Command::new("docker")
        .args(["image", "rm", "--force", &tag])
        .output();
    assert_eq!(
        installed,
        (
            "cairn-lib 1.0\n".to_string(),
            "cairn-shell 1.0\n".to_string()
        )
    );
}

#[test]
fn the_base_packages_join_every_images_request_and_are_pinned_with_it() {
    let repository = DebianRepository::serve(&PACKAGES);
    let sandbox = sandbox(&repository);
    sandbox.edit("cluster.toml", |spec| {
        spec.replace("base_packages = []", "base_packages = [\"cairn-other\"]")
    });
    compile(&sandbox, &[]).success().stderr_has("app (4)");
    let image = app_image(&sandbox);
    assert_eq!(image.packages, ["cairn-app", "cairn-other"]);
    // As apt resolves both together: cairn-app's `cairn-shell | cairn-other` is met by the
    // base package, so cairn-shell is not pinned.
    assert_eq!(pinned_versions(&sandbox), versions(&APP_AND_OTHER_CLOSURE));
}

/// A throwaway OpenPGP signing key in a GnuPG home of its own, and its public keyring.
struct SigningKey {
    home: tempfile::TempDir,
    keyring: PathBuf,
}

impl SigningKey {
    fn generate(name: &str) -> SigningKey {
        let home = tempfile::tempdir().unwrap();
        let gpg = |arguments: &[&str]| {
            let output = run_successfully(
                Command::new("gpg")
                    .arg("--homedir")
                    .arg(home.path())
                    .args([
                        "--batch",
                        "--quiet",
                        "--pinentry-mode",
                        "loopback",
                        "--passphrase",
                        "",
                    ])
                    .args(arguments),
                &format!("gpg {arguments:?} (Debian's gnupg)"),
            );
            output.stdout
        };
        gpg(&[
            "--quick-generate-key",
            &format!("{name} <{name}@cairn.test>"),
            "ed25519",
            "sign",
            "never",
        ]);
        let keyring = home.path().join("keyring.gpg");
        std::fs::write(&keyring, gpg(&["--export"])).unwrap();
        SigningKey { home, keyring }
    }

    /// Signs the repository's Release as a suite does: `Release.gpg`, detached.
    fn sign(&self, repository: &DebianRepository) {
        self.gpg_over_release(repository, "--detach-sign", "Release.gpg");
    }

    /// Signs the repository's Release into a clearsigned `InRelease`.
    fn clearsign(&self, repository: &DebianRepository) {
        self.gpg_over_release(repository, "--clearsign", "InRelease");
    }

    fn gpg_over_release(&self, repository: &DebianRepository, how: &str, output: &str) {
        let release = repository.root.join("dists/bookworm/Release");
        let status = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args([
                "--batch",
                "--quiet",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args([how, "--output"])
            .arg(release.with_file_name(output))
            .arg(&release)
            .status()
            .unwrap();
        assert!(status.success(), "gpg {how} the Release");
    }
}

#[test]
fn with_a_keyring_each_release_must_be_signed_by_it_before_its_pins_are_trusted() {
    let repository = DebianRepository::serve(&PACKAGES);
    let archive_key = SigningKey::generate("archive");
    let keyring = format!("keyring = \"{}\"\n", archive_key.keyring.display());
    let sandbox = sandbox(&repository);
    sandbox.edit("cluster.toml", |spec| format!("{spec}{keyring}"));

    // Unsigned: refused, at the source's line.
    compile(&sandbox, &[])
        .code(2)
        .stderr_has("Release.gpg: the suite publishes no signature of its Release")
        .stderr_has("--> cluster.toml:15:12");

    // Signed by the keyring's key: pinned, and no note of unsigned Releases.
    archive_key.sign(&repository);
    let pinned = compile(&sandbox, &[]).success();
    assert!(
        !pinned.stderr.contains("taken unsigned"),
        "{}",
        pinned.stderr
    );
    assert_eq!(pinned_versions(&sandbox).len(), 4);

    // Signed by another key (or altered after signing): refused, saying which keyring.
    let other_key = SigningKey::generate("impostor");
    other_key.sign(&repository);
    compile(&sandbox, &["--update-pins"])
        .code(2)
        .stderr_has("its signature does not verify against")
        .stderr_has(&archive_key.keyring.display().to_string());
    archive_key.sign(&repository);
    std::fs::OpenOptions::new()
        .append(true)
        .open(repository.root.join("dists/bookworm/Release"))
        .unwrap()
        .write_all(b"Description: altered\n")
        .unwrap();
    compile(&sandbox, &["--update-pins"])
        .code(2)
        .stderr_has("BAD signature");

    // A clearsigned InRelease is read first, as apt reads it; what it signs is what is
    // read, so text outside the signature counts for nothing.
    repository.index();
    archive_key.clearsign(&repository);
    std::fs::remove_file(repository.root.join("dists/bookworm/Release.gpg")).unwrap();
    compile(&sandbox, &["--update-pins"]).success();
    let in_release = repository.root.join("dists/bookworm/InRelease");
    let signed = std::fs::read_to_string(&in_release).unwrap();
    std::fs::write(
        &in_release,
        signed.replace("Suite: bookworm", "Suite: altered"),
    )
    .unwrap();
    compile(&sandbox, &["--update-pins"])
        .code(2)
        .stderr_has("InRelease: its signature does not verify");
}

#[test]
fn without_a_keyring_compile_says_the_releases_are_taken_unsigned() {
    let repository = DebianRepository::serve(&PACKAGES);
    let sandbox = sandbox(&repository);
    compile(&sandbox, &[])
        .success()
        .stderr_has("the sources' Release files are taken unsigned");
}
