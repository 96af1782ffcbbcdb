//! The `[[node]]` tables, and the hosts written like another (format 7).
//!
//! A cluster grows by hosts of the same roles, and their nodes are the same but for the
//! host's name and the few values rendered from the host itself (its address in a config,
//! its hostname in a script). The first host of each set of roles (by name) is a model,
//! written whole. Another host of those roles is written `like = "MODEL"` in its
//! `[hosts.NAME]` table when it has every node of the model, each with at least the model
//! node's fields: then each of its nodes is the model's, renamed to it (its name, and the
//! dependencies and order-only waits on the model's own nodes), except what its
//! `[[node]]` tables say. Such a table names the node and gives only the fields (`deps` and
//! `ordered_after` among them) that differ from the model's; a node the model lacks is
//! written whole. A host written like another records no ids: the reader computes them, as
//! it computes every id, and the host's `nodes_digest` covers them. At ten thousand hosts
//! of one shape this writes what differs per host and nothing else.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use super::{push_name, write_field_value, write_names};
use crate::lockfile::Lockfile;
use crate::name_list::NameList;
use crate::node::Node;
use crate::node_kind::NodeKind;
use crate::node_name::NodeName;
use crate::nodes::NodeSpec;
use crate::sorted_walk::{Paired, sorted_walk};
use crate::toml_text::key;
use crate::value::Value;

/// A node's fields as written: [`NodeSpec::written_fields`] without the key field (the
/// last part of its name, written once there).
type WrittenFields = Vec<(&'static str, Value)>;

/// What the node tables leave to the rest of the file: the model of each host written like
/// another.
pub(super) struct WrittenNodes {
    /// The `[[node]]` tables.
    pub(super) text: String,
    /// Host to model, for each host written like another.
    pub(super) models: BTreeMap<String, String>,
}

/// A model host's nodes with their written fields, kept to compare its likes with.
struct Model<'a> {
    host: &'a str,
    nodes: &'a [Node],
    fields: Vec<WrittenFields>,
}

/// Writes every node, sorted by name, hosts like their models where `like_hosts` (format
/// 7), else every host whole (as format 6 did); `on_node` sees each node with its written
/// fields (the content table and the pin sets list their users).
pub(super) fn write_nodes(
    lockfile: &Lockfile,
    like_hosts: bool,
    mut on_node: impl FnMut(&Node, &WrittenFields),
) -> WrittenNodes {
    let mut out = String::with_capacity(64 * 1024);
    let mut models: BTreeMap<String, String> = BTreeMap::new();
    // The model of each set of roles: its first host by name.
    let mut model_of_roles: HashMap<&[String], Model<'_>> = HashMap::new();
    let mut scratch = String::new();
    for group in scope_groups(lockfile.nodes()) {
        let fields: Vec<WrittenFields> = group.iter().map(written_fields).collect();
        for (node, fields) in group.iter().zip(&fields) {
            on_node(node, fields);
        }
        let host = group[0]
            .name
            .host()
            .map(|host| (host, &lockfile.hosts[host]));
        let Some((host, entry)) = host.filter(|_| like_hosts) else {
            write_whole(&mut out, &mut scratch, group, &fields, true);
            continue;
        };
        match model_of_roles.get(entry.roles.as_slice()) {
            Some(model) if can_be_written_like(group, &fields, model) => {
                write_like(&mut out, &mut scratch, (group, &fields), model);
                models.insert(host.to_string(), model.host.to_string());
            }
            Some(_) => write_whole(&mut out, &mut scratch, group, &fields, true),
            None => {
                write_whole(&mut out, &mut scratch, group, &fields, true);
                let model = Model {
                    host,
                    nodes: group,
                    fields,
                };
                model_of_roles.insert(entry.roles.as_slice(), model);
            }
        }
    }
    WrittenNodes { text: out, models }
}

/// The nodes in runs of one scope each (the cluster's, then each host's), in name order.
fn scope_groups(nodes: &[Node]) -> impl Iterator<Item = &[Node]> {
    nodes.chunk_by(|left, right| left.name.scope == right.name.scope)
}

fn written_fields(node: &Node) -> WrittenFields {
    let key_field = NodeSpec::key_field(node.name.kind);
    let mut fields = node.spec.written_fields();
    fields.retain(|(field, _)| *field != key_field);
    fields
}

/// Whether a host's nodes can be written like `model`'s: it has every node the model has
/// (by kind and key), each with at least the fields of the model's (a field it lacks could
/// not be said).
fn can_be_written_like(nodes: &[Node], fields: &[WrittenFields], model: &Model<'_>) -> bool {
    let own = nodes.iter().zip(fields);
    let model_nodes = model.nodes.iter().zip(&model.fields);
    sorted_walk(own, model_nodes, |(node, _), (model_node, _)| {
        in_scope(node).cmp(&in_scope(model_node))
    })
    .all(|pair| match pair {
        // A node the model lacks is written whole.
        Paired::Left(_) => true,
        Paired::Right(_) => false,
        Paired::Both((_, fields), (_, model_fields)) => model_fields
            .iter()
            .all(|(field, _)| fields.iter().any(|(own_field, _)| own_field == field)),
    })
}

/// A node's name within its scope, as its host's nodes and its model's are matched.
fn in_scope(node: &Node) -> (NodeKind, &str) {
    (node.name.kind, node.name.key.as_ref())
}

/// Each node in full: its name, its id (unless its host is written like another), its
/// dependencies and its fields.
fn write_whole(
    out: &mut String,
    scratch: &mut String,
    nodes: &[Node],
    fields: &[WrittenFields],
    with_ids: bool,
) {
    for (node, fields) in nodes.iter().zip(fields) {
        start_table(out, scratch, &node.name);
        if with_ids {
            out.push_str("id = \"");
            out.push_str(&node.id.to_string());
            out.push_str("\"\n");
        }
        write_names(out, scratch, "deps", &node.deps);
        write_names(out, scratch, "ordered_after", &node.ordered_after);
        write_fields(out, fields.iter());
    }
}

/// A host's nodes written like `model`'s: for each, what differs from the model's node of
/// the same kind and key; a node the model lacks, whole.
fn write_like(
    out: &mut String,
    scratch: &mut String,
    (nodes, fields): (&[Node], &[WrittenFields]),
    model: &Model<'_>,
) {
    let own = nodes.iter().zip(fields);
    let model_nodes = model.nodes.iter().zip(&model.fields);
    let pairs = sorted_walk(own, model_nodes, |(node, _), (model_node, _)| {
        in_scope(node).cmp(&in_scope(model_node))
    });
    for pair in pairs {
        let ((node, fields), (model_node, model_fields)) = match pair {
            Paired::Both(own, counterpart) => (own, counterpart),
            // A model node the host lacks: nothing to write.
            Paired::Right(_) => continue,
            Paired::Left((node, fields)) => {
                write_whole(
                    out,
                    scratch,
                    std::slice::from_ref(node),
                    std::slice::from_ref(fields),
                    false,
                );
                continue;
            }
        };
        let renamed = |names: &NameList| names.with_host_renamed(model.host, &node.name.scope);
        let deps_differ = renamed(&model_node.deps) != node.deps;
        let order_differs = renamed(&model_node.ordered_after) != node.ordered_after;
        let differing: Vec<&(&'static str, Value)> = fields
            .iter()
            .filter(|(field, value)| {
                !model_fields
                    .iter()
                    .any(|(model_field, model_value)| model_field == field && model_value == value)
            })
            .collect();
        if !deps_differ && !order_differs && differing.is_empty() {
            continue;
        }
        start_table(out, scratch, &node.name);
        if deps_differ {
            write_list(out, scratch, "deps", &node.deps);
        }
        if order_differs {
            write_list(out, scratch, "ordered_after", &node.ordered_after);
        }
        write_fields(out, differing.into_iter());
    }
}

fn start_table(out: &mut String, scratch: &mut String, name: &NodeName) {
    out.push_str("\n[[node]]\nname = ");
    push_name(out, scratch, name);
    out.push('\n');
}

/// A list written because it differs from the model's: `[]` when empty, where a node
/// written whole leaves an empty list out.
fn write_list(out: &mut String, scratch: &mut String, field: &str, names: &NameList) {
    if names.is_empty() {
        out.push_str(field);
        out.push_str(" = []\n");
    } else {
        write_names(out, scratch, field, names);
    }
}

fn write_fields<'a>(out: &mut String, fields: impl Iterator<Item = &'a (&'static str, Value)>) {
    for (field, value) in fields {
        out.push_str(&key(field));
        out.push_str(" = ");
        write_field_value(out, value);
        out.push('\n');
    }
}
