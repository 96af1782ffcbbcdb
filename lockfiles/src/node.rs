use std::borrow::Cow;
use std::sync::Arc;

use crate::name_list::NameList;
use crate::node_id::NodeId;
use crate::node_name::NodeName;
use crate::nodes::NodeSpec;

/// A node of a lockfile, with its verified id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: NodeName,
    pub id: NodeId,
    /// Sorted, without duplicates: what it depends on, whose ids its id hashes.
    pub deps: NameList,
    /// Sorted, without duplicates, none of them in `deps`: what it is ordered after without
    /// depending on it (systemd's `After=` without `Requires=`). Apply waits for them as for
    /// `deps`, but they are not part of its id, so their changes replace nothing here.
    pub ordered_after: NameList,
    /// Shared: the same node on many hosts (a host written like another, or one class of
    /// the reader) holds one spec.
    pub spec: Arc<NodeSpec>,
}

impl Node {
    /// Every node apply waits for before this one: its dependencies, then the nodes it is
    /// ordered after.
    pub fn waits_for(&self) -> impl Iterator<Item = Cow<'_, NodeName>> {
        self.deps.iter().chain(&self.ordered_after)
    }
}
