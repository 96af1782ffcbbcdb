//! What a host has applied: one small entry file per node under
//! `/var/lib/cairn/state/`, written atomically (temporary file, then rename) right after the
//! node ran, so an interrupted apply leaves every entry whole and says honestly what ran.

use std::collections::BTreeMap;

use cairn_lockfiles::{NodeId, NodeKind, NodeName};

use crate::confined_folder::make_confined_folder;
use crate::host_paths::HostPaths;
use crate::shell::quote;

/// What a script prints when the node's state entry could not be written: what the node
/// did before it is done.
pub const RECORD_FAILED: &str = "cannot record the node in cairn state";

/// The folder of entries, as a path of the lockfile (under the host's root).
const STATE_FOLDER: &str = "/var/lib/cairn/state";

/// Shell lines making the state folder (0700) under the host's root without following a
/// link, failing with [`RECORD_FAILED`].
fn confined_state_folder(paths: &HostPaths) -> String {
    make_confined_folder(
        paths,
        STATE_FOLDER,
        Some("700"),
        &format!("{{ echo '{RECORD_FAILED}' >&2; exit 1; }}"),
    )
}

/// A node as the host recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEntry {
    pub name: NodeName,
    pub id: NodeId,
    /// The id of the node's own inputs, without its dependencies: tells "its inputs
    /// changed" from "a dependency changed".
    pub inputs_id: NodeId,
    /// For files: the lockfile path and the sha256 of what was written.
    pub path: Option<String>,
    pub sha256: Option<String>,
    /// For packages: the packages this node installed (those the host did not have
    /// before), which are removed when no node wants them any more.
    pub installed: Vec<String>,
    /// For repositories: the digest of what was placed (the lockfile's pins and
    /// artifacts), which a node's id does not cover.
    pub contents: Option<String>,
}

impl StateEntry {
    pub fn kind(&self) -> NodeKind {
        self.name.kind
    }

    /// The entry as its file holds it.
    pub(crate) fn text(&self) -> String {
        let mut text = format!(
            "name={}\nid={}\ninputs={}\n",
            self.name, self.id, self.inputs_id
        );
        if let Some(path) = &self.path {
            text.push_str(&format!("path={path}\n"));
        }
        if let Some(sha256) = &self.sha256 {
            text.push_str(&format!("sha256={sha256}\n"));
        }
        if !self.installed.is_empty() {
            text.push_str(&format!("installed={}\n", self.installed.join(" ")));
        }
        if let Some(contents) = &self.contents {
            text.push_str(&format!("contents={contents}\n"));
        }
        text
    }

    fn parse(text: &str) -> Option<Self> {
        let fields: BTreeMap<&str, &str> = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .collect();
        Some(Self {
            name: fields.get("name")?.parse().ok()?,
            id: fields.get("id")?.parse().ok()?,
            inputs_id: fields.get("inputs")?.parse().ok()?,
            path: fields.get("path").map(|path| path.to_string()),
            sha256: fields.get("sha256").map(|sha256| sha256.to_string()),
            installed: fields
                .get("installed")
                .map(|list| list.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            contents: fields.get("contents").map(|contents| contents.to_string()),
        })
    }

    /// The entry's file name: a hash of the node name, so any name makes a safe file name.
    fn file_name(name: &NodeName) -> String {
        format!("{}.entry", Self::name_hash(name))
    }

    /// A hash of the node name: what files cairn keeps for the node on a host are named by.
    pub(crate) fn name_hash(name: &NodeName) -> String {
        blake3::hash(name.to_string().as_bytes()).to_hex()[..32].to_string()
    }

    /// The host path of the entry file of node `name`.
    pub(crate) fn entry_path(name: &NodeName, paths: &HostPaths) -> String {
        format!("{}/{}", paths.state_directory(), Self::file_name(name))
    }

    /// Shell commands that record this entry atomically; a failure to record fails the
    /// script.
    pub fn record_script(&self, paths: &HostPaths) -> String {
        self.record_script_with(paths, &[])
    }

    /// Like [`StateEntry::record_script`], with fields whose values the script computed on
    /// the host: each `(field, variable)` records the shell variable's value. A hash of
    /// content with secrets in it, say, never travels in a command line.
    pub fn record_script_with(&self, paths: &HostPaths, computed: &[(&str, &str)]) -> String {
        let file = Self::file_name(&self.name);
        let computed_fields: String = computed
            .iter()
            .map(|(field, variable)| format!("; printf '{field}=%s\\n' \"${variable}\""))
            .collect();
        format!(
            "{make_folder}\
             cairn_entry=$(mktemp {dir}/.{file}.XXXXXX) && {{ {{ printf '%s' {text}{computed_fields}; }} > \"$cairn_entry\" && mv -fT -- \"$cairn_entry\" {dir}/{file}; }} || {{ rm -f -- \"${{cairn_entry:-}}\"; echo '{RECORD_FAILED}' >&2; exit 1; }}\n",
            make_folder = confined_state_folder(paths),
            dir = quote(&paths.path(STATE_FOLDER)),
            text = quote(&self.text()),
        )
    }

    /// Shell commands that forget this entry.
    pub fn forget_script(name: &NodeName, paths: &HostPaths) -> String {
        format!(
            "rm -f {}/{}\n",
            quote(&paths.state_directory()),
            Self::file_name(name)
        )
    }
}

/// Every entry of a host, by node name, from the entry files printed one after another
/// (each starts with its `name=` line). Entries that cannot be read (a torn write cannot
/// happen, but a hand edit can) are skipped: their nodes simply run again.
pub fn parse_entries(text: &str) -> BTreeMap<NodeName, StateEntry> {
    let mut entries = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.starts_with("name=") && !current.is_empty() {
            if let Some(entry) = StateEntry::parse(&current) {
                entries.insert(entry.name.clone(), entry);
            }
            current.clear();
        }
        current.push_str(line);
        current.push('\n');
    }
    if let Some(entry) = StateEntry::parse(&current) {
        entries.insert(entry.name.clone(), entry);
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_as_written() {
        let entry = StateEntry {
            name: "h:file:/etc/a b".parse().unwrap(),
            id: "0123456789abcdef0123456789abcdef".parse().unwrap(),
            inputs_id: "fedcba9876543210fedcba9876543210".parse().unwrap(),
            path: Some("/etc/a b".into()),
            sha256: Some("ab".repeat(32)),
            installed: vec!["curl".into(), "haproxy".into()],
            contents: Some("0123abcd".into()),
        };
        let mut other = entry.clone();
        other.name = "h:file:/etc/other".parse().unwrap();
        other.path = None;
        other.installed.clear();
        other.contents = None;
        let text = format!("{}{}", entry.text(), other.text());
        let mut entries = parse_entries(&text);
        assert_eq!(entries.remove(&entry.name), Some(entry));
        assert_eq!(entries.remove(&other.name), Some(other));
    }
}
