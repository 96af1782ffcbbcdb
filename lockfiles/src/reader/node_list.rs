//! A document's nodes read into specs, in name order, with the id each records and the
//! class of nodes it shares a spec with; then the lockfile they make, its ids checked.

use std::collections::BTreeMap;

use foldhash::{HashSet, HashSetExt};

use super::like_hosts::{self, LikeNode};
use super::pin_sets::check_pin_sets_used;
use super::{
    NodeTable, NodeTables, ReadNode, SharedTables, SpecClass, invalid, read_header, read_spec,
};
use crate::content::ContentHash;
use crate::error::LockError;
use crate::host::HostEntry;
use crate::lockfile::{ClusterInfo, Lockfile, ModelCopies, SpecClasses};
use crate::node_id::NodeId;
use crate::secret::SecretEntry;
use crate::sorted_node::SortedNode;

/// The nodes of a document, read: each node's spec, recorded id and class, position by
/// position.
pub(super) struct NodeList {
    nodes: Vec<SortedNode>,
    /// Each node's id as recorded, checked against the id computed; `None` for a node of
    /// a host written like another, which records none.
    recorded_ids: Vec<Option<NodeId>>,
    /// Each node's class: `classes` tells `from_sorted` which nodes share a spec, so their
    /// inputs are encoded and checked once and their ids hashed once per set of dependency
    /// ids.
    classes: Vec<usize>,
    class_count: usize,
    /// Which nodes are copies of a model's: none, or each node's (see
    /// `like_hosts::expand`).
    copies: ModelCopies,
    /// Whether the nodes are known to be sorted by name, as written.
    sorted: bool,
}

impl NodeList {
    /// The nodes of either parser's tables, each spec read through `from_fields`, sorted by
    /// name; those of the hosts written like another (`models`: host to model) added from
    /// their models.
    pub(super) fn read(
        tables: NodeTables,
        models: &BTreeMap<String, String>,
        shared: &SharedTables,
        origin: &str,
    ) -> Result<Self, LockError> {
        let (mut list, like_nodes) = match tables {
            NodeTables::Written(tables) => {
                let (like_tables, tables): (Vec<_>, Vec<_>) =
                    tables.into_iter().partition(|table| {
                        like_hosts::table_host(table).is_some_and(|host| models.contains_key(host))
                    });
                let like_nodes = like_tables
                    .into_iter()
                    .map(|table| LikeNode::from_table(table, origin))
                    .collect::<Result<_, _>>()?;
                (Self::read_written(tables, shared, origin)?, like_nodes)
            }
            NodeTables::Read {
                nodes,
                classes,
                sorted,
                like_nodes,
            } => (
                Self::read_classes(nodes, classes, sorted, shared, origin)?,
                like_nodes,
            ),
        };
        list.sort_by_name();
        like_hosts::expand(list, like_nodes, models, shared, origin)
    }

    /// An empty list with room for `count` nodes.
    fn with_capacity(count: usize, sorted: bool) -> Self {
        Self {
            nodes: Vec::with_capacity(count),
            recorded_ids: Vec::with_capacity(count),
            classes: Vec::with_capacity(count),
            class_count: 0,
            copies: ModelCopies::default(),
            sorted,
        }
    }

    /// Room for `additional` more nodes.
    pub(super) fn reserve(&mut self, additional: usize) {
        self.nodes.reserve(additional);
        self.recorded_ids.reserve(additional);
        self.classes.reserve(additional);
    }

    /// Appends a node with the id it records and its class.
    // Once per node of half a million in `like_hosts::expand`: left to itself, LLVM stopped
    // inlining it there when unrelated code changed (0.9% more instructions a diff).
    #[inline]
    pub(super) fn push(&mut self, node: SortedNode, recorded_id: Option<NodeId>, class: usize) {
        self.nodes.push(node);
        self.recorded_ids.push(recorded_id);
        self.classes.push(class);
    }

    /// A new class, of one node.
    pub(super) fn new_class(&mut self) -> usize {
        self.class_count += 1;
        self.class_count - 1
    }

    /// Every node with the id it records and its class, taken out in order; the classes
    /// stay counted, so nodes pushed back keep theirs.
    pub(super) fn take_entries(&mut self) -> Vec<(SortedNode, Option<NodeId>, usize)> {
        let nodes = std::mem::take(&mut self.nodes);
        let ids = std::mem::take(&mut self.recorded_ids);
        let classes = std::mem::take(&mut self.classes);
        nodes
            .into_iter()
            .zip(ids)
            .zip(classes)
            .map(|((node, id), class)| (node, id, class))
            .collect()
    }

    /// A copy of `host`'s nodes, with their positions and classes (the list sorted by
    /// name).
    pub(super) fn nodes_of_host(&self, host: &str) -> Vec<(usize, SortedNode, usize)> {
        let start = self
            .nodes
            .partition_point(|node| node.name.host().is_none_or(|owner| owner < host));
        self.nodes[start..]
            .iter()
            .zip(&self.classes[start..])
            .take_while(|(node, _)| node.name.host() == Some(host))
            .enumerate()
            .map(|(offset, (node, &class))| (start + offset, node.clone(), class))
            .collect()
    }

    /// Which nodes are copies of a model's, position by position.
    pub(super) fn set_copies(&mut self, copies: ModelCopies) {
        debug_assert_eq!(copies.len(), self.nodes.len());
        self.copies = copies;
    }

    pub(super) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The general parser's tables: each node a class of its own.
    fn read_written(
        tables: Vec<NodeTable>,
        shared: &SharedTables,
        origin: &str,
    ) -> Result<Self, LockError> {
        let mut list = Self::with_capacity(tables.len(), false);
        for (position, table) in tables.into_iter().enumerate() {
            let header = read_header(&table, origin, position)?;
            let spec = read_spec(&header.name, table.fields, shared, origin)?;
            let lists = (header.deps, header.ordered_after);
            let class = list.new_class();
            list.push(
                SortedNode::read(header.name, lists, spec),
                Some(header.id),
                class,
            );
        }
        Ok(list)
    }

    /// The subset parser's nodes: the nodes of one class (the same node on many hosts)
    /// share their spec, read once.
    fn read_classes(
        read_nodes: Vec<ReadNode>,
        mut spec_classes: Vec<SpecClass>,
        sorted: bool,
        shared: &SharedTables,
        origin: &str,
    ) -> Result<Self, LockError> {
        let mut list = Self::with_capacity(read_nodes.len(), sorted);
        for (position, node) in read_nodes.into_iter().enumerate() {
            let class = &mut spec_classes[node.class];
            let spec = if class.first == position {
                let fields = std::mem::take(&mut class.fields);
                read_spec(&node.name, fields, shared, origin)?
            } else {
                list.nodes[class.first].spec.clone()
            };
            let lists = (node.deps, node.ordered_after);
            list.push(
                SortedNode::read(node.name, lists, spec),
                Some(node.id),
                node.class,
            );
        }
        list.class_count = spec_classes.len();
        Ok(list)
    }

    /// The first node with an `ordered_after` list, which a lockfile older than format 5
    /// cannot have.
    pub(super) fn first_ordered_after(&self) -> Option<&crate::NodeName> {
        self.nodes
            .iter()
            .find(|node| !node.ordered_after.is_empty())
            .map(|node| &node.name)
    }

    /// Sorts the nodes by name (a stable sort), their ids and classes with them. A lockfile
    /// is written sorted, so this is one comparison per node.
    fn sort_by_name(&mut self) {
        if self.sorted
            || self
                .nodes
                .is_sorted_by(|left, right| left.name <= right.name)
        {
            return;
        }
        let mut order: Vec<usize> = (0..self.nodes.len()).collect();
        order.sort_by(|&left, &right| self.nodes[left].name.cmp(&self.nodes[right].name));
        let mut taken: Vec<Option<SortedNode>> = std::mem::take(&mut self.nodes)
            .into_iter()
            .map(Some)
            .collect();
        self.nodes = order
            .iter()
            .map(|&position| taken[position].take().expect("each node once"))
            .collect();
        self.classes = order
            .iter()
            .map(|&position| self.classes[position])
            .collect();
        self.recorded_ids = order
            .iter()
            .map(|&position| self.recorded_ids[position])
            .collect();
    }

    /// The lockfile of the sorted nodes, validated: every text of `[content]` and every pin
    /// set of `[package_pins]` used by a node, and every id computed the one recorded.
    pub(super) fn into_lockfile(
        self,
        cluster: ClusterInfo,
        hosts: BTreeMap<String, HostEntry>,
        secrets: BTreeMap<String, SecretEntry>,
        shared: &SharedTables,
        origin: &str,
    ) -> Result<Lockfile, LockError> {
        let content = &shared.content;
        let mut used_content: HashSet<ContentHash> = HashSet::with_capacity(content.len());
        let lockfile = Lockfile::from_sorted(
            cluster,
            hosts,
            secrets,
            self.nodes,
            Some(SpecClasses {
                of: self.classes,
                count: self.class_count,
                copies: self.copies,
            }),
            |text| {
                used_content.insert(text.hash());
            },
        )
        .map_err(|source| LockError::Graph {
            origin: origin.to_string(),
            source: Box::new(source),
        })?;
        // The first unused in order, whatever the table's: the same error for the same text.
        if let Some(unused) = content
            .keys()
            .filter(|hash| !used_content.contains(hash))
            .min()
        {
            return Err(invalid(
                origin,
                format!(
                    "[content] entry {unused} is used by no node; the lockfile was edited by hand or damaged"
                ),
            ));
        }
        for (node, &recorded) in lockfile.nodes().iter().zip(&self.recorded_ids) {
            if let Some(recorded) = recorded
                && recorded != node.id
            {
                return Err(LockError::IdMismatch {
                    origin: origin.to_string(),
                    node: Box::new(node.name.clone()),
                    recorded,
                    computed: node.id,
                });
            }
        }
        // After the ids: a node pointed at another set is named by its id.
        check_pin_sets_used(&shared.pin_sets, lockfile.nodes(), origin)?;
        Ok(lockfile)
    }
}
