//! One round trip per host before planning: the state entries, and the sha256 of every
//! file the lockfile puts on the host (to notice drift).

use std::collections::BTreeMap;

use cairn_lockfiles::{NodeName, NodeSpec};

use crate::host_paths::HostPaths;
use crate::shell::quote;
use crate::state::{ENTRY_SEPARATOR, StateEntry, parse_entries};
use crate::transport::{Transport, TransportError};

/// What a host has, as far as the plan needs to know.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    pub entries: BTreeMap<NodeName, StateEntry>,
    /// For each lockfile path of a file node: the sha256 of the file on the host, or `None`
    /// when it does not exist.
    pub file_hashes: BTreeMap<String, Option<String>>,
}

const FILES_MARKER: &str = "@@cairn-files@@";

/// Reads the facts of one host; `file_paths` are the lockfile paths of its file nodes.
pub fn gather(
    transport: &dyn Transport,
    paths: &HostPaths,
    file_paths: &[String],
) -> Result<Result<HostFacts, String>, TransportError> {
    let script = format!(
        "state={state}\n\
         root={root}\n\
         if [ -d \"$state\" ]; then for entry in \"$state\"/*.entry; do [ -f \"$entry\" ] && cat \"$entry\" && printf '%s' {separator}; done; fi\n\
         echo {marker}\n\
         while IFS= read -r path; do\n\
           if [ -f \"$root$path\" ]; then printf '%s %s\\n' \"$(sha256sum < \"$root$path\" | cut -d' ' -f1)\" \"$path\"; else printf -- '- %s\\n' \"$path\"; fi\n\
         done\n",
        state = quote(&paths.state_directory()),
        separator = quote(ENTRY_SEPARATOR),
        marker = FILES_MARKER,
        root = quote(paths.root()),
    );
    let mut stdin = String::new();
    for path in file_paths {
        stdin.push_str(path);
        stdin.push('\n');
    }
    let output = transport.run(&script, stdin.as_bytes())?;
    if !output.success() {
        return Ok(Err(format!(
            "cannot read cairn's state: {}",
            output.failure_text()
        )));
    }
    let text = output.stdout_text();
    let Some((entries_text, files_text)) = text.split_once(&format!("{FILES_MARKER}\n")) else {
        return Ok(Err("the state listing is cut short".to_string()));
    };
    let mut file_hashes = BTreeMap::new();
    for line in files_text.lines() {
        if let Some((hash, path)) = line.split_once(' ') {
            file_hashes.insert(path.to_string(), (hash != "-").then(|| hash.to_string()));
        }
    }
    Ok(Ok(HostFacts {
        entries: parse_entries(entries_text),
        file_hashes,
    }))
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
