use std::path::PathBuf;

use crate::node_id::NodeId;
use crate::node_name::NodeName;

/// Why a set of nodes is not a valid graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("two nodes are named `{0}`")]
    DuplicateName(NodeName),
    #[error("node `{node}` depends on `{dependency}`, which is not in the graph")]
    DanglingDependency {
        node: NodeName,
        dependency: NodeName,
    },
    #[error(
        "node `{node}` is ordered after `{dependency}` and depends on it too; a dependency is waited for already: keep it in `deps` (part of the id) or in `ordered_after` (order only), not both"
    )]
    OrderedAfterADependency {
        node: NodeName,
        dependency: NodeName,
    },
    /// The nodes of one cycle, in dependency order: each depends on the next, and the last on
    /// the first.
    #[error("dependency cycle: {}", display_cycle(.nodes))]
    Cycle { nodes: Vec<NodeName> },
    #[error("node `{node}` uses secret `{secret}`, which the lockfile does not declare")]
    UnknownSecret { node: NodeName, secret: String },
    #[error("node `{node}` is on host `{host}`, which the lockfile does not declare")]
    UnknownHost { node: NodeName, host: String },
    #[error("node `{name}`: {problem}")]
    InvalidName { name: NodeName, problem: String },
    #[error("the rollout of container `{container}`: {problem}")]
    InvalidRollout { container: String, problem: String },
    #[error("node `{name}` has key `{key}` in its name but `{field}` holds a different value")]
    KeyMismatch {
        name: NodeName,
        key: String,
        field: &'static str,
    },
}

fn display_cycle(nodes: &[NodeName]) -> String {
    let mut parts: Vec<String> = nodes.iter().map(ToString::to_string).collect();
    if let Some(first) = nodes.first() {
        parts.push(first.to_string());
    }
    parts.join(" -> ")
}

/// Why a lockfile could not be read, verified or written.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{origin}: lockfile format version {found} is not supported (this cairn reads versions {oldest} to {supported})\nhint: use the cairn release that wrote it, or recompile the spec"
    )]
    UnsupportedVersion {
        origin: String,
        found: i64,
        oldest: i64,
        supported: i64,
    },
    #[error("{origin}: node `{node}`: {message}")]
    InvalidNode {
        origin: String,
        node: String,
        message: String,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("{origin}: {source}")]
    Graph {
        origin: String,
        source: Box<GraphError>,
    },
    #[error(
        "{origin}: node `{node}` records id {recorded}, but its inputs hash to {computed}\nhint: the lockfile was edited by hand or damaged; compile the spec again to regenerate it"
    )]
    IdMismatch {
        origin: String,
        node: Box<NodeName>,
        recorded: NodeId,
        computed: NodeId,
    },
    #[error(
        "{origin}: {part} was edited: the lockfile records digest {recorded}, but it hashes to {computed}\nhint: the lockfile was edited by hand or damaged; compile the spec again to regenerate it"
    )]
    Edited {
        origin: String,
        /// The table or set of nodes, as the message names it.
        part: String,
        recorded: String,
        computed: crate::integrity::Digest,
    },
}
