//! Each node's id, hashed in dependency order from its encoded inputs and its dependencies'
//! ids: the nodes of a class that depend on the same ids are hashed once.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use super::{EncodedClasses, SpecClasses};
use crate::canonical::{encode_inputs, id_from_inputs_hashed, id_of_encoded, inputs_hashed};
use crate::graph::DependencyPositions;
use crate::node_id::NodeId;
use crate::secret::SecretEntry;
use crate::sorted_node::SortedNode;

/// Every node's id by position, hashed in `order` (dependencies before dependants): with
/// classes, from the inputs the checks encoded; without, from inputs built again.
pub(super) fn hash_ids(
    nodes: &[SortedNode],
    order: &[usize],
    dependencies: &DependencyPositions,
    classes: Option<&SpecClasses>,
    encoded_classes: EncodedClasses,
    secrets: &BTreeMap<String, SecretEntry>,
) -> Vec<Option<NodeId>> {
    let EncodedClasses {
        mut encoded,
        inputs: class_inputs,
    } = encoded_classes;
    let mut memo = IdMemo::new(classes.map_or(0, |classes| classes.count));
    let mut ids: Vec<Option<NodeId>> = vec![None; nodes.len()];
    let mut dependency_ids: Vec<NodeId> = Vec::new();
    for &position in order {
        dependency_ids.clear();
        for &dependency in dependencies.dependencies_of(position) {
            dependency_ids.push(ids[dependency].expect("dependencies are hashed first"));
        }
        let node = &nodes[position];
        let id = match classes {
            Some(classes) => {
                let class = classes.of[position];
                let class_inputs = class_inputs[class]
                    .as_ref()
                    .expect("every class is encoded");
                let inputs = &encoded[class_inputs.encoded.clone()];
                if class_inputs.members == 1 {
                    // Nothing to share.
                    id_of_encoded(inputs, &mut dependency_ids)
                } else {
                    memo.id_of(class, inputs, &mut dependency_ids)
                }
            }
            None => {
                // Without classes, nothing was kept encoded: the buffer is a scratch one.
                encoded.clear();
                encode_inputs(node.spec.kind(), &node.spec.inputs(), secrets, &mut encoded);
                id_of_encoded(&encoded, &mut dependency_ids)
            }
        };
        ids[position] = Some(id);
    }
    ids
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
