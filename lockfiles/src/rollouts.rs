//! A lockfile's rollout policies: one per container name, the stated one or the default.
//!
//! The default gates of a container are the health nodes of its hosts that depend on it
//! directly (`health:zookeeper-ruok` on `container:zookeeper`), so a container without a
//! stated policy still waits for its own health before the next host's is replaced.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::GraphError;
use crate::lockfile::Lockfile;
use crate::node::Node;
use crate::node_kind::NodeKind;
use crate::rollout::RolloutPolicy;

/// The default policy of every container name of `nodes`, with its default gates.
///
/// A node `is_copy` says is a copy of another's (`lockfile/model_copies.rs`) is passed
/// over: its container name, and the container its health node depends on, are its
/// model's, renamed to its host. At 10,000 hosts three nodes in four are.
pub(crate) fn default_rollouts(
    nodes: &[Node],
    is_copy: impl Fn(usize) -> bool,
) -> BTreeMap<String, RolloutPolicy> {
    let own_nodes = || {
        nodes
            .iter()
            .enumerate()
            .filter(|(position, _)| !is_copy(*position))
            .map(|(_, node)| node)
    };
    // Each gate by its health node's key, named once at the end: ten thousand hosts have
    // the same few.
    let mut gates: BTreeMap<&str, BTreeSet<&str>> = own_nodes()
        .filter(|node| node.name.kind == NodeKind::Container)
        .map(|node| (node.name.key.as_ref(), BTreeSet::new()))
        .collect();
    for node in own_nodes().filter(|node| node.name.kind == NodeKind::Health) {
        for dependency in &node.deps {
            if dependency.kind == NodeKind::Container
                && dependency.scope == node.name.scope
                && let Some(container_gates) = gates.get_mut(dependency.key.as_ref())
            {
                container_gates.insert(node.name.key.as_ref());
            }
        }
    }
    gates
        .into_iter()
        .map(|(container, gates)| {
            let gates = gates
                .into_iter()
                .map(|key| format!("health:{key}"))
                .collect();
            let policy = RolloutPolicy::default_with_gates(gates);
            (container.to_string(), policy)
        })
        .collect()
}

impl Lockfile {
    /// The hosts that run each container name (its replicas), by name, each list sorted:
    /// one scan of the nodes, the first time it is asked.
    pub fn container_hosts(&self) -> &BTreeMap<String, Vec<String>> {
        self.container_hosts.get_or_init(|| {
            let mut hosts_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for node in self.nodes() {
                if let (NodeKind::Container, Some(host)) = (node.name.kind, node.name.host()) {
                    hosts_of
                        .entry(node.name.key.to_string())
                        .or_default()
                        .push(host.to_string());
                }
            }
            // Nodes are sorted by scope first: each list is in host order already.
            hosts_of
        })
    }

    /// Every container name's rollout policy, by name.
    pub fn rollouts(&self) -> &BTreeMap<String, RolloutPolicy> {
        &self.rollouts
    }

    /// The rollout policy of container `name`, if the lockfile runs one of that name.
    pub fn rollout(&self, name: &str) -> Option<&RolloutPolicy> {
        self.rollouts.get(name)
    }

    /// The lockfile with `stated` policies in place of the defaults: each must name a
    /// container the lockfile runs, and each gate a health node on one of its hosts.
    pub fn with_rollouts(
        mut self,
        stated: BTreeMap<String, RolloutPolicy>,
    ) -> Result<Self, GraphError> {
        self.set_rollouts(stated);
        self.check_rollouts()?;
        Ok(self)
    }

    /// `stated` policies in place of the defaults, not checked yet.
    pub(crate) fn set_rollouts(&mut self, stated: BTreeMap<String, RolloutPolicy>) {
        self.rollouts.extend(stated);
    }

    /// Every policy names a container the lockfile runs, and each of its gates a health
    /// node on one of that container's hosts.
    pub(crate) fn check_rollouts(&self) -> Result<(), GraphError> {
        let hosts_of = self.container_hosts();
        for (container, policy) in &self.rollouts {
            let invalid = |problem: String| GraphError::InvalidRollout {
                container: container.clone(),
                problem,
            };
            let Some(hosts) = hosts_of.get(container.as_str()) else {
                return Err(invalid("no host runs a container of that name".to_string()));
            };
            for gate in &policy.gates {
                // By binary search of the sorted nodes: reading a lockfile builds no index
                // of names.
                let found = hosts.iter().any(|host| {
                    RolloutPolicy::gate_on(gate, host).is_some_and(|name| {
                        self.nodes()
                            .binary_search_by(|node| node.name.cmp(&name))
                            .is_ok()
                    })
                });
                if !found {
                    return Err(invalid(format!(
                        "gate `{gate}` is on none of the hosts that run it ({})",
                        hosts.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }
}
