use std::fmt::Write as _;
use std::path::Path;

use cairn_lockfiles::{Lockfile, Node, Value};
use serde_json::json;

use crate::commands::lookup::find_node;
use crate::failure::Failure;
use crate::output::{counted, print};

pub fn run(lockfile_path: &Path, node_text: Option<&str>, as_json: bool) -> Result<(), Failure> {
    let lockfile = Lockfile::read(lockfile_path)?;
    match (node_text, as_json) {
        (None, false) => print(&node_table(&lockfile)),
        (None, true) => {
            let nodes: Vec<serde_json::Value> = lockfile.nodes().iter().map(node_json).collect();
            print_json(&serde_json::Value::Array(nodes))
        }
        (Some(text), false) => print(&node_text_block(find_node(&lockfile, text)?)),
        (Some(text), true) => print_json(&node_json(find_node(&lockfile, text)?)),
    }
}

fn print_json(value: &serde_json::Value) -> Result<(), Failure> {
    let text =
        serde_json::to_string_pretty(value).map_err(|error| Failure::Failed(error.to_string()))?;
    print(&format!("{text}\n"))
}

fn node_table(lockfile: &Lockfile) -> String {
    let width = lockfile
        .nodes()
        .iter()
        .map(|node| node.name.to_string().len())
        .max()
        .unwrap_or(4);
    let mut out = String::new();
    let _ = writeln!(out, "{:<width$}  {:<12}  DEPS", "NODE", "ID");
    for node in lockfile.nodes() {
        let _ = writeln!(
            out,
            "{:<width$}  {}  {}",
            node.name.to_string(),
            node.id.short(),
            node.deps.len()
        );
    }
    let _ = writeln!(
        out,
        "\n{} on {}; `cairn show LOCK NODE` shows one",
        counted(lockfile.nodes().len(), "node"),
        counted(lockfile.hosts.len(), "host")
    );
    out
}

fn node_text_block(node: &Node) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "name: {}", node.name);
    let _ = writeln!(out, "kind: {}", node.name.kind);
    let _ = writeln!(out, "host: {}", node.name.scope.as_str());
    let _ = writeln!(out, "id:   {}", node.id);
    if node.deps.is_empty() {
        let _ = writeln!(out, "deps: none");
    } else {
        let _ = writeln!(out, "deps:");
        for dependency in &node.deps {
            let _ = writeln!(out, "  {dependency}");
        }
    }
    if !node.ordered_after.is_empty() {
        // Waited for by apply, outside the id.
        let _ = writeln!(out, "ordered after (not in the id):");
        for name in &node.ordered_after {
            let _ = writeln!(out, "  {name}");
        }
    }
    let mut texts = Vec::new();
    let _ = writeln!(out, "inputs:");
    for (field, value) in node.spec.inputs() {
        match &value {
            Value::Text(text) => {
                let _ = writeln!(
                    out,
                    "  {field}: <{} bytes, shown below>",
                    text.as_str().len()
                );
                texts.push((field.to_string(), text.clone()));
            }
            Value::List(items) if items.iter().any(|item| matches!(item, Value::Table(_))) => {
                let _ = writeln!(out, "  {field}:");
                for item in items {
                    let _ = writeln!(out, "    - {}", inline(item));
                    if let Value::Table(entries) = item
                        && let (Some(Value::Text(text)), Some(Value::String(path))) =
                            (entries.get("content"), entries.get("path"))
                    {
                        texts.push((format!("{field} {path}"), text.clone()));
                    }
                }
            }
            other => {
                let _ = writeln!(out, "  {field}: {}", inline(other));
            }
        }
    }
    for (label, text) in texts {
        let _ = writeln!(out, "\n--- {label} ---");
        out.push_str(text.as_str());
        if !text.as_str().ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

pub fn inline(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Integer(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Value::Table(entries) => format!(
            "{{ {} }}",
            entries
                .iter()
                .map(|(key, item)| format!("{key} = {}", inline(item)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Text(text) => format!("<text {} bytes>", text.as_str().len()),
        Value::Secret(name) => format!("<secret {name}>"),
    }
}

/// A node as JSON: `name`, `kind`, `host`, `id`, `deps`, `ordered_after` (waited for, not
/// in the id), `inputs`, and for files `path`,
/// `mode`, `owner`, `group`, `content` at the top level too.
pub fn node_json(node: &Node) -> serde_json::Value {
    let inputs: serde_json::Map<String, serde_json::Value> = node
        .spec
        .inputs()
        .into_iter()
        .map(|(field, value)| (field.to_string(), value_json(&value)))
        .collect();
    let mut object = json!({
        "name": node.name.to_string(),
        "kind": node.name.kind.as_str(),
        "host": node.name.host(),
        "id": node.id.to_string(),
        "deps": node.deps.iter().map(|name| name.to_string()).collect::<Vec<_>>(),
        "ordered_after": node.ordered_after.iter().map(|name| name.to_string()).collect::<Vec<_>>(),
    });
    if let cairn_lockfiles::NodeSpec::File(file) = &*node.spec {
        object["path"] = json!(file.path);
        object["content"] = json!(file.content.as_str());
        object["mode"] = json!(format!("{:04o}", file.mode));
        object["owner"] = json!(file.owner);
        object["group"] = json!(file.group);
    }
    object["inputs"] = serde_json::Value::Object(inputs);
    object
}

pub fn value_json(value: &Value) -> serde_json::Value {
    match value {
        Value::String(text) => json!(text),
        Value::Integer(number) => json!(number),
        Value::Bool(flag) => json!(flag),
        Value::List(items) => items.iter().map(value_json).collect(),
        Value::Table(entries) => entries
            .iter()
            .map(|(key, item)| (key.clone(), value_json(item)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Value::Text(text) => json!(text.as_str()),
        Value::Secret(name) => json!({ "secret": name }),
    }
}
