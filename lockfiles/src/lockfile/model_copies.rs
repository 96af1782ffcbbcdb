//! The nodes the reader made as copies of a model's: a host written like another holds
//! each node of its model its own tables do not touch, renamed. Such a copy is its model
//! node with the model's host renamed to its own, in its name and in both its lists (in
//! the same order), and with the same spec.
//!
//! [`super::Lockfile::from_sorted`] takes from the model what a copy would only repeat: the
//! checks of its name and lists, where its dependencies are (the model's, moved to the
//! copy's host), and its id where each of its dependencies has the id of the model's
//! dependency in the same place (compared, not assumed). At 10,000 hosts of the dcos-ha
//! shape, 363,126 of the 476,717 nodes are copies.

use std::ops::Range;

use crate::name_list::NameList;
use crate::node_name::NodeName;
use crate::sorted_node::SortedNode;

/// Each node's model, by position: the position of the node it is a copy of, or none.
#[derive(Debug, Default)]
pub(crate) struct ModelCopies {
    /// By position, [`NOT_A_COPY`] where it is none; empty where no node is a copy.
    model_of: Vec<u32>,
}

/// What [`ModelCopies::model_of`] holds for a node that is not a copy.
const NOT_A_COPY: u32 = u32::MAX;

impl ModelCopies {
    /// No copy among `count` nodes, with room to add them.
    pub(crate) fn with_capacity(count: usize) -> Self {
        Self {
            model_of: Vec::with_capacity(count),
        }
    }

    /// Adds the next node: a copy of the node at `model`, or none. A position past
    /// `u32::MAX` is not taken as a copy (the node is then read like any other).
    pub(crate) fn push(&mut self, model: Option<usize>) {
        let model = model.and_then(|model| u32::try_from(model).ok());
        self.model_of.push(model.unwrap_or(NOT_A_COPY));
    }

    /// Every model position passed through `moved` (positions of a list the nodes were
    /// moved from, to their positions now). A model moved past `u32::MAX` leaves its copies
    /// none, as [`ModelCopies::push`] does.
    pub(crate) fn move_models(&mut self, moved: &[usize]) {
        for model in &mut self.model_of {
            if *model != NOT_A_COPY {
                *model = u32::try_from(moved[*model as usize]).unwrap_or(NOT_A_COPY);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.model_of.len()
    }

    /// The position of the node `position` is a copy of.
    pub(crate) fn model_of(&self, position: usize) -> Option<usize> {
        match self.model_of.get(position) {
            Some(&model) if model != NOT_A_COPY => Some(model as usize),
            _ => None,
        }
    }
}

/// Where a copy's dependencies are, from where its model's are (`model_dependencies`),
/// into `moved`; `false` where one of them is not on the copy's host (`scope`), left to
/// the search by name to refuse.
pub(super) fn moved_dependencies(
    nodes: &[SortedNode],
    copies: &ModelCopies,
    model_dependencies: &[usize],
    scopes: (&Range<usize>, &Range<usize>),
    moved: &mut Vec<usize>,
) -> bool {
    moved.clear();
    for &model_dependency in model_dependencies {
        match moved_dependency(nodes, copies, model_dependency, scopes) {
            Some(position) => moved.push(position),
            None => return false,
        }
    }
    true
}

/// Where a copy's dependency is, found from where its model's is (`model_dependency`):
/// the same node where that is outside the model's host (`model_scope`); else the node of
/// the same kind and key among the copy's host's (`scope`), at the same place when the two
/// hosts' nodes line up (a copy there is one of that very node, or the names say so), else
/// found by binary search. `None`: the copy's host has no such node.
fn moved_dependency(
    nodes: &[SortedNode],
    copies: &ModelCopies,
    model_dependency: usize,
    (model_scope, scope): (&Range<usize>, &Range<usize>),
) -> Option<usize> {
    if !model_scope.contains(&model_dependency) {
        return Some(model_dependency);
    }
    let name: &NodeName = &nodes[model_dependency].name;
    let same_place = scope.start + (model_dependency - model_scope.start);
    if scope.contains(&same_place)
        && (copies.model_of(same_place) == Some(model_dependency)
            || nodes[same_place].name.cmp_in_scope(name).is_eq())
    {
        return Some(same_place);
    }
    nodes[scope.clone()]
        .binary_search_by(|other| other.name.cmp_in_scope(name))
        .ok()
        .map(|offset| scope.start + offset)
}

/// Whether a copy is its model renamed, as the reader promises: the same kind, key and
/// spec, and each of its lists the model's with the model's host renamed, in order.
/// Asserted in debug builds.
pub(super) fn is_renamed_model(copy: &SortedNode, model: &SortedNode) -> bool {
    let renamed = |copy_names: &NameList, model_names: &NameList| {
        copy_names.len() == model_names.len()
            && copy_names
                .iter()
                .zip(model_names)
                .all(|(name, model_name)| {
                    name.kind == model_name.kind
                        && name.key == model_name.key
                        && (name.scope == model_name.scope
                            || (name.scope == copy.name.scope
                                && model_name.scope == model.name.scope))
                })
    };
    copy.name.kind == model.name.kind
        && copy.name.key == model.name.key
        && std::sync::Arc::ptr_eq(&copy.spec, &model.spec)
        && renamed(&copy.deps, &model.deps)
        && renamed(&copy.ordered_after, &model.ordered_after)
}
