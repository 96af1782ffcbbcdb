use std::path::Path;

use cairn_lockfiles::Lockfile;

use crate::commands::lookup::find_node;
use crate::failure::Failure;
use crate::output::print;

pub fn run(lockfile_path: &Path, node_text: &str) -> Result<(), Failure> {
    let lockfile = Lockfile::read(lockfile_path)?;
    let node = find_node(&lockfile, node_text)?;
    let inputs = lockfile.explain(node);
    let json = serde_json::to_string_pretty(&inputs.0)
        .map_err(|error| Failure::Failed(error.to_string()))?;
    print(&format!(
        "node: {}\nid:   {}\n\nThe id is the first 128 bits of blake3 (key derived from `{}`) over the\ncanonical encoding of these inputs: kind, inputs with keys sorted, and the sorted ids of\nthe dependencies. Text counts by its content hash, and by the name and fingerprint of each\nsecret its placeholders reference; a secret by its name and fingerprint.\n\n{json}\n",
        node.name,
        node.id,
        inputs.0["domain"].as_str().unwrap_or_default(),
    ))
}
