use std::fmt;
use std::str::FromStr;

/// What a node does when it runs. The order of the variants is the order nodes of one host
/// are listed in a lockfile, after their host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeKind {
    /// A probe that must pass before anything that depends on it runs; run on every apply.
    Check,
    /// A join point of one host: waits for a set of the host's nodes (its checks, its
    /// Docker being ready) so that what waits for all of them depends on one node. Runs
    /// nothing.
    Barrier,
    /// The cluster's offline repository, placed on a host's disk (the control host's).
    Repository,
    /// OS packages installed from the cluster's own repository.
    Package,
    /// Rendered content written atomically to a path, with mode and owner.
    File,
    /// A command, the escape hatch, guarded so it runs only when needed.
    Command,
    /// A systemd unit's state.
    Service,
    /// An image definition, built once per id on the control host.
    Image,
    /// A `docker run` spec, replaced when its id changes.
    Container,
    /// A post-condition with retries, checked after what it guards ran.
    Health,
}

impl NodeKind {
    pub const ALL: [NodeKind; 10] = [
        NodeKind::Check,
        NodeKind::Barrier,
        NodeKind::Repository,
        NodeKind::Package,
        NodeKind::File,
        NodeKind::Command,
        NodeKind::Service,
        NodeKind::Image,
        NodeKind::Container,
        NodeKind::Health,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Check => "check",
            NodeKind::Barrier => "barrier",
            NodeKind::Repository => "repository",
            NodeKind::Package => "package",
            NodeKind::File => "file",
            NodeKind::Command => "command",
            NodeKind::Service => "service",
            NodeKind::Image => "image",
            NodeKind::Container => "container",
            NodeKind::Health => "health",
        }
    }

    /// The names of every kind, for error hints.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|kind| kind.as_str()).collect()
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for NodeKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown node kind `{text}`; expected one of {}",
                    Self::names().join(", ")
                )
            })
    }
}
