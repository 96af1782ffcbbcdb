use crate::node::Node;
use crate::node_kind::NodeKind;
use crate::node_name::NodeName;
use crate::nodes::{NodeSpec, ServiceState};

/// What applying NEW over OLD does to one host's running work: the containers and services
/// it replaces, starts, restarts and stops, and every node it removes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostImpact {
    /// Changed container nodes: the running one stopped (and kept), then `docker run` of the
    /// new one.
    pub containers_replaced: Vec<String>,
    /// Container nodes NEW adds.
    pub containers_started: Vec<String>,
    /// Container nodes NEW no longer has: removed as orphans.
    pub containers_removed: Vec<String>,
    /// Changed service nodes that are to run: apply restarts them.
    pub services_restarted: Vec<String>,
    /// Service nodes NEW adds that are to run.
    pub services_started: Vec<String>,
    /// Service nodes NEW no longer has (stopped and disabled as orphans), or now stopped.
    pub services_stopped: Vec<String>,
    /// Every node NEW no longer has (orphans apply removes), sorted.
    pub removed: Vec<NodeName>,
}

impl HostImpact {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// A node whose id differs from what the host has (or had): a container is replaced, a
    /// running service restarted, a stopped one stopped.
    pub fn record_changed(&mut self, node: &Node) {
        match &*node.spec {
            NodeSpec::Container(container) => {
                self.containers_replaced.push(container.name.clone());
            }
            NodeSpec::Service(service) => match service.state {
                ServiceState::Running => self.services_restarted.push(service.unit.clone()),
                ServiceState::Stopped => self.services_stopped.push(service.unit.clone()),
            },
            _ => {}
        }
    }

    /// A node the host does not have: a container is started, a running service too.
    pub fn record_added(&mut self, node: &Node) {
        match &*node.spec {
            NodeSpec::Container(container) => self.containers_started.push(container.name.clone()),
            NodeSpec::Service(service) if service.state == ServiceState::Running => {
                self.services_started.push(service.unit.clone());
            }
            _ => {}
        }
    }

    /// A node NEW no longer has. A barrier is never recorded on a host, so it leaves no
    /// orphan.
    pub(crate) fn record_removed(&mut self, node: &Node) {
        if node.name.kind != NodeKind::Barrier {
            self.record_orphan(&node.name);
        }
    }

    /// A node the host has and is no longer wanted, known by name alone (a host's state
    /// entry): removed as an orphan, a container (named by its key) removed, a service (its
    /// unit, the key) stopped.
    pub fn record_orphan(&mut self, name: &NodeName) {
        match name.kind {
            NodeKind::Container => self.containers_removed.push(name.key.to_string()),
            NodeKind::Service => self.services_stopped.push(name.key.to_string()),
            _ => {}
        }
        self.removed.push(name.clone());
    }
}
