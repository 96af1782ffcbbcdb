use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use foldhash::{HashMap, HashMapExt};

use crate::atomic_write::write_atomically;
use crate::canonical::{CanonicalInputs, canonical_inputs, node_id};
use crate::error::{GraphError, LockError};
use crate::graph::{DependencyPositions, order_positions};
use crate::host::HostEntry;
use crate::node::Node;
use crate::node_id::NodeId;
use crate::node_name::{NodeName, Scope};
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

/// A name must be whole: a key of printable characters, images cluster-wide and only
/// images, and a container depending on the image it runs (so a new image replaces it).
fn check_name(node: &UnhashedNode, used_secrets: &BTreeSet<String>) -> Result<(), GraphError> {
    let invalid = |problem: String| GraphError::InvalidName {
        name: node.name.clone(),
        problem,
    };
    if node.name.key.is_empty() || node.name.key.chars().any(char::is_control) {
        return Err(invalid(
            "a key must be non-empty, without control characters".to_string(),
        ));
    }
    let cluster_wide = node.name.host().is_none();
    let image = node.name.kind == crate::node_kind::NodeKind::Image;
    if cluster_wide != image {
        return Err(invalid(if image {
            "an image is cluster-wide: its name starts with `cluster:`".to_string()
        } else {
            "only images are cluster-wide; every other node belongs to a host".to_string()
        }));
    }
    if let Some(problem) = misplaced_secret(&node.spec, used_secrets) {
        return Err(invalid(problem));
    }
    if let NodeSpec::Container(container) = &node.spec {
        let image_name = NodeName::new(
            crate::node_name::Scope::Cluster,
            crate::node_kind::NodeKind::Image,
            container.image.as_str(),
        );
        if !node.deps.contains(&image_name) {
            return Err(invalid(format!(
                "a container must depend on its image, `{image_name}`"
            )));
        }
    }
    Ok(())
}

/// Secrets go where apply can put them without exposing them: into a file's content, and
/// into a container's environment. Anywhere else (an image's files, baked into layers that
/// every host receives; a command or a probe, whose text is a process's arguments) they
/// would leak, or reach the host as an unfilled placeholder.
fn misplaced_secret(spec: &NodeSpec, used: &BTreeSet<String>) -> Option<String> {
    let allowed: BTreeSet<String> = match spec {
        NodeSpec::File(file) => file.content.secret_names().clone(),
        NodeSpec::Container(container) => container
            .env
            .values()
            .filter_map(|value| match value {
                crate::nodes::EnvValue::Secret(name) => Some(name.clone()),
                crate::nodes::EnvValue::Plain(_) => None,
            })
            .collect(),
        _ => Default::default(),
    };
    let stray = used.difference(&allowed).next()?;
    Some(match spec {
        NodeSpec::Image(_) => format!(
            "secret `{stray}` is in an image, whose layers every host receives; give it to the container at run time (its environment, or a file node)"
        ),
        _ => format!(
            "secret `{stray}` is used where apply cannot keep it out of sight; secrets go into a file's content or a container's environment"
        ),
    })
}

/// Every node's dependencies as positions in `nodes` (sorted by name), refusing a name used
/// twice and a dependency on a node that is not there, with the errors (and in the order)
/// of [`crate::topological_order`].
fn resolve_dependencies(nodes: &[UnhashedNode]) -> Result<DependencyPositions, GraphError> {
    if let Some(pair) = nodes.windows(2).find(|pair| pair[0].name == pair[1].name) {
        return Err(GraphError::DuplicateName(pair[1].name.clone()));
    }
    let mut position_of: HashMap<&NodeName, usize> = HashMap::with_capacity(nodes.len());
    for (position, node) in nodes.iter().enumerate() {
        position_of.insert(&node.name, position);
    }
    let edges = nodes.iter().map(|node| node.deps.len()).sum();
    let mut dependencies = DependencyPositions::with_capacity(nodes.len(), edges);
    for node in nodes {
        for dependency in &node.deps {
            let Some(&position) = position_of.get(dependency) else {
                return Err(GraphError::DanglingDependency {
                    node: node.name.clone(),
                    dependency: dependency.clone(),
                });
            };
            dependencies.push_dependency(position);
        }
        dependencies.end_node();
    }
    Ok(dependencies)
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
    /// Name to index into `nodes`, built on the first [`Lockfile::node`]: reading a lockfile
    /// does not need it, and most commands never look a node up by name.
    index: OnceLock<HashMap<NodeName, usize>>,
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
            // The inputs are built once here for every check, and once more for the id.
            let used_secrets = NodeSpec::secrets_in(&node.spec.inputs());
            check_name(node, &used_secrets)?;
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
            if let Some(secret) = used_secrets
                .into_iter()
                .find(|secret| !secrets.contains_key(secret))
            {
                return Err(GraphError::UnknownSecret {
                    node: node.name.clone(),
                    secret,
                });
            }
        }
        let dependencies = resolve_dependencies(&unhashed)?;
        let order = order_positions(&dependencies, |position| &unhashed[position].name)?;

        let mut ids: Vec<Option<NodeId>> = vec![None; unhashed.len()];
        let mut dependency_ids: Vec<NodeId> = Vec::new();
        for &position in &order {
            let node = &unhashed[position];
            dependency_ids.clear();
            dependency_ids.extend(
                dependencies
                    .dependencies_of(position)
                    .iter()
                    .map(|&dependency| ids[dependency].expect("dependencies are hashed first")),
            );
            ids[position] = Some(node_id(
                node.spec.kind(),
                &node.spec.inputs(),
                &dependency_ids,
                &secrets,
            ));
        }
        let nodes = unhashed
            .into_iter()
            .zip(ids)
            .map(|(node, id)| Node {
                name: node.name,
                id: id.expect("every node is hashed"),
                // A set iterates sorted and without duplicates: moved, not cloned.
                deps: node.deps.into_iter().collect(),
                spec: node.spec,
            })
            .collect();
        Ok(Self {
            cluster,
            hosts,
            secrets,
            nodes,
            order,
            index: OnceLock::new(),
        })
    }

    /// Every node, sorted by name.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The nodes of one host (or of `cluster`), sorted by name: a contiguous run of
    /// [`Lockfile::nodes`], found by binary search.
    pub fn nodes_of(&self, scope: &Scope) -> &[Node] {
        let start = self.nodes.partition_point(|node| node.name.scope < *scope);
        let end = self.nodes.partition_point(|node| node.name.scope <= *scope);
        &self.nodes[start..end]
    }

    pub fn node(&self, name: &NodeName) -> Option<&Node> {
        let index = self.index.get_or_init(|| {
            let mut index = HashMap::with_capacity(self.nodes.len());
            for (position, node) in self.nodes.iter().enumerate() {
                index.insert(node.name.clone(), position);
            }
            index
        });
        index.get(name).map(|&position| &self.nodes[position])
    }

    /// Every node, dependencies before dependants.
    pub fn in_dependency_order(&self) -> impl Iterator<Item = &Node> {
        self.order.iter().map(|&position| &self.nodes[position])
    }

    /// The id of a node's own inputs, leaving its dependencies out: a host records it so the
    /// planner can tell "this node changed" from "something it depends on changed".
    pub fn inputs_id(&self, node: &Node) -> NodeId {
        node_id(node.spec.kind(), &node.spec.inputs(), &[], &self.secrets)
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::content::Text;
    use crate::node_kind::NodeKind;
    use crate::nodes::{
        CheckNode, CommandNode, ContainerNode, EnvValue, FileNode, HealthNode, ImageFile,
        ImageNode, PackageNode, Probe, ServiceNode, ServiceState,
    };
    use crate::secret::{SecretSource, secret_placeholder};

    fn node(name: &str, deps: &[&str], spec: NodeSpec) -> UnhashedNode {
        UnhashedNode {
            name: name.parse().unwrap(),
            deps: deps
                .iter()
                .map(|dependency| dependency.parse().unwrap())
                .collect::<BTreeSet<_>>(),
            spec,
        }
    }

    /// One node of every kind, with text that needs escaping and a secret.
    fn every_kind() -> Lockfile {
        let mut image = ImageNode {
            name: "app".into(),
            base: "debian:bookworm-slim".into(),
            packages: vec!["curl".into()],
            files: vec![ImageFile {
                path: "/entrypoint.sh".into(),
                mode: 0o755,
                content: Text::new("#!/bin/sh\necho '''quoted''' \"and\" \\back\nexec \"$@\"\n"),
            }],
            env: BTreeMap::from([("A".into(), "1".into())]),
            user: Some("app".into()),
            workdir: Some("/srv".into()),
            ports: vec!["80/tcp".into()],
            volumes: vec!["/data".into()],
            entrypoint: vec!["/entrypoint.sh".into()],
            cmd: vec!["serve".into()],
            dockerfile: Text::new(""),
        };
        image.dockerfile = Text::new(image.render_dockerfile());
        let nodes = vec![
            node("cluster:image:app", &[], NodeSpec::Image(image)),
            node(
                "h1:check:disk",
                &[],
                NodeSpec::Check(CheckNode {
                    name: "disk".into(),
                    probe: Probe::DiskFree {
                        path: "/".into(),
                        minimum_bytes: 1 << 30,
                    },
                }),
            ),
            node(
                "h1:package:tools",
                &["h1:check:disk"],
                NodeSpec::Package(PackageNode {
                    name: "tools".into(),
                    packages: vec!["curl".into(), "jq".into()],
                }),
            ),
            node(
                "h1:file:/etc/app.conf",
                &["h1:package:tools"],
                NodeSpec::File(FileNode {
                    path: "/etc/app.conf".into(),
                    content: Text::new(format!(
                        "password={}\ttab\r\nend",
                        secret_placeholder("app.password")
                    )),
                    mode: 0o600,
                    owner: "app".into(),
                    group: "app".into(),
                }),
            ),
            node(
                "h1:command:migrate",
                &["h1:file:/etc/app.conf"],
                NodeSpec::Command(CommandNode {
                    name: "migrate".into(),
                    run: "set -e\napp migrate\n".into(),
                    unless: Some("app migrated".into()),
                    creates: None,
                }),
            ),
            node(
                "h1:service:app.service",
                &["h1:command:migrate"],
                NodeSpec::Service(ServiceNode {
                    unit: "app.service".into(),
                    state: ServiceState::Running,
                    enabled: true,
                }),
            ),
            node(
                "h1:container:app",
                &["cluster:image:app", "h1:service:app.service"],
                NodeSpec::Container(ContainerNode {
                    name: "app".into(),
                    image: "app".into(),
                    env: BTreeMap::from([
                        ("PLAIN".into(), EnvValue::Plain("x".into())),
                        ("SECRET".into(), EnvValue::Secret("app.password".into())),
                    ]),
                    ports: vec!["80:80".into()],
                    volumes: vec![],
                    network: Some("host".into()),
                    dns: vec!["127.0.0.1".into()],
                    restart: "always".into(),
                    cap_add: vec!["NET_ADMIN".into()],
                    args: vec!["--verbose".into()],
                }),
            ),
            node(
                "h1:health:app",
                &["h1:container:app"],
                NodeSpec::Health(HealthNode {
                    name: "app".into(),
                    probe: Probe::TcpExchange {
                        address: "127.0.0.1:80".into(),
                        send: "ping".into(),
                        expect: "pong".into(),
                    },
                    retries: 3,
                    interval_seconds: 1,
                    timeout_seconds: 2,
                }),
            ),
        ];
        let hosts = BTreeMap::from([(
            "h1".to_string(),
            HostEntry {
                address: "10.0.0.1".into(),
                user: "root".into(),
                port: 22,
                roles: vec!["app".into()],
                transport: crate::host::TransportKind::Local,
                root: Some("/srv/sandbox/h1".into()),
            },
        )]);
        let secrets = BTreeMap::from([(
            "app.password".to_string(),
            SecretEntry {
                source: SecretSource::Env("APP_PASSWORD".into()),
                fingerprint: "00112233445566778899aabbccddeeff".into(),
            },
        )]);
        Lockfile::from_unhashed(
            ClusterInfo {
                name: "test".into(),
                domain: "test.example".into(),
            },
            hosts,
            secrets,
            nodes,
        )
        .unwrap()
    }

    #[test]
    fn every_node_kind_reads_back_to_the_same_nodes_and_the_same_bytes() {
        let lockfile = every_kind();
        let text = lockfile.to_toml();
        let read = Lockfile::parse(&text, "test.lock").unwrap();
        assert_eq!(read.nodes(), lockfile.nodes());
        assert_eq!(read.secrets, lockfile.secrets);
        assert_eq!(read.hosts, lockfile.hosts);
        assert_eq!(read.to_toml(), text);
    }

    #[test]
    fn dependencies_are_ordered_before_their_dependants() {
        let lockfile = every_kind();
        let order: Vec<String> = lockfile
            .in_dependency_order()
            .map(|node| node.name.to_string())
            .collect();
        let position = |name: &str| {
            order
                .iter()
                .position(|candidate| candidate == name)
                .unwrap()
        };
        assert!(position("h1:check:disk") < position("h1:package:tools"));
        assert!(position("cluster:image:app") < position("h1:container:app"));
        assert!(position("h1:container:app") < position("h1:health:app"));
        assert_eq!(
            lockfile
                .node(&"h1:health:app".parse().unwrap())
                .unwrap()
                .name
                .kind,
            NodeKind::Health
        );
    }

    /// `from_unhashed` resolves dependencies by position itself: the same errors, naming the
    /// same nodes, as `topological_order` on names.
    #[test]
    fn graph_errors_from_unhashed_are_those_of_topological_order() {
        let lockfile = every_kind();
        let check = |name: &str, deps: &[&str]| {
            node(
                name,
                deps,
                NodeSpec::Check(CheckNode {
                    name: name.rsplit(':').next().unwrap().into(),
                    probe: Probe::DiskFree {
                        path: "/".into(),
                        minimum_bytes: 1,
                    },
                }),
            )
        };
        let from = |nodes: Vec<UnhashedNode>| {
            let names: Vec<(NodeName, Vec<NodeName>)> = {
                let mut sorted: Vec<&UnhashedNode> = nodes.iter().collect();
                sorted.sort_by(|left, right| left.name.cmp(&right.name));
                sorted
                    .iter()
                    .map(|node| (node.name.clone(), node.deps.iter().cloned().collect()))
                    .collect()
            };
            let edges: Vec<(&NodeName, &[NodeName])> = names
                .iter()
                .map(|(name, deps)| (name, deps.as_slice()))
                .collect();
            let expected = crate::graph::topological_order(&edges).unwrap_err();
            let error = Lockfile::from_unhashed(
                lockfile.cluster.clone(),
                lockfile.hosts.clone(),
                BTreeMap::new(),
                nodes,
            )
            .unwrap_err();
            assert_eq!(error, expected);
            error.to_string()
        };
        assert_eq!(
            from(vec![check("h1:check:a", &["h1:check:gone"])]),
            "node `h1:check:a` depends on `h1:check:gone`, which is not in the graph"
        );
        assert!(
            from(vec![check("h1:check:a", &[]), check("h1:check:a", &[])]).contains("h1:check:a")
        );
        assert_eq!(
            from(vec![
                check("h1:check:c", &["h1:check:a"]),
                check("h1:check:outside", &["h1:check:a"]),
                check("h1:check:a", &["h1:check:b"]),
                check("h1:check:b", &["h1:check:c"]),
            ]),
            "dependency cycle: h1:check:a -> h1:check:b -> h1:check:c -> h1:check:a"
        );
    }

    #[test]
    fn a_secret_nobody_declared_is_refused() {
        let lockfile = every_kind();
        let nodes: Vec<UnhashedNode> = lockfile
            .nodes()
            .iter()
            .map(|node| UnhashedNode {
                name: node.name.clone(),
                deps: node.deps.iter().cloned().collect(),
                spec: node.spec.clone(),
            })
            .collect();
        let error = Lockfile::from_unhashed(
            lockfile.cluster.clone(),
            lockfile.hosts.clone(),
            BTreeMap::new(),
            nodes,
        )
        .unwrap_err();
        assert!(
            matches!(error, GraphError::UnknownSecret { ref secret, .. } if secret == "app.password"),
            "{error}"
        );
    }
}
