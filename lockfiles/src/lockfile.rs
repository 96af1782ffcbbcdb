use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::atomic_write::write_atomically;
use crate::canonical::{CanonicalInputs, canonical_inputs, node_id};
use crate::error::{GraphError, LockError};
use crate::graph::topological_order;
use crate::host::HostEntry;
use crate::node::Node;
use crate::node_id::NodeId;
use crate::node_name::NodeName;
use crate::nodes::NodeSpec;
use crate::secret::SecretEntry;

/// The lockfile format this crate reads and writes.
pub const FORMAT_VERSION: i64 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    pub name: String,
    pub domain: String,
}

/// A node before its id is known: what the compiler builds and the reader parses.
#[derive(Debug, Clone)]
pub struct UnhashedNode {
    pub name: NodeName,
    pub deps: BTreeSet<NodeName>,
    pub spec: NodeSpec,
}

/// A validated lockfile: every dependency exists, there is no cycle, every secret and host
/// a node names is declared, and every id is the hash of its node's inputs.
#[derive(Debug, Clone)]
pub struct Lockfile {
    pub cluster: ClusterInfo,
    pub hosts: BTreeMap<String, HostEntry>,
    pub secrets: BTreeMap<String, SecretEntry>,
    /// Sorted by name.
    nodes: Vec<Node>,
    /// Indices into `nodes`, dependencies before dependants.
    order: Vec<usize>,
    index: HashMap<NodeName, usize>,
}

impl Lockfile {
    /// Validates the graph and computes every id, dependencies first.
    pub fn from_unhashed(
        cluster: ClusterInfo,
        hosts: BTreeMap<String, HostEntry>,
        secrets: BTreeMap<String, SecretEntry>,
        mut unhashed: Vec<UnhashedNode>,
    ) -> Result<Self, GraphError> {
        unhashed.sort_by(|left, right| left.name.cmp(&right.name));
        for node in &unhashed {
            if let Some(host) = node.name.host()
                && !hosts.contains_key(host)
            {
                return Err(GraphError::UnknownHost {
                    node: node.name.clone(),
                    host: host.to_string(),
                });
            }
            if node.spec.key() != node.name.key || node.spec.kind() != node.name.kind {
                return Err(GraphError::KeyMismatch {
                    name: node.name.clone(),
                    key: node.name.key.clone(),
                    field: NodeSpec::key_field(node.name.kind),
                });
            }
            if let Some(secret) = node
                .spec
                .secrets()
                .into_iter()
                .find(|secret| !secrets.contains_key(secret))
            {
                return Err(GraphError::UnknownSecret {
                    node: node.name.clone(),
                    secret,
                });
            }
        }
        let dependency_lists: Vec<Vec<NodeName>> = unhashed
            .iter()
            .map(|node| node.deps.iter().cloned().collect())
            .collect();
        let edges: Vec<(&NodeName, &[NodeName])> = unhashed
            .iter()
            .zip(&dependency_lists)
            .map(|(node, deps)| (&node.name, deps.as_slice()))
            .collect();
        let order = topological_order(&edges)?;
        let index: HashMap<NodeName, usize> = unhashed
            .iter()
            .enumerate()
            .map(|(position, node)| (node.name.clone(), position))
            .collect();

        let mut ids: Vec<Option<NodeId>> = vec![None; unhashed.len()];
        for &position in &order {
            let node = &unhashed[position];
            let dependency_ids: Vec<NodeId> = dependency_lists[position]
                .iter()
                .map(|dependency| ids[index[dependency]].expect("dependencies are hashed first"))
                .collect();
            ids[position] = Some(node_id(
                node.spec.kind(),
                &node.spec.inputs(),
                &dependency_ids,
                &secrets,
            ));
        }
        let nodes = unhashed
            .into_iter()
            .zip(dependency_lists)
            .zip(ids)
            .map(|((node, deps), id)| Node {
                name: node.name,
                id: id.expect("every node is hashed"),
                deps,
                spec: node.spec,
            })
            .collect();
        Ok(Self {
            cluster,
            hosts,
            secrets,
            nodes,
            order,
            index,
        })
    }

    /// Every node, sorted by name.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, name: &NodeName) -> Option<&Node> {
        self.index.get(name).map(|&position| &self.nodes[position])
    }

    /// Every node, dependencies before dependants.
    pub fn in_dependency_order(&self) -> impl Iterator<Item = &Node> {
        self.order.iter().map(|&position| &self.nodes[position])
    }

    /// Everything that went into a node's id.
    pub fn explain(&self, node: &Node) -> CanonicalInputs {
        let dependencies: Vec<(String, NodeId)> = node
            .deps
            .iter()
            .filter_map(|name| self.node(name))
            .map(|dependency| (dependency.name.to_string(), dependency.id))
            .collect();
        canonical_inputs(
            node.spec.kind(),
            &node.spec.inputs(),
            &dependencies,
            &self.secrets,
        )
    }

    /// The lockfile's text: the bytes `cairn compile` writes.
    pub fn to_toml(&self) -> String {
        crate::writer::write(self)
    }

    /// Parses and verifies a lockfile. `origin` names it in errors (a path, usually).
    pub fn parse(text: &str, origin: &str) -> Result<Self, LockError> {
        crate::reader::read(text, origin)
    }

    pub fn read(path: &Path) -> Result<Self, LockError> {
        let text = std::fs::read_to_string(path).map_err(|source| LockError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Writes the lockfile atomically; leaves the file untouched when it is unchanged.
    /// Returns whether the file changed.
    pub fn write(&self, path: &Path) -> Result<bool, LockError> {
        write_atomically(path, self.to_toml().as_bytes()).map_err(|source| LockError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}
