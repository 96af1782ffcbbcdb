//! Hosts written like another (format 7; see the writer's `node_tables`): each node of the
//! model, renamed to the host, with what the host's own `[[node]]` tables say in place of
//! the model's fields; a node the model lacks, read whole. Their ids are computed like
//! every other and checked through the host's `nodes_digest`, as none is recorded.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::node_list::NodeList;
use super::{DepsTable, HostWire, NodeTable, SharedTables, invalid, read_names, read_spec};
use crate::error::LockError;
use crate::lockfile::{LIKE_HOSTS_VERSION, ModelCopies};
use crate::name_list::{HostRenamed, NameList};
use crate::node_name::{NodeName, Scope};
use crate::nodes::NodeSpec;
use crate::sorted_node::SortedNode;
use crate::sorted_walk::{Paired, sorted_walk};
use crate::value::Value;

/// A `[[node]]` table of a host written like another: what it says differs from the
/// model's node of the same kind and key (a list not given is the model's, renamed), or a
/// whole node the model lacks.
pub(super) struct LikeNode {
    pub(super) name: NodeName,
    pub(super) deps: Option<Vec<NodeName>>,
    pub(super) ordered_after: Option<Vec<NodeName>>,
    pub(super) fields: Vec<(Cow<'static, str>, Value)>,
}

/// Each host written like another, with its model: a host written whole, not itself.
pub(super) fn read_models(
    hosts: &BTreeMap<String, HostWire>,
    version: i64,
    origin: &str,
) -> Result<BTreeMap<String, String>, LockError> {
    let mut models = BTreeMap::new();
    for (host, wire) in hosts {
        let Some(model) = &wire.like else { continue };
        let refuse = |why: String| Err(invalid(origin, format!("[hosts.{host}]: {why}")));
        if version < LIKE_HOSTS_VERSION {
            return refuse(format!(
                "format {version} has no `like`; version {LIKE_HOSTS_VERSION} added it"
            ));
        }
        match hosts.get(model) {
            None => return refuse(format!("`like = \"{model}\"` names no host of [hosts]")),
            Some(_) if model == host => return refuse("a host is not written like itself".into()),
            Some(other) if other.like.is_some() => {
                return refuse(format!(
                    "`like = \"{model}\"` names a host written like another; a model is written whole"
                ));
            }
            Some(_) => {}
        }
        models.insert(host.clone(), model.clone());
    }
    Ok(models)
}

impl LikeNode {
    /// A node table of a host written like another, as the general parser read it: no
    /// `id`, and its lists only where given.
    pub(super) fn from_table(table: NodeTable, origin: &str) -> Result<Self, LockError> {
        let name_text = table.name.expect("sorted out by its name");
        let node_error = |message: String| LockError::InvalidNode {
            origin: origin.to_string(),
            node: name_text.clone(),
            message,
        };
        let name: NodeName = name_text.parse().map_err(node_error)?;
        if table.id.is_some() {
            return Err(node_error(
                "a node of a host written `like` another records no `id`: it is computed, and the host's nodes_digest covers it".into(),
            ));
        }
        let list = |field: &str, written: &DepsTable| match written {
            DepsTable::Missing => Ok(None),
            written => read_names(written, |message| {
                node_error(
                    message.unwrap_or_else(|| format!("`{field}` must be an array of node names")),
                )
            })
            .map(Some),
        };
        Ok(Self {
            deps: list("deps", &table.deps)?,
            ordered_after: list("ordered_after", &table.ordered_after)?,
            name,
            fields: table.fields,
        })
    }
}

/// The host a node table belongs to, from its name as written: what sorts a general
/// parser's tables into those of hosts written like another and the rest.
pub(super) fn table_host(table: &NodeTable) -> Option<&str> {
    table.name.as_deref()?.split(':').next()
}

/// `list` (the nodes of the hosts written whole, sorted by name) with the nodes of every
/// host written like another added in their places: still sorted.
pub(super) fn expand(
    list: NodeList,
    like_nodes: Vec<LikeNode>,
    models: &BTreeMap<String, String>,
    shared: &SharedTables,
    origin: &str,
) -> Result<NodeList, LockError> {
    if models.is_empty() {
        return Ok(list);
    }
    let mut like_nodes = like_nodes;
    like_nodes.sort_by(|left, right| left.name.cmp(&right.name));
    let mut model_nodes: BTreeMap<&str, Vec<ModelNode>> = BTreeMap::new();
    for model in models.values() {
        model_nodes.entry(model.as_str()).or_insert_with(|| {
            list.nodes_of_host(model)
                .into_iter()
                .map(|(position, node, class)| ModelNode::new(position, node, class))
                .collect()
        });
    }
    let mut expanded = list;
    let written = expanded.take_entries();
    // At most every model node and every own node of each host: reserved once, so the
    // half million nodes of a large lockfile are not moved again as the lists grow.
    let like_host_nodes: usize = models
        .values()
        .map(|model| model_nodes[model.as_str()].len())
        .sum::<usize>()
        + like_nodes.len();
    expanded.reserve(written.len() + like_host_nodes);
    // Each node's model, by the model's position in `written`; and where each node of
    // `written` ends up.
    let mut copies = ModelCopies::with_capacity(written.len() + like_host_nodes);
    let mut moved: Vec<usize> = Vec::with_capacity(written.len());
    let mut push_written =
        |expanded: &mut NodeList, copies: &mut ModelCopies, (node, id, class)| {
            moved.push(expanded.len());
            copies.push(None);
            expanded.push(node, id, class);
        };
    let mut written = written.into_iter().peekable();
    // The own nodes, sorted by name, come host by host in the order of `models`.
    let mut like_nodes = like_nodes.into_iter().peekable();
    for (host, model) in models {
        // The host's name as its own nodes hold it, compared without a look at its text.
        let scope = match like_nodes.peek() {
            Some(node) if node.name.host() == Some(host.as_str()) => node.name.scope.clone(),
            _ => Scope::Host(host.as_str().into()),
        };
        while let Some(entry) = written.next_if(|(node, _, _)| node.name.scope < scope) {
            push_written(&mut expanded, &mut copies, entry);
        }
        let own: Vec<LikeNode> =
            std::iter::from_fn(|| like_nodes.next_if(|node| node.name.scope == scope)).collect();
        let model_nodes = &model_nodes[model.as_str()];
        expand_host(
            (&scope, model),
            model_nodes,
            own,
            (&mut expanded, &mut copies),
            shared,
            origin,
        )?;
    }
    debug_assert!(
        like_nodes.next().is_none(),
        "every own node is of a host written like another"
    );
    for entry in written {
        push_written(&mut expanded, &mut copies, entry);
    }
    copies.move_models(&moved);
    expanded.set_copies(copies);
    Ok(expanded)
}

/// A node of a model, with its class and the fields a host's table is laid over (all but
/// its key), built once for the thousands of hosts written like it.
struct ModelNode {
    /// Where it is among the nodes of the hosts written whole.
    position: usize,
    node: SortedNode,
    class: usize,
    fields: Vec<(Cow<'static, str>, Value)>,
}

impl ModelNode {
    fn new(position: usize, node: SortedNode, class: usize) -> Self {
        let key_field = NodeSpec::key_field(node.name.kind);
        let fields = node
            .spec
            .written_fields()
            .into_iter()
            .filter(|(field, _)| *field != key_field)
            .map(|(field, value)| (Cow::Borrowed(field), value))
            .collect();
        Self {
            position,
            node,
            class,
            fields,
        }
    }
}

/// Adds `host`'s nodes to `expanded`, in name order: each of the model's (`model_nodes`,
/// with their classes), renamed and with what `own` says of it; then each of `own` the
/// model lacks. A model's node `own` says nothing of is a copy of it (`copies`), where
/// its lists kept their places.
fn expand_host(
    (host, model): (&Scope, &str),
    model_nodes: &[ModelNode],
    own: Vec<LikeNode>,
    (expanded, copies): (&mut NodeList, &mut ModelCopies),
    shared: &SharedTables,
    origin: &str,
) -> Result<(), LockError> {
    let by_name =
        |node: &LikeNode, model_node: &&ModelNode| node.name.cmp_in_scope(&model_node.node.name);
    // Shared by the lists of all the host's copies, with the model's name as its nodes hold
    // it.
    let model_scope =
        model_nodes
            .first()
            .and_then(|model_node| match &model_node.node.name.scope {
                Scope::Host(shared) => Some(shared.clone()),
                Scope::Cluster => None,
            });
    let renamed_host = Arc::new(HostRenamed {
        model: model_scope.unwrap_or_else(|| model.into()),
        host: host.clone(),
    });
    for pair in sorted_walk(own.into_iter(), model_nodes.iter(), by_name) {
        match pair {
            Paired::Both(node, model_node) => {
                let class = expanded.new_class();
                let merged = merged(node, model_node, &renamed_host, shared, origin)?;
                copies.push(None);
                expanded.push(merged, None, class);
            }
            Paired::Left(node) => {
                let class = expanded.new_class();
                let whole = SortedNode {
                    spec: read_spec(&node.name, node.fields, shared, origin)?,
                    deps: NameList::sorted(node.deps.unwrap_or_default()),
                    ordered_after: NameList::sorted(node.ordered_after.unwrap_or_default()),
                    name: node.name,
                };
                copies.push(None);
                expanded.push(whole, None, class);
            }
            Paired::Right(model_node) => {
                let (node, in_place) = renamed(&model_node.node, &renamed_host, None);
                copies.push(in_place.then_some(model_node.position));
                expanded.push(node, None, model_node.class);
            }
        }
    }
    Ok(())
}

/// The model's node renamed to its copy's host (`renamed`), with `spec` if given, else the
/// model's; and whether each name of its lists kept its place (the lists then shared with
/// the model's).
fn renamed(
    model_node: &SortedNode,
    renamed: &Arc<HostRenamed>,
    spec: Option<Arc<NodeSpec>>,
) -> (SortedNode, bool) {
    let (deps, deps_in_place) = renamed_list(&model_node.deps, renamed);
    let (ordered_after, ordered_after_in_place) = renamed_list(&model_node.ordered_after, renamed);
    let node = SortedNode {
        name: NodeName::new(
            renamed.host.clone(),
            model_node.name.kind,
            model_node.name.key.clone(),
        ),
        deps,
        ordered_after,
        spec: spec.unwrap_or_else(|| model_node.spec.clone()),
    };
    (node, deps_in_place && ordered_after_in_place)
}

/// A model's list as its copy on another host reads it (`renamed`): shared where each
/// name keeps its place, else renamed and sorted again; and whether it is shared.
fn renamed_list(list: &NameList, renamed: &Arc<HostRenamed>) -> (NameList, bool) {
    if list.renames_in_place(renamed) {
        (NameList::renamed(list, renamed), true)
    } else {
        let names = list.with_host_renamed(&renamed.model, &renamed.host);
        (NameList::from(names), false)
    }
}

/// The model's node with what `node` says in its place: its fields over the model's, its
/// lists where given.
fn merged(
    node: LikeNode,
    model_node: &ModelNode,
    renamed_host: &Arc<HostRenamed>,
    shared: &SharedTables,
    origin: &str,
) -> Result<SortedNode, LockError> {
    // Room for the key, which `read_spec` adds. The model's fields the host's table gives
    // again are not cloned: they are what differs (a host's address, its file's content).
    let mut own = node.fields;
    let mut fields = Vec::with_capacity(model_node.fields.len() + own.len() + 1);
    for (field, value) in &model_node.fields {
        match own.iter().position(|(own_field, _)| own_field == field) {
            Some(index) => fields.push(own.remove(index)),
            None => fields.push((field.clone(), value.clone())),
        }
    }
    fields.append(&mut own);
    let spec = read_spec(&node.name, fields, shared, origin)?;
    let (mut merged, _) = renamed(&model_node.node, renamed_host, Some(spec));
    if let Some(deps) = node.deps {
        merged.deps = NameList::sorted(deps);
    }
    if let Some(ordered_after) = node.ordered_after {
        merged.ordered_after = NameList::sorted(ordered_after);
    }
    Ok(merged)
}

#[cfg(test)]
mod tests;
