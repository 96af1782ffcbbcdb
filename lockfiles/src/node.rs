use crate::node_id::NodeId;
use crate::node_name::NodeName;
use crate::nodes::NodeSpec;

/// A node of a lockfile, with its verified id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: NodeName,
    pub id: NodeId,
    /// Sorted, without duplicates.
    pub deps: Vec<NodeName>,
    pub spec: NodeSpec,
}
