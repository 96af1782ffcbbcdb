//! One round trip per host before planning: the state entries, and the sha256 of every
//! file the lockfile puts on the host (to notice drift). Few processes on purpose: at a
//! hundred hosts, every fork on every host shows in the time of a no-op apply.

use std::collections::BTreeMap;

use cairn_lockfiles::{NodeName, NodeSpec};

use crate::host_paths::HostPaths;
use crate::shell::quote;
use crate::state::{StateEntry, parse_entries};

/// What a host has, as far as the plan needs to know.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    pub entries: BTreeMap<NodeName, StateEntry>,
    /// For each lockfile path of a file node: the sha256 of the file on the host, or `None`
    /// when it does not exist.
    pub file_hashes: BTreeMap<String, Option<String>>,
    /// The host's cairn containers by Docker name: (the node id they were started for,
    /// their state: `running`, `exited`, ...).
    pub containers: BTreeMap<String, (String, String)>,
    /// For the control host: the cairn images built (`cairn/<name>:<id>`).
    pub images: std::collections::BTreeSet<String>,
}

const FILES_MARKER: &str = "@@cairn-files@@";
const CONTAINERS_MARKER: &str = "@@cairn-containers@@";

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

/// Shell commands printing the facts; `file_paths` are the lockfile paths of the host's
/// file nodes. One `cat` for every entry, one `sha256sum` for every file.
pub fn script(paths: &HostPaths, file_paths: &[String]) -> String {
    let mut script = format!(
        "state={state}\nif [ -d \"$state\" ]; then set -- \"$state\"/*.entry; [ -e \"$1\" ] && cat -- \"$@\"; fi\necho {FILES_MARKER}\n",
        state = quote(&paths.state_directory()),
    );
    if !file_paths.is_empty() {
        let targets: Vec<String> = file_paths
            .iter()
            .map(|path| quote(&paths.path(path)))
            .collect();
        script.push_str(&format!("sha256sum -- {} 2>/dev/null\n", targets.join(" ")));
    }
    script.push_str(&format!("echo {CONTAINERS_MARKER}\n"));
    script.push_str(
        "if command -v docker >/dev/null 2>&1; then docker ps --all --filter label=cairn.id --format '{{.Names}}\t{{.Label \"cairn.id\"}}\t{{.State}}' 2>/dev/null || true; fi\n",
    );
    script
}

/// Reads what [`script`] printed.
pub fn parse(output: &str, paths: &HostPaths, file_paths: &[String]) -> Result<HostFacts, String> {
    let Some((entries_text, rest)) = output.split_once(&format!("{FILES_MARKER}\n")) else {
        return Err("the state listing is cut short".to_string());
    };
    let Some((files_text, containers_text)) = rest.split_once(&format!("{CONTAINERS_MARKER}\n"))
    else {
        return Err("the state listing is cut short".to_string());
    };
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
    let file_hashes = file_paths
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
        file_hashes,
        containers,
        images: Default::default(),
    })
}

/// The lockfile paths of the file nodes among `nodes`.
pub fn file_paths<'a>(nodes: impl Iterator<Item = &'a NodeSpec>) -> Vec<String> {
    nodes
        .filter_map(|spec| match spec {
            NodeSpec::File(file) => Some(file.path.clone()),
            _ => None,
        })
        .collect()
}
