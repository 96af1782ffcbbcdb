//! A node on its way into a [`crate::Lockfile`]: named, its dependencies sorted, its spec
//! read, and no id yet. `Lockfile::from_sorted` hashes the ids, dependencies first, and
//! only then makes each [`crate::Node`], whole.

use std::sync::Arc;

use crate::name_list::NameList;
use crate::node::Node;
use crate::node_id::NodeId;
use crate::node_name::NodeName;
use crate::nodes::NodeSpec;

#[derive(Debug, Clone)]
pub(crate) struct SortedNode {
    pub name: NodeName,
    pub deps: NameList,
    pub ordered_after: NameList,
    pub spec: Arc<NodeSpec>,
}

impl SortedNode {
    /// A node as a lockfile gives it: its name, its lists (`deps`, `ordered_after`, each
    /// sorted and without duplicates) and its spec.
    pub fn read(
        name: NodeName,
        (deps, ordered_after): (Vec<NodeName>, Vec<NodeName>),
        spec: Arc<NodeSpec>,
    ) -> Self {
        Self {
            name,
            deps: NameList::sorted(deps),
            ordered_after: NameList::sorted(ordered_after),
            spec,
        }
    }

    /// The node, with the id computed for it.
    pub fn with_id(self, id: NodeId) -> Node {
        Node {
            name: self.name,
            id,
            deps: self.deps,
            ordered_after: self.ordered_after,
            spec: self.spec,
        }
    }
}
