use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use cairn_lockfiles::Lockfile;
use serde_json::json;

use crate::cli::GraphFormat;
use crate::failure::Failure;
use crate::output::print;

pub fn run(lockfile_path: &Path, format: GraphFormat) -> Result<(), Failure> {
    let lockfile = Lockfile::read(lockfile_path)?;
    match format {
        GraphFormat::Dot => print(&dot(&lockfile)),
        GraphFormat::Json => {
            let text = serde_json::to_string_pretty(&graph_json(&lockfile))
                .map_err(|error| Failure::Failed(error.to_string()))?;
            print(&format!("{text}\n"))
        }
    }
}

/// Graphviz DOT: one `subgraph cluster_*` per host (and one for cluster-wide nodes), an
/// edge from each node to each of its dependencies, dashed to each node it is only ordered
/// after.
fn dot(lockfile: &Lockfile) -> String {
    let mut by_scope: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for node in lockfile.nodes() {
        by_scope
            .entry(node.name.scope.as_str())
            .or_default()
            .push(node.name.to_string());
    }
    let quote = |text: &str| format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&lockfile.cluster.name));
    out.push_str("  rankdir=LR;\n  node [shape=box, fontsize=10];\n");
    for (index, (scope, names)) in by_scope.iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_{index} {{");
        let _ = writeln!(out, "    label={};", quote(scope));
        for name in names {
            let label = name.split_once(':').map_or(name.as_str(), |(_, rest)| rest);
            let _ = writeln!(out, "    {} [label={}];", quote(name), quote(label));
        }
        out.push_str("  }\n");
    }
    for node in lockfile.nodes() {
        for dependency in &node.deps {
            let _ = writeln!(
                out,
                "  {} -> {};",
                quote(&node.name.to_string()),
                quote(&dependency.to_string())
            );
        }
        // Waited for, not depended on: dashed.
        for name in &node.ordered_after {
            let _ = writeln!(
                out,
                "  {} -> {} [style=dashed];",
                quote(&node.name.to_string()),
                quote(&name.to_string())
            );
        }
    }
    out.push_str("}\n");
    out
}

fn graph_json(lockfile: &Lockfile) -> serde_json::Value {
    let nodes: Vec<serde_json::Value> = lockfile
        .nodes()
        .iter()
        .map(|node| {
            json!({
                "name": node.name.to_string(),
                "kind": node.name.kind.as_str(),
                "host": node.name.host(),
                "id": node.id.to_string(),
            })
        })
        .collect();
    let edges: Vec<serde_json::Value> = lockfile
        .nodes()
        .iter()
        .flat_map(|node| {
            let dependencies = node.deps.iter().map(|name| (name, false));
            let ordered_after = node.ordered_after.iter().map(|name| (name, true));
            dependencies.chain(ordered_after).map(move |(name, order_only)| {
                json!({ "from": node.name.to_string(), "to": name.to_string(), "order_only": order_only })
            })
        })
        .collect();
    json!({ "nodes": nodes, "edges": edges })
}
