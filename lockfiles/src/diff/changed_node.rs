use crate::diff::input_change::InputChange;
use crate::node_id::NodeId;
use crate::node_name::NodeName;

/// A node in both lockfiles whose id differs, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedNode {
    pub name: NodeName,
    pub old_id: NodeId,
    pub new_id: NodeId,
    /// The ids of its own inputs, dependencies left out ([`crate::Lockfile::inputs_id`]):
    /// equal when the node changed only because a dependency did. Two changed nodes with
    /// the same pair changed in the same way (the same template change on every host).
    pub old_inputs_id: NodeId,
    pub new_inputs_id: NodeId,
    /// Its own input fields that differ.
    pub inputs: Vec<InputChange>,
    /// The secrets it uses whose value changed (said by name only).
    pub rotated_secrets: Vec<String>,
    /// Nodes it depends on now and did not, and the other way round.
    pub dependencies_added: Vec<NodeName>,
    pub dependencies_removed: Vec<NodeName>,
    /// The root causes among its dependencies, sorted: the nearest changed nodes under it
    /// that changed themselves, so a chain (a config, the container reading it, the health
    /// check of the container) names the config, not the container.
    pub root_causes: Vec<NodeName>,
}

impl ChangedNode {
    /// Whether the node changed in itself (an input, a rotated secret, the set of nodes it
    /// depends on): a root cause. Otherwise it changed only because dependencies did.
    pub fn changed_itself(&self) -> bool {
        self.old_inputs_id != self.new_inputs_id
            || !self.dependencies_added.is_empty()
            || !self.dependencies_removed.is_empty()
    }
}
