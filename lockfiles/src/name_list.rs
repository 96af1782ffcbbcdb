//! A node's list of other nodes' names: what it depends on, or what it is only ordered
//! after. Sorted, without duplicates.
//!
//! A host written like another holds copies of its model's nodes (`model_copies.rs`), whose
//! lists are the model's with the model's host renamed to theirs, each name in its place.
//! Such a list shares the model's names and renames them as they are read: at 10,000 hosts
//! of the dcos-ha shape, 363,126 copies hold no list of their own, where each held its
//! names renamed (40 MB, and a tenth of the page faults of reading the lockfile).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::node_kind::NodeKind;
use crate::node_name::{NodeName, Scope, shared_cmp};

/// The names, shared where the list is a copy's (see the module's notes). Read through
/// [`NameList::iter`], which gives each name as the node holding the list sees it.
#[derive(Clone, Default)]
pub struct NameList {
    /// `None` for an empty list (most nodes are ordered after nothing): no allocation.
    names: Option<Arc<[NodeName]>>,
    /// Where the names are a model's: its host, read as this node's host.
    renamed: Option<Arc<HostRenamed>>,
}

/// The host a copy's shared names are renamed from, and the one they are renamed to: one
/// for each host written like another, shared by all its copies' lists.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HostRenamed {
    /// Ideally the `Arc` the model's names hold, so that `is_model` matches a pointer
    /// before it compares text.
    pub(crate) model: Arc<str>,
    pub(crate) host: Scope,
}

impl HostRenamed {
    /// `name` as a copy reads it: on the copy's host where it is the model's.
    fn seen<'a>(&'a self, name: &'a NodeName) -> Seen<'a> {
        let scope = if self.is_model(&name.scope) {
            &self.host
        } else {
            &name.scope
        };
        (scope, name.kind, &name.key)
    }

    /// Whether `scope` is the model's host.
    fn is_model(&self, scope: &Scope) -> bool {
        match scope {
            Scope::Host(host) => Arc::ptr_eq(host, &self.model) || **host == *self.model,
            Scope::Cluster => false,
        }
    }
}

impl NameList {
    /// A list of names already sorted and without duplicates.
    pub(crate) fn sorted(names: Vec<NodeName>) -> Self {
        debug_assert!(names.is_sorted_by(|left, right| left < right));
        Self {
            names: (!names.is_empty()).then(|| names.into()),
            renamed: None,
        }
    }

    /// `model`'s list as a copy of its node on another host sees it: each name of the
    /// model's host renamed by `renamed`. The caller has checked that every name keeps its
    /// place (no name of the copy's host is in the list).
    pub(crate) fn renamed(model: &NameList, renamed: &Arc<HostRenamed>) -> Self {
        debug_assert!(model.renames_in_place(renamed));
        Self {
            names: model.names.clone(),
            renamed: model.names.as_ref().map(|_| renamed.clone()),
        }
    }

    pub fn len(&self) -> usize {
        self.names.as_ref().map_or(0, |names| names.len())
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_none()
    }

    /// Each name, in order, as the node holding the list sees it.
    pub fn iter(&self) -> Names<'_> {
        Names {
            names: self.names.as_deref().unwrap_or_default().iter(),
            renamed: self.renamed.as_deref(),
        }
    }

    /// Each name as the node holding the list sees it, as its scope, kind and key:
    /// [`NameList::iter`] without making a renamed name.
    pub(crate) fn seen(&self) -> impl ExactSizeIterator<Item = Seen<'_>> {
        let renamed = self.renamed.as_deref();
        self.names
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(move |name| match renamed {
                Some(renamed) => renamed.seen(name),
                None => seen(name),
            })
    }

    /// Whether `name` is in the list (a scan: a node's lists are a few names).
    pub fn contains(&self, name: &NodeName) -> bool {
        self.seen().any(|listed| listed == seen(name))
    }

    pub fn to_vec(&self) -> Vec<NodeName> {
        self.iter().map(Cow::into_owned).collect()
    }

    /// Whether the list, read on `renamed.host` as a copy's (see [`NameList::renamed`]),
    /// keeps each name in its place: it is its own (a model's), names no node of the copy's
    /// host (which a renamed name could repeat), and its renamed names stay in order.
    pub(crate) fn renames_in_place(&self, renamed: &HostRenamed) -> bool {
        let Some(names) = self.own_names() else {
            return false;
        };
        let mut moved = 0;
        for name in names {
            if renamed.is_model(&name.scope) {
                moved += 1;
            } else if name.scope == renamed.host {
                return false;
            }
        }
        // The names of one host are in order among themselves: only a list with names of
        // the model and of other scopes can come out of order.
        if moved == 0 || moved == names.len() {
            return true;
        }
        names
            .windows(2)
            .all(|pair| seen_order(&renamed.seen(&pair[0]), &renamed.seen(&pair[1])).is_lt())
    }

    /// The names with the nodes of host `from` renamed to host `to` (the rest as they are),
    /// sorted: a host written like another waits on its own nodes where its model waits on
    /// the model's. A renamed name may repeat one of `to`'s: the writer compares this with
    /// a node's list as it always has, and the reader keeps each name once
    /// ([`NameList::from`]).
    pub(crate) fn with_host_renamed(&self, from: &str, to: &Scope) -> Vec<NodeName> {
        let mut renamed: Vec<NodeName> = self
            .iter()
            .map(|name| match name.host() {
                Some(host) if host == from => {
                    NodeName::new(to.clone(), name.kind, name.key.clone())
                }
                _ => name.into_owned(),
            })
            .collect();
        // Only a list of names of `from` and of other scopes can come out of order.
        if !renamed.is_sorted() {
            renamed.sort();
        }
        renamed
    }

    /// The names as held, not renamed, where the list is its own (not a copy's).
    pub(crate) fn own_names(&self) -> Option<&[NodeName]> {
        match self.renamed {
            None => Some(self.names.as_deref().unwrap_or_default()),
            Some(_) => None,
        }
    }
}

impl From<Vec<NodeName>> for NameList {
    /// Sorts the names and keeps each once.
    fn from(mut names: Vec<NodeName>) -> Self {
        names.sort();
        names.dedup();
        Self::sorted(names)
    }
}

impl<'a> IntoIterator for &'a NameList {
    type Item = Cow<'a, NodeName>;
    type IntoIter = Names<'a>;

    fn into_iter(self) -> Names<'a> {
        self.iter()
    }
}

/// Two lists are equal when they name the same nodes, shared or not.
impl PartialEq for NameList {
    fn eq(&self, other: &Self) -> bool {
        let shared = match (&self.names, &other.names) {
            (Some(left), Some(right)) => Arc::ptr_eq(left, right) && self.renamed == other.renamed,
            (None, None) => true,
            _ => false,
        };
        shared || (self.len() == other.len() && self.seen().eq(other.seen()))
    }
}

impl Eq for NameList {}

impl PartialEq<Vec<NodeName>> for NameList {
    fn eq(&self, names: &Vec<NodeName>) -> bool {
        self.len() == names.len() && self.seen().eq(names.iter().map(seen))
    }
}

impl PartialEq<NameList> for Vec<NodeName> {
    fn eq(&self, list: &NameList) -> bool {
        list == self
    }
}

impl fmt::Debug for NameList {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_list().entries(self.iter()).finish()
    }
}

/// A name as a list's holder sees it: its scope, kind and key.
pub(crate) type Seen<'a> = (&'a Scope, NodeKind, &'a Arc<str>);

/// A name's own parts, as [`NameList::seen`] gives a listed one.
pub(crate) fn seen(name: &NodeName) -> Seen<'_> {
    (&name.scope, name.kind, &name.key)
}

/// Names as seen, in [`NodeName`]'s order: scope, kind, then key (a shared key compared
/// without a look at its text).
pub(crate) fn seen_order(left: &Seen<'_>, right: &Seen<'_>) -> std::cmp::Ordering {
    (left.0, left.1)
        .cmp(&(right.0, right.1))
        .then_with(|| shared_cmp(left.2, right.2))
}

/// The names of a [`NameList`], renamed where it is a copy's.
#[derive(Debug, Clone)]
pub struct Names<'a> {
    names: std::slice::Iter<'a, NodeName>,
    renamed: Option<&'a HostRenamed>,
}

impl<'a> Names<'a> {
    fn seen(&self, name: &'a NodeName) -> Cow<'a, NodeName> {
        match self.renamed {
            Some(renamed) if renamed.is_model(&name.scope) => Cow::Owned(NodeName::new(
                renamed.host.clone(),
                name.kind,
                name.key.clone(),
            )),
            _ => Cow::Borrowed(name),
        }
    }
}

impl<'a> Iterator for Names<'a> {
    type Item = Cow<'a, NodeName>;

    fn next(&mut self) -> Option<Self::Item> {
        let name = self.names.next()?;
        Some(self.seen(name))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.names.size_hint()
    }
}

impl DoubleEndedIterator for Names<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let name = self.names.next_back()?;
        Some(self.seen(name))
    }
}

impl ExactSizeIterator for Names<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(texts: &[&str]) -> Vec<NodeName> {
        texts.iter().map(|text| text.parse().unwrap()).collect()
    }

    fn renamed_to(host: &str) -> Arc<HostRenamed> {
        Arc::new(HostRenamed {
            model: "agent1".into(),
            host: Scope::Host(host.into()),
        })
    }

    #[test]
    fn a_copys_list_reads_its_models_names_with_its_own_host() {
        let model = NameList::from(names(&[
            "cluster:image:cadvisor",
            "agent1:check:docker",
            "master1:service:zookeeper",
        ]));
        let copy = NameList::renamed(&model, &renamed_to("agent7"));
        assert_eq!(
            copy.to_vec(),
            names(&[
                "cluster:image:cadvisor",
                "agent7:check:docker",
                "master1:service:zookeeper",
            ])
        );
        assert_eq!(copy.len(), 3);
        assert!(copy.contains(&"agent7:check:docker".parse().unwrap()));
        assert!(!copy.contains(&"agent1:check:docker".parse().unwrap()));
        assert_eq!(copy.own_names(), None);
        assert_eq!(model.own_names().map(<[NodeName]>::len), Some(3));
    }

    #[test]
    fn lists_are_equal_when_they_name_the_same_nodes_shared_or_not() {
        let model = NameList::from(names(&["agent1:check:docker", "cluster:image:x"]));
        let copy = NameList::renamed(&model, &renamed_to("agent7"));
        let written = NameList::from(names(&["agent7:check:docker", "cluster:image:x"]));
        assert_eq!(copy, written);
        assert_ne!(copy, model);
        assert_ne!(copy, NameList::renamed(&model, &renamed_to("agent8")));
        assert_eq!(NameList::default(), NameList::from(Vec::new()));
        assert_eq!(format!("{copy:?}"), format!("{written:?}"));
    }

    #[test]
    fn a_list_is_sorted_and_names_each_node_once() {
        let list = NameList::from(names(&["h1:check:b", "h1:check:a", "h1:check:b"]));
        assert_eq!(list.to_vec(), names(&["h1:check:a", "h1:check:b"]));
    }
}
