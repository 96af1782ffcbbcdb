use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use foldhash::HashSet;

use crate::node_kind::NodeKind;

/// Where a node runs: on one host, or once for the whole cluster (images, built on the
/// control host).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

/// Cluster first, then hosts by name.
impl Ord for Scope {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Scope::Cluster, Scope::Cluster) => Ordering::Equal,
            (Scope::Cluster, Scope::Host(_)) => Ordering::Less,
            (Scope::Host(_), Scope::Cluster) => Ordering::Greater,
            (Scope::Host(host), Scope::Host(other)) => shared_cmp(host, other),
        }
    }
}

impl PartialOrd for Scope {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Two shared strings in order, equal without a look at their text when they are one:
/// a read lockfile's names share their hosts and keys, and sorting and searching half a
/// million of them compares mostly names of one host, or the same key.
pub(crate) fn shared_cmp(left: &Arc<str>, right: &Arc<str>) -> Ordering {
    if Arc::ptr_eq(left, right) {
        Ordering::Equal
    } else {
        left.cmp(right)
    }
}

/// A node's stable, readable name: `host:kind:key`, for example
/// `node1:file:/etc/haproxy/haproxy.cfg` or `cluster:image:haproxy`.
///
/// Names order by scope (cluster first, then hosts by name), then kind, then key: the order
/// of nodes in a lockfile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

    /// Its kind and key in order against `other`'s: the order of the nodes of one scope.
    pub(crate) fn cmp_in_scope(&self, other: &Self) -> Ordering {
        self.kind
            .cmp(&other.kind)
            .then_with(|| shared_cmp(&self.key, &other.key))
    }
}

impl Ord for NodeName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.scope
            .cmp(&other.scope)
            .then_with(|| self.cmp_in_scope(other))
    }
}

impl PartialOrd for NodeName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
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
        Self::parse_with(text, |host| Scope::Host(host.into()), |key| key.into())
    }
}

impl NodeName {
    /// Parses `host:kind:key`, the host's scope made by `host_scope` and the key by
    /// `shared_key`.
    fn parse_with(
        text: &str,
        host_scope: impl FnOnce(&str) -> Scope,
        shared_key: impl FnOnce(&str) -> Arc<str>,
    ) -> Result<Self, String> {
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
        Ok(Self::new(scope, kind, shared_key(key)))
    }
}

/// Parses node names, sharing their texts: one host's name between the names that follow
/// each other with it (a lockfile lists a host's nodes, and their dependencies, together),
/// and one copy of each key, so a dependency and the node it names hold the same key and
/// compare equal without a look at it.
#[derive(Debug, Default)]
pub(crate) struct SharedNames {
    last_host: Option<Arc<str>>,
    keys: HashSet<Arc<str>>,
}

impl SharedNames {
    pub(crate) fn parse(&mut self, text: &str) -> Result<NodeName, String> {
        let Self { last_host, keys } = self;
        let host_scope = |host: &str| match last_host {
            Some(last) if **last == *host => Scope::Host(last.clone()),
            _ => {
                let shared: Arc<str> = host.into();
                *last_host = Some(shared.clone());
                Scope::Host(shared)
            }
        };
        NodeName::parse_with(text, host_scope, |key| shared_key(keys, key))
    }
}

/// The one copy of `key` in `keys`.
fn shared_key(keys: &mut HashSet<Arc<str>>, key: &str) -> Arc<str> {
    if let Some(shared) = keys.get(key) {
        return shared.clone();
    }
    let shared: Arc<str> = key.into();
    keys.insert(shared.clone());
    shared
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
