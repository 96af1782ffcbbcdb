//! Package pinning against the real Debian archive. cairn's resolver reads this machine's
//! own apt lists (the Packages indexes of every suite its sources name, as apt itself
//! reads them) and resolves what the platform's images install: HAProxy, ZooKeeper and
//! MariaDB. apt plans the same installation on an empty system
//! (`apt-get install --simulate --no-install-recommends` with an empty dpkg status, so it
//! plans the whole closure), and both must choose the same packages at the same versions.
//! Nothing is installed or downloaded; a machine without apt lists skips, saying so.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use cairn_debian::{Architecture, IndexSource, PackagesIndex, PinnedPackage, Requirement, resolve};

use crate::support::run_successfully;

/// This machine's Packages indexes as one index, and its architecture.
struct AptLists {
    index: PackagesIndex,
    architecture: Architecture,
}

/// The machine's apt lists, read once for every test here; `Err` says why there are none.
fn apt_lists() -> Result<&'static AptLists, &'static str> {
    static LISTS: OnceLock<Result<AptLists, String>> = OnceLock::new();
    LISTS
        .get_or_init(read_apt_lists)
        .as_ref()
        .map_err(String::as_str)
}

fn read_apt_lists() -> Result<AptLists, String> {
    let Ok(architecture) = Command::new("dpkg").arg("--print-architecture").output() else {
        return Err("dpkg is not installed: this machine is not Debian".to_string());
    };
    let architecture = String::from_utf8_lossy(&architecture.stdout)
        .trim()
        .to_string();
    let architecture = Architecture::new(&architecture).expect("dpkg prints an architecture");
    // The Packages indexes apt uses, in the order of its sources, with the repository each
    // one's `Filename` fields are relative to.
    let Ok(targets) = Command::new("apt-get")
        .args([
            "indextargets",
            "--format",
            "$(FILENAME)\t$(REPO_URI)\t$(ARCHITECTURE)",
            "Created-By: Packages",
        ])
        .env("LC_ALL", "C")
        .output()
    else {
        return Err("apt-get is not installed".to_string());
    };
    assert!(
        targets.status.success(),
        "apt-get indextargets: {}",
        String::from_utf8_lossy(&targets.stderr)
    );
    let started = Instant::now();
    let mut index = PackagesIndex::new();
    for target in String::from_utf8_lossy(&targets.stdout).lines() {
        let fields: Vec<&str> = target.split('\t').collect();
        let [file, repository, target_architecture] = fields[..] else {
            panic!("unexpected apt-get indextargets line `{target}`");
        };
        if target_architecture != architecture.as_str() || !Path::new(file).exists() {
            continue;
        }
        // apt keeps its lists lz4-compressed, which cairn does not read: apt prints them.
        let text = run_successfully(
            Command::new("/usr/lib/apt/apt-helper").args(["cat-file", file]),
            &format!("apt-helper cat-file {file}"),
        );
        index
            .add_text(
                IndexSource {
                    name: file.to_string(),
                    repository_url: repository.to_string(),
                },
                &String::from_utf8_lossy(&text.stdout),
            )
            .unwrap_or_else(|error| panic!("{error}"));
    }
    if index.is_empty() {
        return Err(format!(
            "apt has no Packages lists for {architecture} (run `apt-get update`)"
        ));
    }
    eprintln!(
        "read {} packages from {} Packages lists in {:?}",
        index.len(),
        index.sources().len(),
        started.elapsed()
    );
    Ok(AptLists {
        index,
        architecture,
    })
}

/// What apt would install on an empty system: each `Inst name (version …)` line of its
/// simulated plan, as name and version.
fn apt_plan(packages: &[&str]) -> BTreeMap<String, String> {
    apt_simulated_install(packages, Path::new("/dev/null"), "")
}

/// The packages and versions `apt-get install --simulate` would install given the dpkg
/// status at `status`: each `Inst name (version …)` line; `context` ends the message of a
/// failing apt-get.
fn apt_simulated_install(
    packages: &[&str],
    status: &Path,
    context: &str,
) -> BTreeMap<String, String> {
    let output = Command::new("apt-get")
        .args([
            "install",
            "--simulate",
            "--no-install-recommends",
            "-o",
            "Debug::NoLocking=1",
            "-o",
        ])
        .arg(format!("Dir::State::status={}", status.display()))
        .args(packages)
        .env("LC_ALL", "C")
        .output()
        .expect("apt-get runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "apt-get install --simulate {packages:?}{context}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("Inst "))
        .map(|line| {
            let (name, rest) = line.split_once(' ').expect("Inst name (version …)");
            // `Inst name [installed] (candidate …)` for an upgrade: the candidate counts.
            let version = rest
                .split_once('(')
                .and_then(|(_, after)| after.split_whitespace().next())
                .unwrap_or_else(|| panic!("no version in `Inst {line}`"));
            (name.to_string(), version.to_string())
        })
        .collect()
}

/// Resolves `packages` with cairn and with apt, and asserts both chose the same packages
/// at the same versions; a difference is listed by kind.
fn assert_same_closure_as_apt(packages: &[&str]) -> Vec<PinnedPackage> {
    let lists = match apt_lists() {
        Ok(lists) => lists,
        Err(reason) => {
            eprintln!("NOTE: package pinning is not compared with apt here: {reason}");
            return Vec::new();
        }
    };
    let requirements: Vec<Requirement> = packages
        .iter()
        .map(|name| Requirement::parse(name).unwrap())
        .collect();
    let started = Instant::now();
    let pinned = resolve(&lists.index, &requirements, &lists.architecture)
        .unwrap_or_else(|error| panic!("cairn cannot resolve {packages:?}:\n{error}"));
    let resolved_in = started.elapsed();
    let cairn: BTreeMap<String, String> = pinned
        .iter()
        .map(|package| (package.name.clone(), package.version.to_string()))
        .collect();
    let apt = apt_plan(packages);

    let only_cairn: Vec<String> = cairn
        .iter()
        .filter(|(name, _)| !apt.contains_key(*name))
        .map(|(name, version)| format!("{name} {version}"))
        .collect();
    let only_apt: Vec<String> = apt
        .iter()
        .filter(|(name, _)| !cairn.contains_key(*name))
        .map(|(name, version)| format!("{name} {version}"))
        .collect();
    let other_version: Vec<String> = cairn
        .iter()
        .filter_map(|(name, version)| {
            let apt_version = apt.get(name)?;
            (apt_version != version).then(|| format!("{name}: cairn {version}, apt {apt_version}"))
        })
        .collect();
    assert!(
        only_cairn.is_empty() && only_apt.is_empty() && other_version.is_empty(),
        "cairn's closure of {packages:?} ({} packages) differs from apt's plan ({} packages).\n\
         Chosen by cairn only (an alternative or provider apt did not take): {only_cairn:?}\n\
         Chosen by apt only (an alternative or provider cairn did not take, or a dependency \
         cairn does not follow): {only_apt:?}\n\
         At another version (a candidate chosen differently): {other_version:?}",
        cairn.len(),
        apt.len(),
    );
    eprintln!(
        "{packages:?}: {} packages (resolved in {resolved_in:?}), the same names and versions \
         as apt's plan",
        pinned.len()
    );

    for package in &pinned {
        assert_eq!(package.sha256.len(), 64, "{package:?}");
        assert!(package.size > 0, "{package:?}");
        assert!(
            package.url.ends_with(&package.filename) && package.url.starts_with("http"),
            "{package:?}"
        );
    }
    pinned
}

#[test]
fn haproxy_resolves_to_the_closure_apt_plans() {
    let pinned = assert_same_closure_as_apt(&["haproxy"]);
    if let Some(haproxy) = pinned.iter().find(|package| package.name == "haproxy") {
        assert_eq!(haproxy.needed_by, None);
        assert!(
            haproxy.url.contains("/main/h/haproxy/haproxy_"),
            "{haproxy:?}"
        );
    }
}

#[test]
fn zookeeper_resolves_to_the_closure_apt_plans() {
    assert_same_closure_as_apt(&["zookeeper"]);
}

#[test]
fn mariadb_server_resolves_to_the_closure_apt_plans() {
    assert_same_closure_as_apt(&["mariadb-server"]);
}

#[test]
fn the_three_images_packages_together_resolve_to_the_closure_apt_plans() {
    assert_same_closure_as_apt(&["haproxy", "zookeeper", "mariadb-server"]);
}

/// libreoffice-base-core prefers libreoffice-core-nogui, which conflicts with the
/// libreoffice-core that libreoffice-writer itself needs: apt takes the first out again
/// when it marks the second, and so must cairn (it kept both when it ignored Conflicts).
#[test]
fn a_conflict_takes_out_an_alternative_chosen_earlier_as_apt_does() {
    let pinned = assert_same_closure_as_apt(&["libreoffice-writer"]);
    assert!(
        pinned.is_empty()
            || !pinned
                .iter()
                .any(|package| package.name == "libreoffice-core-nogui"),
        "{pinned:?}"
    );
}

#[test]
fn a_package_the_archive_lacks_is_refused_with_the_nearest_name() {
    let Ok(lists) = apt_lists() else {
        return;
    };
    let error = resolve(
        &lists.index,
        &[Requirement::parse("haproxi").unwrap()],
        &lists.architecture,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "package `haproxi` is not in the repository\nhint: did you mean `haproxy`?"
    );
}

/// What apt would install on a host that has `base` (each package at the version the
/// machine's lists offer, as a dpkg status built from `apt-cache show`): its simulated
/// plan's `Inst` lines.
fn apt_plan_on_base(
    base: &std::collections::BTreeSet<String>,
    packages: &[&str],
) -> BTreeMap<String, String> {
    let shown = run_successfully(
        Command::new("apt-cache")
            .args(["show", "--no-all-versions"])
            .args(base)
            .env("LC_ALL", "C"),
        "apt-cache show",
    );
    let mut status = String::new();
    for stanza in String::from_utf8_lossy(&shown.stdout).split("\n\n") {
        let stanza = stanza.trim();
        if !stanza.is_empty() {
            status.push_str("Status: install ok installed\n");
            status.push_str(stanza);
            status.push_str("\n\n");
        }
    }
    let folder = tempfile::tempdir().expect("a folder");
    let status_path = folder.path().join("status");
    std::fs::write(&status_path, status).expect("the dpkg status");
    apt_simulated_install(packages, &status_path, " on the base")
}

/// A host's packages (host-base's: Docker, chrony, the operators' tools, nftables) on the
/// base system of its release (Priority required, with its closure, as debootstrap's
/// minbase installs it): cairn pins exactly what apt would install on such a host, and
/// names the packages of the base the closure relies on.
#[test]
fn host_packages_on_the_required_base_resolve_to_what_apt_installs_there() {
    let lists = apt_lists().unwrap_or_else(|reason| {
        panic!("package pinning cannot be compared with apt here: {reason}")
    });
    let base = cairn_debian::base_system(
        &lists.index,
        &lists.architecture,
        cairn_debian::Priority::Required,
    )
    .unwrap_or_else(|error| panic!("the required base system does not resolve: {error}"));
    for essential in ["libc6", "dpkg", "bash", "coreutils", "base-files"] {
        assert!(
            base.contains(essential),
            "{essential} is not in the base: {base:?}"
        );
    }
    let requested = [
        "docker.io",
        "chrony",
        "curl",
        "dnsutils",
        "net-tools",
        "tcpdump",
        "nftables",
    ];
    let requirements: Vec<Requirement> = requested
        .iter()
        .map(|name| Requirement::parse(name).unwrap())
        .collect();
    let resolution =
        cairn_debian::resolve_on_base(&lists.index, &requirements, &lists.architecture, &base)
            .unwrap_or_else(|error| {
                panic!("cairn cannot resolve {requested:?} on the base:\n{error}")
            });
    let cairn: BTreeMap<String, String> = resolution
        .packages
        .iter()
        .map(|package| (package.name.clone(), package.version.to_string()))
        .collect();
    let apt = apt_plan_on_base(&base, &requested);
    assert_eq!(
        cairn, apt,
        "cairn's packages on the base (left) differ from apt's plan on a host with that base (right)"
    );
    assert!(
        resolution
            .packages
            .iter()
            .all(|package| !base.contains(&package.name)),
        "a package of the base is pinned"
    );
    let assumed: Vec<&str> = resolution
        .assumed
        .iter()
        .map(|package| package.name.as_str())
        .collect();
    assert!(
        assumed.contains(&"libc6"),
        "docker.io relies on libc6 of the base: {assumed:?}"
    );
    assert!(
        assumed.iter().all(|name| base.contains(*name)),
        "assumed packages outside the base: {assumed:?}"
    );
}
