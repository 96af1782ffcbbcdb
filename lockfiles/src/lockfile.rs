mod compile_classes;
mod model_copies;
mod node_ids;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use foldhash::{HashMap, HashMapExt};

use crate::atomic_write::write_atomically;
use crate::canonical::{CanonicalInputs, canonical_inputs, encode_inputs, node_id};
use crate::content::Text;
use crate::error::{GraphError, LockError};
use crate::graph::{DependencyPositions, order_positions};
use crate::host::HostEntry;
use crate::name_list::NameList;
use crate::node::Node;
use crate::node_id::NodeId;
use crate::node_kind::NodeKind;
use crate::node_name::{NodeName, Scope};
use crate::nodes::NodeSpec;
use crate::place_in_order::place_in_order;
use crate::rollout::RolloutPolicy;
use crate::rollouts::default_rollouts;
use crate::secret::{SecretEntry, SecretSource};
use crate::sorted_node::SortedNode;
pub(crate) use model_copies::ModelCopies;
use model_copies::{is_renamed_model, moved_dependencies};
use node_ids::hash_ids;

/// The lockfile format this crate reads and writes.
/// Version 2 records digests of the cluster, hosts, secrets and node sets
/// ([`crate::LockfileDigests`]) and where the secrets' fingerprint key is read. Version 3
/// adds the `barrier` kind: a host's nodes wait for its checks (and for its Docker being
/// ready) through one barrier node each, not a dependency on every check; the digests are
/// version 2's. Version 4 adds `[rollouts.NAME]`, each container's rollout policy, with a
/// digest of its own; version 3 is still read (its containers get the default policies).
/// Version 5 adds a node's `ordered_after`, the nodes it waits for without depending on
/// them (outside its id), and covers them by its host's `nodes_digest`; and `keep_releases`
/// to the rollout tables and their digests. Versions 3 and 4 are still read (their nodes
/// have no `ordered_after`, their containers keep the default 2 releases, their digests are
/// computed as they were). Version 6 writes each distinct pin set of the package nodes once,
/// in a `[package_pins.HASH]` table, and a pinned node names it (`pins = "HASH"`) instead
/// of holding it inline; ids and digests are computed as in version 5 (an id hashes the
/// pins themselves, not how they are written), so only the top-level digest, which covers
/// the version, differs. Versions 3 to 5 (pins inline) are still read. Version 7 writes a
/// host like another of its roles (`like = "MODEL"` in its `[hosts.NAME]` table): its
/// nodes are the model's, renamed, but for what its own `[[node]]` tables say, and record
/// no ids (the reader computes them, and the host's `nodes_digest` covers them); ids and
/// digests are computed as in version 6. Versions 3 to 6 are still read.
pub const FORMAT_VERSION: i64 = 7;

/// The first format with hosts written `like` another.
pub const LIKE_HOSTS_VERSION: i64 = 7;

/// The first format with `[package_pins]` tables.
pub const PACKAGE_PINS_VERSION: i64 = 6;

/// The first format with `ordered_after`.
pub const ORDERED_AFTER_VERSION: i64 = 5;

/// The oldest format this crate reads.
pub const OLDEST_READ_VERSION: i64 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    pub name: String,
    pub domain: String,
    /// Where the key that fingerprints the secrets is read (never its value), so apply can
    /// check each secret against the fingerprint compile recorded. `None`: no secrets.
    pub fingerprint_key: Option<SecretSource>,
}

/// A node before its id is known: what the compiler builds and the reader parses.
///
/// Its two lists of names are sorted, each name once, as a [`Node`]'s are: lists, not
/// sets, since half a million nodes' sets were a quarter of a 10,000-host compile's peak
/// memory. [`Lockfile::from_unhashed`] sorts a list that is not (and drops a repeated
/// name), which costs a sorted list one comparison per name.
#[derive(Debug, Clone)]
pub struct UnhashedNode {
    pub name: NodeName,
    /// What it depends on: waited for, and part of its id. Sorted, each name once.
    pub deps: Vec<NodeName>,
    /// What it is ordered after: waited for, and not part of its id. Sorted, each name
    /// once, none of `deps`.
    pub ordered_after: Vec<NodeName>,
    pub spec: NodeSpec,
}

/// `names` sorted, each once: as they are where they already are (the compiler's and the
/// reader's lists), else sorted and their repeats dropped.
fn sorted_once_each(mut names: Vec<NodeName>) -> Vec<NodeName> {
    if !names.is_sorted_by(|left, right| left < right) {
        names.sort_unstable();
        names.dedup();
    }
    names
}

/// A name must be whole: a key of printable characters, images cluster-wide and only
/// images, and a container depending on the image it runs (so a new image replaces it).
/// `first_of_class`: whether the checks of what the nodes of a class share (their key,
/// and where their secrets go) are made; they are, once per class.
fn check_name(
    node: &SortedNode,
    used_secrets: &BTreeSet<String>,
    first_of_class: bool,
) -> Result<(), GraphError> {
    let invalid = |problem: String| GraphError::InvalidName {
        name: node.name.clone(),
        problem,
    };
    let key = &node.name.key;
    let has_control = || {
        if key.is_ascii() {
            key.bytes().any(|byte| byte.is_ascii_control())
        } else {
            key.chars().any(char::is_control)
        }
    };
    if first_of_class && (key.is_empty() || has_control()) {
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
    if first_of_class && let Some(problem) = misplaced_secret(&node.spec, used_secrets) {
        return Err(invalid(problem));
    }
    if let Some(both) = node
        .ordered_after
        .iter()
        .find(|name| node.deps.contains(name))
    {
        return Err(GraphError::OrderedAfterADependency {
            node: node.name.clone(),
            dependency: both.into_owned(),
        });
    }
    if let NodeSpec::Container(container) = &*node.spec {
        let image = (Scope::Cluster, NodeKind::Image, container.image.as_str());
        let on_image = node
            .deps
            .seen()
            .any(|(scope, kind, key)| (scope, kind, key.as_ref()) == (&image.0, image.1, image.2));
        if !on_image {
            let image_name = NodeName::new(image.0, image.1, image.2);
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

/// Sorts the nodes by name, nodes of the same name in their order (a stable sort). Their
/// positions are sorted, then the nodes put in place ([`place_in_order`]).
fn sort_by_name(nodes: &mut [SortedNode]) {
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    // The position breaks ties, so the unstable sort keeps equal names in their order.
    order.sort_unstable_by(|&left, &right| {
        nodes[left]
            .name
            .cmp(&nodes[right].name)
            .then(left.cmp(&right))
    });
    place_in_order(nodes, &mut order);
}

/// Refuses a name used twice: the nodes of a scope are one run, where names repeat, and
/// order by kind and key.
fn refuse_duplicate_names(nodes: &[SortedNode], scopes: &[Range<usize>]) -> Result<(), GraphError> {
    for scope in scopes {
        if let Some(pair) = nodes[scope.clone()].windows(2).find(|pair| {
            pair[0].name.kind == pair[1].name.kind && pair[0].name.key == pair[1].name.key
        }) {
            return Err(GraphError::DuplicateName(pair[1].name.clone()));
        }
    }
    Ok(())
}

/// Every node's dependencies (or the nodes it is ordered after: what `names_of` gives) as
/// positions in `nodes` (sorted by name, each name once), refusing a name that is not
/// there, with the errors (and in the order) of [`crate::topological_order`].
///
/// A name is looked up among the nodes of its dependant's own host (most dependencies
/// are there, and their names are in cache), else among all, by binary search. With
/// `classes`, the node of a class that came before is asked first: the same node on another
/// host has its dependencies at the same places among its host's nodes, which one
/// comparison confirms.
fn resolve_dependencies(
    nodes: &[SortedNode],
    scopes: &[Range<usize>],
    classes: Option<&SpecClasses>,
    names_of: impl Fn(&SortedNode) -> &NameList,
) -> Result<DependencyPositions, GraphError> {
    let copies = classes.map(|classes| &classes.copies);
    // A copy's lists are as long as its model's, which stays in cache for all its copies.
    let edges = (0..nodes.len())
        .map(|position| {
            let model = copies.and_then(|copies| copies.model_of(position));
            names_of(&nodes[model.unwrap_or(position)]).len()
        })
        .sum();
    let mut dependencies = DependencyPositions::with_capacity(nodes.len(), edges);
    // Per class, the last node of it and where its scope started.
    let mut last_of_class: Vec<Option<(usize, usize)>> =
        vec![None; classes.map_or(0, |classes| classes.count)];
    let mut moved = Vec::new();
    for scope in scopes {
        let scope_start = scope.start;
        let same_scope = &nodes[scope.clone()];
        // The nodes of the host the scope's copies are copies of, found at its first.
        let mut model_scope: Option<Range<usize>> = None;
        for (position, node) in nodes.iter().enumerate().take(scope.end).skip(scope.start) {
            let previous = classes.and_then(|classes| {
                let slot = &mut last_of_class[classes.of[position]];
                slot.replace((position, scope_start))
            });
            // A copy whose model is resolved: the model's dependencies, moved to its host.
            if let Some(copies) = copies
                && let Some(model) = copies.model_of(position)
                && model < position
            {
                let model_scope = model_scope.get_or_insert_with(|| scope_of(scopes, model));
                let model_dependencies = dependencies.dependencies_of(model);
                if moved_dependencies(
                    nodes,
                    copies,
                    model_dependencies,
                    (model_scope, scope),
                    &mut moved,
                ) {
                    for &dependency_position in &moved {
                        dependencies.push_dependency(dependency_position);
                    }
                    dependencies.end_node();
                    continue;
                }
            }
            for (index, dependency) in names_of(node).iter().enumerate() {
                let dependency: &NodeName = &dependency;
                let found = if dependency.scope == node.name.scope {
                    let in_scope = |offset: usize| {
                        let other = &same_scope[offset].name;
                        other.kind == dependency.kind && other.key == dependency.key
                    };
                    let guess = previous.and_then(|(previous, previous_start)| {
                        let position = *dependencies.dependencies_of(previous).get(index)?;
                        let offset = position.checked_sub(previous_start)?;
                        (offset < same_scope.len() && in_scope(offset)).then_some(offset)
                    });
                    match guess {
                        Some(offset) => Ok(offset),
                        // Within one scope, names order by kind, then key.
                        None => {
                            same_scope.binary_search_by(|other| other.name.cmp_in_scope(dependency))
                        }
                    }
                    .map(|offset| scope_start + offset)
                } else {
                    nodes.binary_search_by(|other| other.name.cmp(dependency))
                };
                let Ok(dependency_position) = found else {
                    return Err(GraphError::DanglingDependency {
                        node: node.name.clone(),
                        dependency: dependency.clone(),
                    });
                };
                dependencies.push_dependency(dependency_position);
            }
            dependencies.end_node();
        }
    }
    Ok(dependencies)
}

/// The run of `scopes` that holds `position`.
fn scope_of(scopes: &[Range<usize>], position: usize) -> Range<usize> {
    scopes[scopes.partition_point(|scope| scope.end <= position)].clone()
}

/// The runs of nodes of one scope (a host, or the cluster), in order: galloping, then a
/// binary search, so a host's few nodes cost a few comparisons.
fn scope_runs(nodes: &[SortedNode]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < nodes.len() {
        let scope = &nodes[start].name.scope;
        let mut low = start + 1;
        let mut step = 1;
        while low + step <= nodes.len() && nodes[low + step - 1].name.scope == *scope {
            low += step;
            step *= 2;
        }
        let high = (low + step).min(nodes.len());
        let end = low + nodes[low..high].partition_point(|other| other.name.scope == *scope);
        runs.push(start..end);
        start = end;
    }
    runs
}

/// Which nodes of a sorted list share a spec (the reader knows the nodes it read from the
/// same text): `of[position]` is each node's class, below `count`. `copies`: which nodes
/// are copies of a model's (see `model_copies.rs`), each in its model's class.
#[derive(Debug)]
pub(crate) struct SpecClasses {
    pub(crate) of: Vec<usize>,
    pub(crate) count: usize,
    pub(crate) copies: ModelCopies,
}

/// What the nodes of one class share in graph validation.
struct ClassInputs {
    /// The secrets the spec uses.
    secrets: BTreeSet<String>,
    /// Where its kind and inputs are encoded, as its id hashes them.
    encoded: Range<usize>,
    /// How many nodes it has.
    members: usize,
}

/// What checking the nodes leaves for hashing their ids: each class's inputs, encoded.
struct EncodedClasses {
    /// Each class's kind and inputs, encoded in the range its [`ClassInputs`] names (without
    /// classes, nothing: a scratch buffer).
    encoded: Vec<u8>,
    /// By class.
    inputs: Vec<Option<ClassInputs>>,
}

/// Checks every node, in order (its name, its host, its key, its secrets), encoding each
/// class's inputs once as its id will hash them. `on_text` sees every text of each class
/// (or of each node).
fn check_nodes(
    nodes: &[SortedNode],
    scopes: &[Range<usize>],
    hosts: &BTreeMap<String, HostEntry>,
    secrets: &BTreeMap<String, SecretEntry>,
    classes: Option<&SpecClasses>,
    on_text: &mut impl FnMut(&Text),
) -> Result<EncodedClasses, GraphError> {
    // Each class's inputs are encoded as its id will hash them; the hashing waits for the
    // order, an id needing the ids of the node's dependencies. Without classes, a node's
    // inputs are built again to be hashed.
    // Room for a few hundred bytes a class, the most they take in the lockfiles measured
    // (bench/README.md): a large lockfile's hundred thousand classes would otherwise copy
    // the buffer to fresh memory a dozen times as it grows. Room not written to is never
    // touched.
    const ENCODED_BYTES_A_CLASS: usize = 512;
    let mut encoded: Vec<u8> = Vec::with_capacity(
        classes.map_or(64 * 1024, |classes| classes.count * ENCODED_BYTES_A_CLASS),
    );
    let mut class_inputs: Vec<Option<ClassInputs>> = Vec::new();
    class_inputs.resize_with(classes.map_or(0, |classes| classes.count), || None);
    let mut scope_starts = scopes.iter().map(|scope| scope.start).peekable();
    for (position, node) in nodes.iter().enumerate() {
        let own_secrets;
        // Whether the node is the first of its class, whose nodes share kind and key and
        // the spec: checked once.
        let mut first_of_class = true;
        let used_secrets = match classes {
            Some(classes) => {
                let class = &mut class_inputs[classes.of[position]];
                first_of_class = class.is_none();
                let class = class.get_or_insert_with(|| {
                    let inputs = node.spec.inputs();
                    NodeSpec::texts_in(&inputs, on_text);
                    let start = encoded.len();
                    encode_inputs(node.spec.kind(), &inputs, secrets, &mut encoded);
                    ClassInputs {
                        secrets: NodeSpec::secrets_in(&inputs),
                        encoded: start..encoded.len(),
                        members: 0,
                    }
                });
                class.members += 1;
                &class.secrets
            }
            None => {
                let inputs = node.spec.inputs();
                NodeSpec::texts_in(&inputs, on_text);
                own_secrets = NodeSpec::secrets_in(&inputs);
                &own_secrets
            }
        };
        // A copy's name and lists are its model's, renamed: checked with the model's (but
        // for what is checked of its class's first node).
        let copy = classes.and_then(|classes| classes.copies.model_of(position));
        if copy.is_none() || first_of_class {
            check_name(node, used_secrets, first_of_class)?;
        }
        // A scope's first node says whether its host is declared.
        let starts_scope = scope_starts.next_if_eq(&position).is_some();
        check_declared(
            node,
            used_secrets,
            first_of_class,
            starts_scope,
            hosts,
            secrets,
        )?;
    }
    Ok(EncodedClasses {
        encoded,
        inputs: class_inputs,
    })
}

/// Refuses a node on a host that is not declared (asked of a scope's first node), whose
/// key or kind is not its spec's (asked of a class's first node), or that uses a secret
/// that is not declared.
fn check_declared(
    node: &SortedNode,
    used_secrets: &BTreeSet<String>,
    first_of_class: bool,
    starts_scope: bool,
    hosts: &BTreeMap<String, HostEntry>,
    secrets: &BTreeMap<String, SecretEntry>,
) -> Result<(), GraphError> {
    if starts_scope
        && let Some(host) = node.name.host()
        && !hosts.contains_key(host)
    {
        return Err(GraphError::UnknownHost {
            node: node.name.clone(),
            host: host.to_string(),
        });
    }
    if first_of_class && (node.spec.key() != &*node.name.key || node.spec.kind() != node.name.kind)
    {
        return Err(GraphError::KeyMismatch {
            name: node.name.clone(),
            key: node.name.key.to_string(),
            field: NodeSpec::key_field(node.name.kind),
        });
    }
    if let Some(secret) = used_secrets
        .iter()
        .find(|secret| !secrets.contains_key(*secret))
    {
        return Err(GraphError::UnknownSecret {
            node: node.name.clone(),
            secret: secret.clone(),
        });
    }
    Ok(())
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
    /// For a lockfile read from text: which nodes share a spec, and each class's inputs id
    /// once asked for (a diff or a plan asks for ten thousand hosts' same node).
    classes: Option<ClassInputsIds>,
    /// Every container name's rollout policy: the one the lockfile states, else the
    /// default (see `rollouts.rs`).
    pub(crate) rollouts: BTreeMap<String, RolloutPolicy>,
    /// The hosts that run each container name, built on the first
    /// [`Lockfile::container_hosts`].
    pub(crate) container_hosts: OnceLock<BTreeMap<String, Vec<String>>>,
}

/// The class of each node (nodes with the same spec) and each class's inputs id.
#[derive(Debug, Clone)]
struct ClassInputsIds {
    of: Vec<usize>,
    inputs_ids: Vec<OnceLock<NodeId>>,
}

impl Lockfile {
    /// Validates the graph and computes every id, dependencies first.
    pub fn from_unhashed(
        cluster: ClusterInfo,
        hosts: BTreeMap<String, HostEntry>,
        secrets: BTreeMap<String, SecretEntry>,
        unhashed: Vec<UnhashedNode>,
    ) -> Result<Self, GraphError> {
        let mut nodes: Vec<SortedNode> = unhashed
            .into_iter()
            .map(|node| SortedNode {
                name: node.name,
                deps: NameList::sorted(sorted_once_each(node.deps)),
                ordered_after: NameList::sorted(sorted_once_each(node.ordered_after)),
                spec: Arc::new(node.spec),
            })
            .collect();
        // The collect reuses the unhashed nodes' room, twice what the sorted ones take (each
        // spec moved into an `Arc`): at ten thousand hosts, 49 MB held through the checks,
        // the order and the ids, compile's peak, for nothing.
        nodes.shrink_to_fit();
        sort_by_name(&mut nodes);
        let classes = compile_classes::package_classes(&nodes);
        Self::from_sorted(cluster, hosts, secrets, nodes, Some(classes), |_| {})
    }

    /// [`Lockfile::from_unhashed`] of nodes already sorted by name (a stable sort: nodes of
    /// the same name keep their order) with their dependencies sorted and without
    /// duplicates, whose ids are computed here.
    ///
    /// With `classes`, the inputs of each class are built, checked and encoded once, and its
    /// id hashed once per set of dependency ids: the same node on ten thousand hosts costs
    /// little more than one. `on_text` sees every text of each class (or of each node), as
    /// [`NodeSpec::texts`] lists them: the reader checks with it that each text of its
    /// content table is used.
    pub(crate) fn from_sorted(
        cluster: ClusterInfo,
        hosts: BTreeMap<String, HostEntry>,
        secrets: BTreeMap<String, SecretEntry>,
        nodes: Vec<SortedNode>,
        spec_classes: Option<SpecClasses>,
        mut on_text: impl FnMut(&Text),
    ) -> Result<Self, GraphError> {
        debug_assert!(nodes.is_sorted_by(|left, right| left.name <= right.name));
        debug_assert!(nodes.iter().all(|node| {
            node.deps.iter().is_sorted_by(|left, right| left < right)
                && node
                    .ordered_after
                    .iter()
                    .is_sorted_by(|left, right| left < right)
        }));
        let classes = spec_classes.as_ref();
        debug_assert!(classes.is_none_or(|classes| classes.of.len() == nodes.len()
            && classes.of.iter().all(|&class| class < classes.count)));
        debug_assert!(classes.is_none_or(|classes| {
            let copies = &classes.copies;
            (copies.len() == 0 || copies.len() == nodes.len())
                && (0..copies.len()).all(|position| {
                    copies.model_of(position).is_none_or(|model| {
                        classes.of[position] == classes.of[model]
                            && is_renamed_model(&nodes[position], &nodes[model])
                    })
                })
        }));
        let scopes = scope_runs(&nodes);
        let encoded_classes =
            check_nodes(&nodes, &scopes, &hosts, &secrets, classes, &mut on_text)?;
        refuse_duplicate_names(&nodes, &scopes)?;
        let dependencies = resolve_dependencies(&nodes, &scopes, classes, |node| &node.deps)?;
        let ordered_after =
            resolve_dependencies(&nodes, &scopes, classes, |node| &node.ordered_after)?;
        // The order (and the cycle search) is over what apply waits for; the ids hash the
        // dependencies alone.
        let order = order_positions(&[&dependencies, &ordered_after], |position| {
            &nodes[position].name
        })?;
        let ids = hash_ids(
            &nodes,
            &order,
            &dependencies,
            classes,
            encoded_classes,
            &secrets,
        );
        let nodes: Vec<Node> = nodes
            .into_iter()
            .zip(ids)
            .map(|(node, id)| node.with_id(id.expect("every node is in the order")))
            .collect();
        Ok(Self {
            cluster,
            hosts,
            secrets,
            rollouts: default_rollouts(&nodes, |position| {
                classes.is_some_and(|classes| classes.copies.model_of(position).is_some())
            }),
            nodes,
            order,
            index: OnceLock::new(),
            container_hosts: OnceLock::new(),
            classes: spec_classes.map(|classes| ClassInputsIds {
                inputs_ids: (0..classes.count).map(|_| OnceLock::new()).collect(),
                of: classes.of,
            }),
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
        let compute = || node_id(node.spec.kind(), &node.spec.inputs(), &[], &self.secrets);
        match (&self.classes, self.position_of(node)) {
            (Some(classes), Some(position)) => {
                *classes.inputs_ids[classes.of[position]].get_or_init(compute)
            }
            _ => compute(),
        }
    }

    /// Where `node` is in [`Lockfile::nodes`], if it is one of this lockfile's.
    fn position_of(&self, node: &Node) -> Option<usize> {
        let offset = (node as *const Node as usize).checked_sub(self.nodes.as_ptr() as usize)?;
        let position = offset / std::mem::size_of::<Node>();
        self.nodes
            .get(position)
            .is_some_and(|candidate| std::ptr::eq(candidate, node))
            .then_some(position)
    }

    /// Everything that went into a node's id.
    pub fn explain(&self, node: &Node) -> CanonicalInputs {
        let dependencies: Vec<(String, NodeId)> = node
            .deps
            .iter()
            .filter_map(|name| self.node(&name))
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
        crate::reader::read_file(path)
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
    use std::collections::BTreeMap;

    use super::*;
    use crate::content::Text;
    use crate::node_kind::NodeKind;
    use crate::nodes::{
        CheckNode, CommandNode, ContainerNode, EnvValue, FileNode, HealthNode, ImageFile,
        ImageNode, ImagePins, PackageNode, PackagePin, Probe, ServiceNode, ServiceState,
    };
    use crate::secret::{SecretSource, secret_placeholder};

    /// The names, parsed and sorted, as an [`UnhashedNode`] lists them.
    fn names(names: &[&str]) -> Vec<NodeName> {
        let mut parsed: Vec<NodeName> = names.iter().map(|name| name.parse().unwrap()).collect();
        parsed.sort_unstable();
        parsed
    }

    fn node(name: &str, deps: &[&str], spec: NodeSpec) -> UnhashedNode {
        UnhashedNode {
            name: name.parse().unwrap(),
            deps: names(deps),
            ordered_after: Vec::new(),
            spec,
        }
    }

    /// One node of every kind, with text that needs escaping and a secret: a fixture
    /// written out field by field, as long as the kinds are many.
    fn every_kind() -> Lockfile {
        let mut image = ImageNode {
            name: "app".into(),
            base: "debian:bookworm-slim".into(),
            packages: vec!["curl".into()],
            pins: None,
            artifacts: vec![],
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
            healthcheck: None,
            setup: Box::default(),
            compression: crate::LayerCompression::default(),
            registry: None,
            dockerfile: Text::new(""),
        };
        let pin = |name: &str, version: &str, architecture: &str| PackagePin {
            name: name.into(),
            version: version.into(),
            architecture: architecture.into(),
            url: format!("http://deb.example/debian/pool/main/{name}_{version}_{architecture}.deb"),
            sha256: "ab".repeat(32),
            size: 4096,
        };
        image.set_pins(Some(ImagePins {
            architecture: "amd64".into(),
            sources: vec!["http://deb.example/debian bookworm main".into()],
            packages: vec![
                pin("libcurl4", "7.88.1-10+deb12u8", "amd64"),
                pin("curl", "7.88.1-10+deb12u8", "amd64"),
                pin("ca-certificates", "20230311", "all"),
            ],
        }));
        let nodes = vec![
            node("cluster:image:app", &[], NodeSpec::Image(Box::new(image))),
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
                    pins: None,
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
                NodeSpec::Container(Box::new(ContainerNode {
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
                    privileged: false,
                    pid: None,
                    args: vec!["--verbose".into()],
                })),
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
                user: Some("root".into()),
                port: Some(22),
                roles: vec!["app".into()],
                transport: crate::host::TransportKind::Local,
                root: Some("/srv/sandbox/h1".into()),
                become_method: None,
                become_password: None,
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
                fingerprint_key: Some(SecretSource::File("secrets/fingerprint.key".into())),
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
                    .map(|node| (node.name.clone(), node.deps.to_vec()))
                    .collect()
            };
            let edges: Vec<(&NodeName, &[NodeName])> = names
                .iter()
                .map(|(name, deps)| (name, deps.as_slice()))
                .collect();
            let expected = crate::graph::topological_order(&edges).unwrap_err();
            let error = refused_without_secrets(&lockfile, nodes);
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

    /// A check on `h1` named `key`, with its dependencies and the nodes it is ordered after.
    fn ordered_check(key: &str, deps: &[&str], ordered_after: &[&str]) -> UnhashedNode {
        let mut check = node(
            &format!("h1:check:{key}"),
            deps,
            NodeSpec::Check(CheckNode {
                name: key.into(),
                probe: Probe::DiskFree {
                    path: format!("/{key}"),
                    minimum_bytes: 1,
                },
            }),
        );
        check.ordered_after = names(ordered_after);
        check
    }

    /// Three checks: `b` (its id changed by `b_minimum`) ordered after `a`, `c` after
    /// `c_ordered_after`.
    fn ordered_checks(b_minimum: u64, c_ordered_after: &[&str]) -> Result<Lockfile, GraphError> {
        let lockfile = every_kind();
        let mut b = ordered_check("b", &[], &["h1:check:a"]);
        if let NodeSpec::Check(check) = &mut b.spec {
            check.probe = Probe::DiskFree {
                path: "/b".into(),
                minimum_bytes: b_minimum,
            };
        }
        Lockfile::from_unhashed(
            lockfile.cluster.clone(),
            lockfile.hosts.clone(),
            BTreeMap::new(),
            vec![
                ordered_check("c", &[], c_ordered_after),
                b,
                ordered_check("a", &[], &[]),
            ],
        )
    }

    fn id_of(lockfile: &Lockfile, name: &str) -> NodeId {
        lockfile.node(&name.parse().unwrap()).unwrap().id
    }

    /// An order-only dependency is outside the id: neither adding one nor a change of the
    /// node waited for changes the dependant's id, where a dependency's change would.
    #[test]
    fn the_id_does_not_hash_what_a_node_is_ordered_after() {
        let ordered = ordered_checks(1, &["h1:check:b"]).unwrap();
        let unordered = ordered_checks(1, &[]).unwrap();
        let b_changed = ordered_checks(2, &["h1:check:b"]).unwrap();
        assert_ne!(
            id_of(&ordered, "h1:check:b"),
            id_of(&b_changed, "h1:check:b")
        );
        for other in [&unordered, &b_changed] {
            assert_eq!(id_of(&ordered, "h1:check:c"), id_of(other, "h1:check:c"));
        }
        let c = ordered.node(&"h1:check:c".parse().unwrap()).unwrap();
        assert_eq!(c.ordered_after, vec!["h1:check:b".parse().unwrap()]);
        assert!(c.deps.is_empty());
        // `explain` lists what the id hashes: no dependency.
        let explained = ordered.explain(c);
        let unordered_c = unordered.node(&"h1:check:c".parse().unwrap()).unwrap();
        assert_eq!(explained.0, unordered.explain(unordered_c).0);
    }

    #[test]
    fn the_order_puts_a_node_after_what_it_is_ordered_after() {
        let lockfile = ordered_checks(1, &["h1:check:b"]).unwrap();
        let order: Vec<String> = lockfile
            .in_dependency_order()
            .map(|node| node.name.key.to_string())
            .collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    #[test]
    fn a_cycle_through_ordered_after_is_refused() {
        let lockfile = every_kind();
        let error = refused_without_secrets(
            &lockfile,
            vec![
                ordered_check("a", &["h1:check:b"], &[]),
                ordered_check("b", &[], &["h1:check:a"]),
            ],
        );
        assert_eq!(
            error.to_string(),
            "dependency cycle: h1:check:a -> h1:check:b -> h1:check:a"
        );
    }

    #[test]
    fn a_dangling_ordered_after_is_refused_as_a_dangling_dependency() {
        let lockfile = every_kind();
        let error =
            refused_without_secrets(&lockfile, vec![ordered_check("a", &[], &["h1:check:gone"])]);
        assert_eq!(
            error.to_string(),
            "node `h1:check:a` depends on `h1:check:gone`, which is not in the graph"
        );
    }

    #[test]
    fn a_node_both_a_dependency_and_ordered_after_is_refused() {
        let lockfile = every_kind();
        let error = refused_without_secrets(
            &lockfile,
            vec![
                ordered_check("a", &[], &[]),
                ordered_check("b", &["h1:check:a"], &["h1:check:a"]),
            ],
        );
        assert_eq!(
            error,
            GraphError::OrderedAfterADependency {
                node: "h1:check:b".parse().unwrap(),
                dependency: "h1:check:a".parse().unwrap(),
            }
        );
    }

    /// Why `nodes` do not make a lockfile with `lockfile`'s cluster and hosts and no secrets.
    fn refused_without_secrets(lockfile: &Lockfile, nodes: Vec<UnhashedNode>) -> GraphError {
        Lockfile::from_unhashed(
            lockfile.cluster.clone(),
            lockfile.hosts.clone(),
            BTreeMap::new(),
            nodes,
        )
        .unwrap_err()
    }

    /// The lockfile's nodes, as they went in.
    fn unhashed_nodes(lockfile: &Lockfile) -> Vec<UnhashedNode> {
        lockfile
            .nodes()
            .iter()
            .map(|node| UnhashedNode {
                name: node.name.clone(),
                deps: node.deps.to_vec(),
                ordered_after: node.ordered_after.to_vec(),
                spec: NodeSpec::clone(&node.spec),
            })
            .collect()
    }

    /// The lists are sorted, each name once, where a caller gives them otherwise: the
    /// lockfile is the one of the sorted lists.
    #[test]
    fn lists_out_of_order_or_naming_a_node_twice_are_sorted_once_each() {
        let lockfile = every_kind();
        let mut nodes = unhashed_nodes(&lockfile);
        let container = nodes
            .iter_mut()
            .find(|node| node.name.to_string() == "h1:container:app")
            .unwrap();
        container.deps.reverse();
        container.deps.push(container.deps[0].clone());
        let reordered = Lockfile::from_unhashed(
            lockfile.cluster.clone(),
            lockfile.hosts.clone(),
            lockfile.secrets.clone(),
            nodes,
        )
        .unwrap();
        assert_eq!(reordered.nodes(), lockfile.nodes());
        assert_eq!(reordered.to_toml(), lockfile.to_toml());
    }

    #[test]
    fn a_secret_nobody_declared_is_refused() {
        let lockfile = every_kind();
        let error = refused_without_secrets(&lockfile, unhashed_nodes(&lockfile));
        assert!(
            matches!(error, GraphError::UnknownSecret { ref secret, .. } if secret == "app.password"),
            "{error}"
        );
    }

    /// A placeholder in a file's text is a use of the secret as much as a container's
    /// `{ secret = ... }`: undeclared, apply could not fill it in, and the id could not
    /// follow its rotations.
    #[test]
    fn a_secret_only_a_file_text_references_must_be_declared() {
        let lockfile = every_kind();
        let file = lockfile
            .nodes()
            .iter()
            .find(|node| node.name.kind == NodeKind::File)
            .expect("a file node");
        let nodes = vec![node(
            "h1:file:/etc/app.conf",
            &[],
            NodeSpec::clone(&file.spec),
        )];
        let error = refused_without_secrets(&lockfile, nodes);
        let GraphError::UnknownSecret { node, secret } = &error else {
            panic!("{error}");
        };
        assert_eq!(node.to_string(), "h1:file:/etc/app.conf");
        assert_eq!(secret, "app.password");
    }

    #[test]
    fn a_node_on_a_host_nobody_declared_is_refused() {
        let lockfile = every_kind();
        let check = |name: &str| {
            node(
                name,
                &[],
                NodeSpec::Check(CheckNode {
                    name: name.rsplit(':').next().unwrap().into(),
                    probe: Probe::DiskFree {
                        path: "/".into(),
                        minimum_bytes: 1,
                    },
                }),
            )
        };
        for (nodes, host) in [
            (vec![check("h2:check:a")], "h2"),
            (
                vec![
                    check("h1:check:a"),
                    check("h1:check:b"),
                    check("h3:check:a"),
                ],
                "h3",
            ),
        ] {
            let error = refused_without_secrets(&lockfile, nodes);
            assert!(
                matches!(&error, GraphError::UnknownHost { host: found, .. } if found == host),
                "{error}"
            );
        }
    }

    #[test]
    fn sorting_by_name_keeps_nodes_of_the_same_name_in_their_order() {
        let names = [
            "b:check:x",
            "a:check:y",
            "b:check:x",
            "a:check:a",
            "b:check:x",
            "c:check:z",
        ];
        let mut nodes: Vec<SortedNode> = names
            .iter()
            .enumerate()
            .map(|(position, name)| SortedNode {
                name: name.parse().unwrap(),
                deps: NameList::default(),
                ordered_after: NameList::default(),
                // The position, to tell equal names apart.
                spec: Arc::new(NodeSpec::Barrier(crate::nodes::BarrierNode {
                    name: position.to_string(),
                })),
            })
            .collect();
        sort_by_name(&mut nodes);
        let sorted: Vec<String> = nodes
            .iter()
            .map(|node| match &*node.spec {
                NodeSpec::Barrier(barrier) => format!("{} {}", node.name, barrier.name),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            sorted,
            [
                "a:check:a 3",
                "a:check:y 1",
                "b:check:x 0",
                "b:check:x 2",
                "b:check:x 4",
                "c:check:z 5"
            ]
        );
    }
}
