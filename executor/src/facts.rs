//! One round trip per host before planning: the state entries, and what the plan needs to
//! notice drift: the sha256 of every file the lockfile puts on the host, the host's cairn
//! containers, the installed versions of its packages, the state of its services. Few
//! processes on purpose: at a hundred hosts, every fork on every host shows in the time of
//! a no-op apply, so each kind of fact is one command, and only when the host has such
//! nodes.

use std::collections::{BTreeMap, BTreeSet};

use cairn_lockfiles::{Node, NodeName, NodeSpec};

use crate::host_paths::HostPaths;
use crate::kinds::previous_file::pending_entries_script;
use crate::left_drained;
use crate::shell::quote;
use crate::state::{StateEntry, parse_entries};

/// What a host has, as far as the plan needs to know.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    pub entries: BTreeMap<NodeName, StateEntry>,
    /// The state entries of files written in a replacement's turn that was never recorded,
    /// where no file was before (`kinds/previous_file.rs`): cairn wrote them, and nothing
    /// else says so.
    pub unrecorded_files: BTreeMap<NodeName, StateEntry>,
    /// The replacements whose turn drained the host and was stopped before it undrained it
    /// (`left_drained.rs`).
    pub left_drained: Vec<NodeName>,
    /// For each lockfile path of a file node: the sha256 of the file on the host, or `None`
    /// when it does not exist.
    pub file_hashes: BTreeMap<String, Option<String>>,
    /// The host's cairn containers by Docker name: (the node id they were started for,
    /// their state: `running`, `exited`, ...).
    pub containers: BTreeMap<String, (String, String)>,
    /// For the control host: the cairn images built (`cairn/<name>:<id>`).
    pub images: BTreeSet<String>,
    /// For the control host: the images pushed, as (`cairn/<name>:<id>`, the registry).
    pub pushed: BTreeSet<(String, String)>,
    /// Installed packages among those the host's package nodes name: (package,
    /// architecture) → version. A package dpkg does not list as installed is absent.
    pub packages: BTreeMap<(String, String), String>,
    /// The state of each unit the host's service nodes name, as systemd reports it; absent
    /// when systemd could not be asked.
    pub services: BTreeMap<String, ServiceFacts>,
    /// Whether another apply held the host's lock when the facts were read without it
    /// (`cairn plan`): the host may be half applied because that apply is not done.
    pub apply_running: bool,
}

impl HostFacts {
    /// What cairn applied on the host: its state entries, then the files written in a turn
    /// that was never recorded, where no file was before.
    pub fn applied(&self) -> impl Iterator<Item = &StateEntry> {
        let unrecorded = self
            .unrecorded_files
            .values()
            .filter(|entry| !self.entries.contains_key(&entry.name));
        self.entries.values().chain(unrecorded)
    }

    /// The installed version of a package as a package node names it (`name` or
    /// `name:architecture`), `None` when it is not installed.
    pub fn installed_version(&self, package: &str) -> Option<&str> {
        match package.split_once(':') {
            Some((name, architecture)) => self
                .packages
                .get(&(name.to_string(), architecture.to_string()))
                .map(String::as_str),
            None => self
                .packages
                .range((package.to_string(), String::new())..)
                .take_while(|((name, _), _)| name == package)
                .map(|(_, version)| version.as_str())
                .next(),
        }
    }
}

/// A unit's state, from `systemctl show`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFacts {
    /// `loaded`, `not-found`, ...
    pub load_state: String,
    /// `active`, `inactive`, `failed`, `activating`, ...
    pub active_state: String,
    /// `enabled`, `disabled`, `static`, ... (empty for a unit with no unit file).
    pub unit_file_state: String,
}

/// What to ask a host: drawn from its nodes in the lockfile.
#[derive(Debug, Clone, Default)]
pub struct FactsQuery {
    /// The lockfile paths of its file nodes.
    pub file_paths: Vec<String>,
    /// The package names (without versions) its package nodes install, and those their
    /// pins assume the host has.
    pub package_names: BTreeSet<String>,
    /// The units its service nodes manage.
    pub service_units: BTreeSet<String>,
    /// Whether it has container nodes (asking Docker costs about 10 ms a host).
    pub containers: bool,
}

impl FactsQuery {
    pub fn of(nodes: &[Node]) -> Self {
        let mut query = Self::default();
        for node in nodes {
            match &*node.spec {
                NodeSpec::File(file) => query.file_paths.push(file.path.clone()),
                // A repository's indexes end in its Release: what tells whether the host's
                // copy is the one apply placed.
                NodeSpec::Repository(repository) => {
                    query.file_paths.push(repository.release_path())
                }
                NodeSpec::Package(package) => {
                    query.package_names.extend(
                        package
                            .installed_packages()
                            .into_iter()
                            .map(|requirement| requirement.name),
                    );
                    if let Some(pins) = &package.pins {
                        query
                            .package_names
                            .extend(pins.assumed_names().map(str::to_string));
                    }
                }
                NodeSpec::Service(service) => {
                    query.service_units.insert(service.unit.clone());
                }
                NodeSpec::Container(_) => query.containers = true,
                _ => {}
            }
        }
        query
    }
}

const UNRECORDED_MARKER: &str = "@@cairn-unrecorded@@";
const LEFT_DRAINED_MARKER: &str = "@@cairn-left-drained@@";
const FILES_MARKER: &str = "@@cairn-files@@";
const CONTAINERS_MARKER: &str = "@@cairn-containers@@";
const PACKAGES_MARKER: &str = "@@cairn-packages@@";
const SERVICES_MARKER: &str = "@@cairn-services@@";

/// What [`apply_running_script`] prints when another apply holds the host's lock.
const APPLY_RUNNING_MARKER: &str = "@@cairn-apply-running@@";

/// Shell commands, for a script that does not hold the host's lock, printing a marker
/// when another apply holds it. They make nothing: a host without a lock file has no
/// apply running.
pub fn apply_running_script(paths: &HostPaths) -> String {
    format!(
        "if [ -f {lock} ] && ! flock -n {lock} true 2>/dev/null; then echo {APPLY_RUNNING_MARKER}; fi\n",
        lock = quote(&paths.lock_file()),
    )
}

/// Shell commands listing the images built on the control host.
pub fn control_script() -> String {
    "docker images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=cairn/*' 2>/dev/null || true\n".to_string()
}

/// Reads what [`control_script`] printed.
pub fn parse_control(output: &str) -> HostFacts {
    HostFacts {
        images: output
            .lines()
            .map(|line| line.trim().to_string())
            .filter(|line| !line.is_empty())
            .collect(),
        ..HostFacts::default()
    }
}

/// Shell commands printing the facts `query` asks for. One `cat` for every entry, one
/// `sha256sum` for every file, one `docker ps` for every container, one `dpkg-query` for
/// every package, one `systemctl show` for every unit.
pub fn script(paths: &HostPaths, query: &FactsQuery) -> String {
    let mut script = format!(
        "state={state}\nif [ -d \"$state\" ]; then set -- \"$state\"/*.entry; [ -e \"$1\" ] && cat -- \"$@\"; fi\necho {UNRECORDED_MARKER}\n{unrecorded}echo {LEFT_DRAINED_MARKER}\n{left_drained}echo {FILES_MARKER}\n",
        state = quote(&paths.state_directory()),
        unrecorded = pending_entries_script(paths),
        left_drained = left_drained::listing_script(paths),
    );
    if !query.file_paths.is_empty() {
        let targets: Vec<String> = query
            .file_paths
            .iter()
            .map(|path| quote(&paths.path(path)))
            .collect();
        script.push_str(&format!("sha256sum -- {} 2>/dev/null\n", targets.join(" ")));
    }
    script.push_str(&format!("echo {CONTAINERS_MARKER}\n"));
    if query.containers {
        script.push_str(
            "if command -v docker >/dev/null 2>&1; then docker ps --all --filter label=cairn.id --format '{{.Names}}\t{{.Label \"cairn.id\"}}\t{{.State}}' 2>/dev/null || true; fi\n",
        );
    }
    script.push_str(&format!("echo {PACKAGES_MARKER}\n"));
    if !query.package_names.is_empty() {
        let names: Vec<String> = query.package_names.iter().map(|name| quote(name)).collect();
        script.push_str(&format!(
            "dpkg-query --show --showformat='${{Package}}\\t${{Architecture}}\\t${{Version}}\\t${{db:Status-Abbrev}}\\n' -- {} 2>/dev/null || true\n",
            names.join(" ")
        ));
    }
    script.push_str(&format!("echo {SERVICES_MARKER}\n"));
    if !query.service_units.is_empty() {
        let units: Vec<String> = query.service_units.iter().map(|unit| quote(unit)).collect();
        script.push_str(&format!(
            "systemctl show --property=Id,LoadState,ActiveState,UnitFileState -- {} 2>/dev/null || true\n",
            units.join(" ")
        ));
    }
    script
}

/// The state listing ended before all its parts.
#[derive(Debug, Clone, Copy)]
pub struct ListingCutShort;

/// Reads what [`script`] printed.
pub fn parse(
    output: &str,
    paths: &HostPaths,
    query: &FactsQuery,
) -> Result<HostFacts, ListingCutShort> {
    let [
        entries_text,
        unrecorded_text,
        left_drained_text,
        files_text,
        containers_text,
        packages_text,
        services_text,
    ] = sections(
        output,
        [
            UNRECORDED_MARKER,
            LEFT_DRAINED_MARKER,
            FILES_MARKER,
            CONTAINERS_MARKER,
            PACKAGES_MARKER,
            SERVICES_MARKER,
        ],
    )?;
    let containers = containers_text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            Some((
                fields.next()?.to_string(),
                (fields.next()?.to_string(), fields.next()?.to_string()),
            ))
        })
        .collect();
    let mut hashes_by_target: BTreeMap<&str, &str> = BTreeMap::new();
    for line in files_text.lines() {
        // `<hash>  <path>`; a path with a newline or backslash is escaped by sha256sum and
        // then simply not found, so its file counts as drifted: safe.
        if let Some((hash, target)) = line.split_once("  ") {
            hashes_by_target.insert(target, hash);
        }
    }
    let file_hashes = query
        .file_paths
        .iter()
        .map(|path| {
            let hash = hashes_by_target
                .get(paths.path(path).as_str())
                .map(|hash| hash.to_string());
            (path.clone(), hash)
        })
        .collect();
    Ok(HostFacts {
        entries: parse_entries(entries_text),
        unrecorded_files: parse_entries(unrecorded_text),
        left_drained: left_drained::parse_listing(left_drained_text),
        file_hashes,
        containers,
        images: BTreeSet::new(),
        pushed: BTreeSet::new(),
        packages: parse_packages(packages_text),
        services: parse_services(services_text),
        apply_running: output.lines().any(|line| line == APPLY_RUNNING_MARKER),
    })
}

/// `output` cut at each of `markers` (each on a line of its own, in this order): the text
/// before the first, between each two, and after the last.
fn sections<'output, const MARKERS: usize, const PARTS: usize>(
    output: &'output str,
    markers: [&str; MARKERS],
) -> Result<[&'output str; PARTS], ListingCutShort> {
    assert_eq!(PARTS, MARKERS + 1, "one part more than markers");
    let mut parts = [""; PARTS];
    let mut rest = output;
    for (index, marker) in markers.iter().enumerate() {
        let (before, after) = rest
            .split_once(&format!("{marker}\n"))
            .ok_or(ListingCutShort)?;
        parts[index] = before;
        rest = after;
    }
    parts[MARKERS] = rest;
    Ok(parts)
}

/// `dpkg-query` lines: package, architecture, version, status; only installed ones (`ii`)
/// count.
fn parse_packages(text: &str) -> BTreeMap<(String, String), String> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let (package, architecture, version, status) = (
                fields.next()?,
                fields.next()?,
                fields.next()?,
                fields.next()?,
            );
            (status.trim_end() == "ii").then(|| {
                (
                    (package.to_string(), architecture.to_string()),
                    version.to_string(),
                )
            })
        })
        .collect()
}

/// `systemctl show` blocks, one per unit, separated by blank lines.
fn parse_services(text: &str) -> BTreeMap<String, ServiceFacts> {
    let mut services = BTreeMap::new();
    for block in text.split("\n\n") {
        let properties: BTreeMap<&str, &str> = block
            .lines()
            .filter_map(|line| line.split_once('='))
            .collect();
        let Some(unit) = properties.get("Id") else {
            continue;
        };
        let property = |name: &str| properties.get(name).unwrap_or(&"").to_string();
        services.insert(
            unit.to_string(),
            ServiceFacts {
                load_state: property("LoadState"),
                active_state: property("ActiveState"),
                unit_file_state: property("UnitFileState"),
            },
        );
    }
    services
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_packages_are_found_with_or_without_an_architecture() {
        let packages = parse_packages(
            "curl\tamd64\t7.88.1-10\tii \nlibc6\tamd64\t2.36-9\tii \nold\tamd64\t1.0\trc \n",
        );
        let facts = HostFacts {
            packages,
            ..HostFacts::default()
        };
        assert_eq!(facts.installed_version("curl"), Some("7.88.1-10"));
        assert_eq!(facts.installed_version("libc6:amd64"), Some("2.36-9"));
        assert_eq!(facts.installed_version("libc6:arm64"), None);
        assert_eq!(facts.installed_version("old"), None, "removed, config left");
        assert_eq!(facts.installed_version("absent"), None);
    }

    #[test]
    fn a_listing_is_cut_at_its_markers_in_order_and_one_cut_short_is_refused() {
        let [before, between, after] = sections("a\n@1\nb\n@2\nc\n", ["@1", "@2"]).unwrap();
        assert_eq!((before, between, after), ("a\n", "b\n", "c\n"));
        assert!(sections::<2, 3>("a\n@1\nb\n", ["@1", "@2"]).is_err());
    }

    #[test]
    fn each_unit_block_of_systemctl_show_is_read() {
        let services = parse_services(
            "Id=chrony.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n\nId=gone.service\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n",
        );
        assert_eq!(services["chrony.service"].active_state, "active");
        assert_eq!(services["chrony.service"].unit_file_state, "enabled");
        assert_eq!(services["gone.service"].load_state, "not-found");
    }
}
