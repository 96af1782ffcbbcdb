//! A change of what a node is only ordered after (`ordered_after`): outside every id, so
//! it replaces nothing, but apply waits otherwise.

use std::collections::BTreeSet;

use crate::node::Node;
use crate::node_name::NodeName;

/// A node, in both lockfiles, whose `ordered_after` differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderChange {
    pub name: NodeName,
    /// What NEW has it wait for that OLD did not, sorted.
    pub added: Vec<NodeName>,
    /// What OLD had it wait for that NEW does not, sorted.
    pub removed: Vec<NodeName>,
}

/// The change of `before`'s `ordered_after` in `after` (the same node), if any.
pub(super) fn order_change(before: &Node, after: &Node) -> Option<OrderChange> {
    if before.ordered_after == after.ordered_after {
        return None;
    }
    let old: BTreeSet<NodeName> = before.ordered_after.to_vec().into_iter().collect();
    let new: BTreeSet<NodeName> = after.ordered_after.to_vec().into_iter().collect();
    Some(OrderChange {
        name: after.name.clone(),
        added: new.difference(&old).map(|name| (*name).clone()).collect(),
        removed: old.difference(&new).map(|name| (*name).clone()).collect(),
    })
}
