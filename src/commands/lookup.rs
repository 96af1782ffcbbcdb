use cairn_lockfiles::{Lockfile, Node, NodeName};

use crate::failure::Failure;

/// Finds a node by its full name; otherwise lists the nodes whose names contain the text.
pub fn find_node<'a>(lockfile: &'a Lockfile, text: &str) -> Result<&'a Node, Failure> {
    if let Ok(name) = text.parse::<NodeName>()
        && let Some(node) = lockfile.node(&name)
    {
        return Ok(node);
    }
    let candidates: Vec<String> = lockfile
        .nodes()
        .iter()
        .map(|node| node.name.to_string())
        .filter(|name| name.contains(text))
        .take(10)
        .collect();
    let hint = if candidates.is_empty() {
        "hint: `cairn show LOCK` lists every node".to_string()
    } else {
        format!(
            "hint: nodes whose names contain it:\n  {}",
            candidates.join("\n  ")
        )
    };
    Err(Failure::Input(format!(
        "no node named `{text}`; names are `host:kind:key`\n{hint}"
    )))
}
