use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::node_kind::NodeKind;

/// Where a node runs: on one host, or once for the whole cluster (images, built on the
/// control host).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Cluster-wide; written as `cluster` in a node name. No host may be named `cluster`.
    Cluster,
    /// Shared: a host's thousands of node names and dependencies hold one copy of its name.
    Host(Arc<str>),
}

impl Scope {
    pub const CLUSTER_NAME: &'static str = "cluster";

    pub fn host(&self) -> Option<&str> {
        match self {
            Scope::Cluster => None,
            Scope::Host(host) => Some(host),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Scope::Cluster => Self::CLUSTER_NAME,
            Scope::Host(host) => host,
        }
    }
}

/// A node's stable, readable name: `host:kind:key`, for example
/// `node1:file:/etc/haproxy/haproxy.cfg` or `cluster:image:haproxy`.
///
/// Names order by scope (cluster first, then hosts by name), then kind, then key: the order
/// of nodes in a lockfile.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeName {
    pub scope: Scope,
    pub kind: NodeKind,
    /// Shared: the same node on many hosts, and the dependencies on it, hold one copy.
    pub key: Arc<str>,
}

impl NodeName {
    pub fn new(scope: Scope, kind: NodeKind, key: impl Into<Arc<str>>) -> Self {
        Self {
            scope,
            kind,
            key: key.into(),
        }
    }

    pub fn on_host(host: impl Into<Arc<str>>, kind: NodeKind, key: impl Into<Arc<str>>) -> Self {
        Self::new(Scope::Host(host.into()), kind, key)
    }

    pub fn host(&self) -> Option<&str> {
        self.scope.host()
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}:{}:{}",
            self.scope.as_str(),
            self.kind,
            self.key
        )
    }
}

impl FromStr for NodeName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse_with(text, |host| Scope::Host(host.into()))
    }
}

impl NodeName {
    /// Parses `host:kind:key`, the host's scope made by `host_scope`.
    fn parse_with(text: &str, host_scope: impl FnOnce(&str) -> Scope) -> Result<Self, String> {
        let mut parts = text.splitn(3, ':');
        let (Some(scope), Some(kind), Some(key)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "`{text}` is not a node name; expected `host:kind:key`"
            ));
        };
        if scope.is_empty() || key.is_empty() {
            return Err(format!(
                "`{text}` is not a node name; expected `host:kind:key` with a host and a key"
            ));
        }
        let kind = kind.parse::<NodeKind>()?;
        let scope = if scope == Scope::CLUSTER_NAME {
            Scope::Cluster
        } else {
            host_scope(scope)
        };
        Ok(Self::new(scope, kind, key))
    }
}

/// Parses node names, sharing one host's name between the names that follow each other
/// with it: a lockfile lists a host's nodes, and their dependencies, together.
#[derive(Debug, Default)]
pub(crate) struct SharedHosts {
    last: Option<Arc<str>>,
}

impl SharedHosts {
    pub(crate) fn parse(&mut self, text: &str) -> Result<NodeName, String> {
        NodeName::parse_with(text, |host| match &self.last {
            Some(last) if **last == *host => Scope::Host(last.clone()),
            _ => {
                let shared: Arc<str> = host.into();
                self.last = Some(shared.clone());
                Scope::Host(shared)
            }
        })
    }
}

/// `names` with the nodes of host `from` renamed to host `to` (the rest as they are), sorted
/// as a node's lists are: a host written like another waits on its own nodes where its
/// model waits on the model's.
pub(crate) fn renamed_host(names: &[NodeName], from: &str, to: &Scope) -> Vec<NodeName> {
    let mut moved = 0;
    let mut renamed: Vec<NodeName> = names
        .iter()
        .map(|name| match name.host() {
            Some(host) if host == from => {
                moved += 1;
                NodeName::new(to.clone(), name.kind, name.key.clone())
            }
            _ => name.clone(),
        })
        .collect();
    // `names` is sorted, and so are the names of one host among themselves: only a list
    // with names of `from` and of other scopes can come out of order.
    if moved != 0 && moved != names.len() && !renamed.is_sorted() {
        renamed.sort();
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_round_trips_through_its_text_even_with_colons_in_the_key() {
        let name = NodeName::on_host("node1", NodeKind::Check, "port-free:2181");
        assert_eq!(name.to_string(), "node1:check:port-free:2181");
        assert_eq!("node1:check:port-free:2181".parse::<NodeName>(), Ok(name));
    }

    #[test]
    fn cluster_scoped_names_sort_before_host_names() {
        let image = "cluster:image:haproxy".parse::<NodeName>().unwrap();
        let file = "alpha:file:/etc/hosts".parse::<NodeName>().unwrap();
        assert!(image < file);
        assert_eq!(image.host(), None);
    }
}
