//! Each node's id, hashed in dependency order from its encoded inputs and its dependencies'
//! ids: the nodes of a class that depend on the same ids are hashed once.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use super::{ClassInputs, EncodedClasses, SpecClasses};
use crate::canonical::{encode_inputs, id_from_inputs_hashed, id_of_encoded, inputs_hashed};
use crate::graph::DependencyPositions;
use crate::node_id::NodeId;
use crate::secret::SecretEntry;
use crate::sorted_node::SortedNode;

/// Every node's id by position, hashed in `order` (dependencies before dependants): with
/// classes, from the inputs the checks encoded; without, from inputs built again.
///
/// Where some nodes are copies of a model's (`model_copies.rs`), the nodes that are not
/// go first, each as soon as its dependencies are hashed, so that a copy finds its model
/// hashed and takes its id where it can; then the rest, in order.
pub(super) fn hash_ids(
    nodes: &[SortedNode],
    order: &[usize],
    dependencies: &DependencyPositions,
    classes: Option<&SpecClasses>,
    encoded_classes: EncodedClasses,
    secrets: &BTreeMap<String, SecretEntry>,
) -> Vec<Option<NodeId>> {
    let mut hasher = NodeHasher::new(nodes, dependencies, classes, encoded_classes, secrets);
    let mut ids: Vec<Option<NodeId>> = vec![None; nodes.len()];
    let copies = classes.map(|classes| &classes.copies);
    if let Some(copies) = copies.filter(|copies| copies.len() != 0) {
        for &position in order {
            let ready = copies.model_of(position).is_none()
                && dependencies
                    .dependencies_of(position)
                    .iter()
                    .all(|&dependency| ids[dependency].is_some());
            if ready {
                ids[position] = Some(hasher.hash(position, &ids));
            }
        }
    }
    for &position in order {
        if ids[position].is_some() {
            continue;
        }
        let id = classes
            .and_then(|classes| model_id(position, classes, dependencies, &ids))
            .unwrap_or_else(|| hasher.hash(position, &ids));
        ids[position] = Some(id);
    }
    ids
}

/// What hashes a node's id: its class's inputs, encoded by the checks, and the ids
/// already hashed of the same class and dependency ids.
struct NodeHasher<'a> {
    nodes: &'a [SortedNode],
    dependencies: &'a DependencyPositions,
    classes: Option<&'a SpecClasses>,
    /// Without classes, a scratch buffer.
    encoded: Vec<u8>,
    class_inputs: Vec<Option<ClassInputs>>,
    memo: IdMemo,
    secrets: &'a BTreeMap<String, SecretEntry>,
    /// A scratch list of a node's dependencies' ids.
    dependency_ids: Vec<NodeId>,
}

impl<'a> NodeHasher<'a> {
    fn new(
        nodes: &'a [SortedNode],
        dependencies: &'a DependencyPositions,
        classes: Option<&'a SpecClasses>,
        encoded_classes: EncodedClasses,
        secrets: &'a BTreeMap<String, SecretEntry>,
    ) -> Self {
        Self {
            nodes,
            dependencies,
            classes,
            encoded: encoded_classes.encoded,
            class_inputs: encoded_classes.inputs,
            memo: IdMemo::new(classes.map_or(0, |classes| classes.count)),
            secrets,
            dependency_ids: Vec::new(),
        }
    }

    /// The id of the node at `position`, whose dependencies' ids are in `ids`.
    fn hash(&mut self, position: usize, ids: &[Option<NodeId>]) -> NodeId {
        self.dependency_ids.clear();
        for &dependency in self.dependencies.dependencies_of(position) {
            self.dependency_ids
                .push(ids[dependency].expect("dependencies are hashed first"));
        }
        let Some(classes) = self.classes else {
            // Without classes, nothing was kept encoded: the buffer is a scratch one.
            let node = &self.nodes[position];
            self.encoded.clear();
            encode_inputs(
                node.spec.kind(),
                &node.spec.inputs(),
                self.secrets,
                &mut self.encoded,
            );
            return id_of_encoded(&self.encoded, &mut self.dependency_ids);
        };
        let class = classes.of[position];
        let class_inputs = self.class_inputs[class]
            .as_ref()
            .expect("every class is encoded");
        let inputs = &self.encoded[class_inputs.encoded.clone()];
        if class_inputs.members == 1 {
            // Nothing to share.
            id_of_encoded(inputs, &mut self.dependency_ids)
        } else if classes.copies.model_of(position).is_some() {
            // A copy without its model's id: it depends on its own host's nodes (no other
            // node has its dependency ids), or its model was not hashed before it (it
            // waits on a copy elsewhere). None is remembered either way.
            self.memo
                .hashed_alone(class, inputs, &mut self.dependency_ids)
        } else {
            self.memo.id_of(class, inputs, &mut self.dependency_ids)
        }
    }
}

/// A copy's id where it is its model's: the model's id is hashed, and each dependency of
/// the copy has the id of the model's dependency in the same place (the same node, or a
/// copy of it with the same id). Its inputs are its model's (one class), so its id is too.
fn model_id(
    position: usize,
    classes: &SpecClasses,
    dependencies: &DependencyPositions,
    ids: &[Option<NodeId>],
) -> Option<NodeId> {
    let model = classes.copies.model_of(position)?;
    let id = ids[model]?;
    let own = dependencies.dependencies_of(position);
    let model_dependencies = dependencies.dependencies_of(model);
    let same = classes.of[position] == classes.of[model]
        && own.len() == model_dependencies.len()
        && own
            .iter()
            .zip(model_dependencies)
            .all(|(&own, &model)| own == model || ids[own] == ids[model]);
    same.then_some(id)
}

/// The ids already hashed, by class and dependency ids: the same node on ten thousand
/// hosts, depending on the same nodes, is hashed once. A node with more dependencies than
/// a key holds is hashed each time: such nodes (a host's barrier) depend on their host's
/// own nodes, whose ids differ from host to host anyway.
///
/// Each class's inputs are fed to a hasher once, which every id of the class continues
/// from: a node's inputs are most of what its id hashes (a few hundred bytes), its
/// dependencies' ids the rest.
struct IdMemo {
    hashed_ids: HashMap<MemoKey, NodeId>,
    /// By class: the id hasher with the class's inputs fed, once a node of it was hashed.
    class_hashers: Vec<Option<Box<blake3::Hasher>>>,
}

/// The most dependency ids a [`MemoKey`] holds.
const MEMO_DEPENDENCIES: usize = 4;

/// A class and its node's dependency ids, held in place (the rest `None`): half a million
/// keys, and no allocation for any.
#[derive(PartialEq, Eq, Hash)]
struct MemoKey {
    class: usize,
    dependency_ids: [Option<NodeId>; MEMO_DEPENDENCIES],
}

impl IdMemo {
    /// A memo of `class_count` classes, with no id yet.
    fn new(class_count: usize) -> Self {
        let mut class_hashers = Vec::new();
        class_hashers.resize_with(class_count, || None);
        Self {
            hashed_ids: HashMap::new(),
            class_hashers,
        }
    }

    /// The id of a class's encoded inputs with these dependency ids: hashed the first time,
    /// remembered after.
    fn id_of(&mut self, class: usize, inputs: &[u8], dependency_ids: &mut [NodeId]) -> NodeId {
        if dependency_ids.len() > MEMO_DEPENDENCIES {
            return hashed(&mut self.class_hashers[class], inputs, dependency_ids);
        }
        let mut key = MemoKey {
            class,
            dependency_ids: [None; MEMO_DEPENDENCIES],
        };
        for (slot, id) in key.dependency_ids.iter_mut().zip(dependency_ids.iter()) {
            *slot = Some(*id);
        }
        let class_hasher = &mut self.class_hashers[class];
        *self
            .hashed_ids
            .entry(key)
            .or_insert_with(|| hashed(class_hasher, inputs, dependency_ids))
    }

    /// The id of a class's encoded inputs with these dependency ids, hashed and not
    /// remembered: no other node of the class has them.
    fn hashed_alone(
        &mut self,
        class: usize,
        inputs: &[u8],
        dependency_ids: &mut [NodeId],
    ) -> NodeId {
        hashed(&mut self.class_hashers[class], inputs, dependency_ids)
    }
}

/// The id of a node of a class, hashed: its inputs' part from the class's hasher, made the
/// first time.
fn hashed(
    class_hasher: &mut Option<Box<blake3::Hasher>>,
    inputs: &[u8],
    dependency_ids: &mut [NodeId],
) -> NodeId {
    let hasher = class_hasher.get_or_insert_with(|| Box::new(inputs_hashed(inputs)));
    id_from_inputs_hashed(hasher.as_ref().clone(), dependency_ids)
}
