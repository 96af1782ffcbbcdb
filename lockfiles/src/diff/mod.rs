//! What a new lockfile changes over an old one, and why: `cairn diff`.
//!
//! Design notes:
//! - Nodes are matched by name. Both lockfiles hold their nodes sorted by name, so added,
//!   removed and changed nodes come from one merge of the two lists, comparing ids: a node
//!   whose id is equal is equal (ids are verified on reading), and only nodes whose ids
//!   differ are looked into.
//! - A changed node either changed itself (its inputs id, the id without dependencies,
//!   differs, or it depends on other nodes) or changed only because nodes under it did. Its
//!   *root causes* are the nearest changed nodes under it that changed themselves, found in
//!   one pass in dependency order: a node that changed itself is its own root cause for its
//!   dependants; a node that did not passes its dependencies' root causes on. A report names
//!   each root cause once, with its diff, and lists what changed because of it compactly.
//! - What a node is only ordered after (`ordered_after`) is in no id: a change of it is
//!   compared on every node in both, and listed apart (`OrderChange`), replacing nothing.
//! - Texts are diffed by line (`similar`), once per pair of texts however many nodes share
//!   the change. Secrets are named, never shown: no value is in a lockfile, and a
//!   fingerprint means nothing to a reader.
//! - Nothing here reads a spec or a host: the comparison is of two [`Lockfile`] values.

mod blast_radius;
mod changed_node;
mod host_change;
mod input_change;
mod order_change;
mod package_change;
mod rollout_change;
mod secret_change;
mod text_change;

use std::collections::{BTreeMap, BTreeSet};

pub use blast_radius::HostImpact;
pub use changed_node::ChangedNode;
pub use host_change::{FieldChange, HostChange};
pub use input_change::{FileChange, FileChangeKind, InputChange, InputDifference};
pub use order_change::OrderChange;
pub use package_change::PackageChange;
pub use rollout_change::{ReplicaRollout, RolloutChange};
pub use secret_change::SecretChange;
pub use text_change::TextChange;

use crate::lockfile::Lockfile;
use crate::name_list::{NameList, Seen, seen, seen_order};
use crate::node::Node;
use crate::node_name::NodeName;
use crate::sorted_walk::{Paired, sorted_walk};
use text_change::TextDiffCache;

/// Everything that differs between two lockfiles. Every list is sorted (nodes by name,
/// hosts and secrets by name), so the same pair gives the same report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockfileDiff {
    /// The cluster's name and domain.
    pub cluster: Vec<FieldChange>,
    pub hosts: Vec<HostChange>,
    pub secrets: Vec<SecretChange>,
    pub added: Vec<NodeName>,
    pub removed: Vec<NodeName>,
    pub changed: Vec<ChangedNode>,
    /// Per host with any: what applying NEW over OLD replaces, restarts and removes.
    pub impact: BTreeMap<String, HostImpact>,
    /// The rollout policies NEW changes (no container is replaced for that).
    pub rollout_changes: Vec<RolloutChange>,
    /// The nodes in both whose `ordered_after` NEW changes (in no id: nothing is replaced
    /// for that), sorted by name.
    pub order_changes: Vec<OrderChange>,
    /// Per container NEW replaces somewhere: its hosts and the policy they follow.
    pub rollouts: Vec<ReplicaRollout>,
}

impl LockfileDiff {
    /// Compares `old` with `new`, node by node.
    pub fn between(old: &Lockfile, new: &Lockfile) -> Self {
        Self::between_in_parts(old, new, CHANGES_A_THREAD)
    }

    /// [`LockfileDiff::between`], its changed nodes described on as many threads as have
    /// `changes_a_thread` each (see [`describe_changes`]).
    fn between_in_parts(old: &Lockfile, new: &Lockfile, changes_a_thread: usize) -> Self {
        let mut diff = Self {
            cluster: host_change::cluster_changes(&old.cluster, &new.cluster),
            hosts: host_change::host_changes(&old.hosts, &new.hosts),
            secrets: secret_change::secret_changes(&old.secrets, &new.secrets),
            rollout_changes: rollout_change::rollout_changes(old, new),
            ..Self::default()
        };
        // Each changed node before and after.
        let mut changed_pairs: Vec<(&Node, &Node)> = Vec::new();
        let mut impacts = HostImpacts::default();
        let by_name = |before: &&Node, after: &&Node| before.name.cmp(&after.name);
        for pair in sorted_walk(old.nodes().iter(), new.nodes().iter(), by_name) {
            match pair {
                Paired::Left(before) => {
                    diff.removed.push(before.name.clone());
                    if let Some(host) = before.name.host() {
                        impacts.of(host).record_removed(before);
                    }
                }
                Paired::Right(after) => {
                    diff.added.push(after.name.clone());
                    if let Some(host) = after.name.host() {
                        impacts.of(host).record_added(after);
                    }
                }
                Paired::Both(before, after) => {
                    diff.order_changes
                        .extend(order_change::order_change(before, after));
                    if before.id != after.id {
                        changed_pairs.push((before, after));
                        if let Some(host) = after.name.host() {
                            impacts.of(host).record_changed(after);
                        }
                    }
                }
            }
        }
        diff.impact = impacts.into_map();
        let (mut changed, changed_dependencies) =
            describe_changes(old, new, &changed_pairs, changes_a_thread);
        assign_root_causes(&mut changed, &changed_dependencies);
        diff.changed = changed;
        for impact in diff.impact.values_mut() {
            impact.services_stopped.sort();
        }
        diff.rollouts = rollout_change::replica_rollouts(&diff.impact, new);
        diff
    }

    /// Whether the two lockfiles install the same thing on the same hosts.
    pub fn is_empty(&self) -> bool {
        self.cluster.is_empty()
            && self.hosts.is_empty()
            && self.secrets.is_empty()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.rollout_changes.is_empty()
            && self.order_changes.is_empty()
    }
}

/// Each host's impact, gathered as the walk of both lockfiles' nodes (sorted by name, so
/// one host's after another's) meets them: the host last met is the one looked for, where
/// a map would be searched by name for each of 40,000 changed nodes.
#[derive(Default)]
struct HostImpacts {
    /// By host, in the order met (sorted); the last is the host being walked.
    met: Vec<(String, HostImpact)>,
}

impl HostImpacts {
    fn of(&mut self, host: &str) -> &mut HostImpact {
        if self.met.last().is_none_or(|(last, _)| last != host) {
            // A host met twice would be two entries, the first lost in the map.
            assert!(
                self.met.last().is_none_or(|(last, _)| last.as_str() < host),
                "a lockfile's nodes are sorted by name, their hosts with them"
            );
            self.met.push((host.to_string(), HostImpact::default()));
        }
        &mut self.met.last_mut().expect("a host met").1
    }

    fn into_map(self) -> BTreeMap<String, HostImpact> {
        self.met.into_iter().collect()
    }
}

/// The fewest changed nodes a thread of [`describe_changes`] is started for.
const CHANGES_A_THREAD: usize = 4096;

/// Each changed pair described, in order, with its changed dependencies (indices into
/// `pairs`, which is sorted by name: sorting indices sorts names), on as many threads as
/// have `changes_a_thread` each (up to the machine's cores): a setting read on every host
/// of 10,000 changes 40,000 nodes, and describing them on one core took a fifth of the
/// diff while the other idled. Each thread has its own text diffs: a pair of texts two
/// threads meet is diffed twice, to the same result.
fn describe_changes(
    old: &Lockfile,
    new: &Lockfile,
    pairs: &[(&Node, &Node)],
    changes_a_thread: usize,
) -> (Vec<ChangedNode>, Vec<Vec<usize>>) {
    // With the same secrets, the same spec has the same inputs id on both sides.
    let secrets_alike = old.secrets == new.secrets;
    // foldhash: a node name is hashed once per dependency of every changed node, and
    // SipHash made that half of the comparison of 30,000 changed nodes. Keyed by the name
    // as seen, so that a copy's dependency is found without being made.
    let changed_at: foldhash::HashMap<Seen<'_>, usize> = pairs
        .iter()
        .enumerate()
        .map(|(index, (_, after))| (seen(&after.name), index))
        .collect();
    let describe = |part: &[(&Node, &Node)]| -> (Vec<ChangedNode>, Vec<Vec<usize>>) {
        let mut texts = TextDiffCache::default();
        part.iter()
            .map(|&(before, after)| {
                let changed_dependencies = after
                    .deps
                    .seen()
                    .filter_map(|dependency| changed_at.get(&dependency).copied())
                    .collect();
                let described =
                    describe_change((old, before), (new, after), secrets_alike, &mut texts);
                (described, changed_dependencies)
            })
            .unzip()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(pairs.len() / changes_a_thread)
        .max(1);
    if threads == 1 {
        return describe(pairs);
    }
    let mut parts = pairs.chunks(pairs.len().div_ceil(threads));
    let here = parts.next().expect("at least one change a thread");
    std::thread::scope(|scope| {
        let spawned: Vec<_> = parts
            .map(|part| scope.spawn(move || describe(part)))
            .collect();
        let (mut described, mut dependencies) = describe(here);
        for thread in spawned {
            let (more, more_dependencies) =
                thread.join().expect("describing a change does not panic");
            described.extend(more);
            dependencies.extend(more_dependencies);
        }
        (described, dependencies)
    })
}

/// A node in both, whose id changed: `secrets_alike` where both lockfiles have the same
/// secrets.
fn describe_change(
    (old, before): (&Lockfile, &Node),
    (new, after): (&Lockfile, &Node),
    secrets_alike: bool,
    texts: &mut TextDiffCache,
) -> ChangedNode {
    // Most changed nodes changed through their dependencies alone: their spec is the same,
    // and so is its inputs id, hashed once (a host's own nodes, unlike its copies of its
    // model's, share no id already hashed).
    let (old_inputs_id, new_inputs_id) = if secrets_alike && before.spec == after.spec {
        let inputs_id = new.inputs_id(after);
        (inputs_id, inputs_id)
    } else {
        (old.inputs_id(before), new.inputs_id(after))
    };
    let (inputs, rotated_secrets) = if old_inputs_id == new_inputs_id {
        (Vec::new(), Vec::new())
    } else {
        let inputs = input_change::input_changes(before.spec.inputs(), after.spec.inputs(), texts);
        // A secret both use, whose fingerprint changed: the same inputs, another value. A
        // secret is used by a field (a container's environment) or by a placeholder in a
        // text (a config file), whose fingerprints are both in the inputs id.
        let used_before = before.spec.secrets();
        let rotated = after
            .spec
            .secrets()
            .into_iter()
            .filter(|secret| {
                used_before.contains(secret)
                    && old.secrets.get(secret).map(|entry| &entry.fingerprint)
                        != new.secrets.get(secret).map(|entry| &entry.fingerprint)
            })
            .collect();
        (inputs, rotated)
    };
    let (dependencies_added, dependencies_removed) = differences(&before.deps, &after.deps);
    ChangedNode {
        name: after.name.clone(),
        old_id: before.id,
        new_id: after.id,
        old_inputs_id,
        new_inputs_id,
        inputs,
        rotated_secrets,
        dependencies_added,
        dependencies_removed,
        root_causes: Vec::new(),
    }
}

/// What `new` names that `old` does not, and what `old` names that `new` does not: both
/// sorted and without duplicates (a node's lists), walked side by side. The names are
/// compared as seen and made only where they differ: a copy's are made as they are read.
fn differences(old: &NameList, new: &NameList) -> (Vec<NodeName>, Vec<NodeName>) {
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let named = |(scope, kind, key): Seen<'_>| NodeName::new(scope.clone(), kind, key.clone());
    for pair in sorted_walk(old.seen(), new.seen(), seen_order) {
        match pair {
            Paired::Left(before) => removed.push(named(before)),
            Paired::Right(after) => added.push(named(after)),
            Paired::Both(..) => {}
        }
    }
    (added, removed)
}

/// Each changed node's root causes: the union, over its changed dependencies (by index,
/// `changed_dependencies`), of the dependency itself when it changed itself, else of the
/// dependency's own root causes.
///
/// Found depth first from each changed node through its changed dependencies (NEW has no
/// cycle), so that only the changed nodes are visited: a walk of all of NEW in dependency
/// order read half a million positions to find 40,000.
fn assign_root_causes(changed: &mut [ChangedNode], changed_dependencies: &[Vec<usize>]) {
    let mut causes: Vec<Option<BTreeSet<usize>>> = vec![None; changed.len()];
    // The nodes being resolved, each with how many of its dependencies were looked at.
    let mut resolving: Vec<(usize, usize)> = Vec::new();
    for start in 0..changed.len() {
        if causes[start].is_none() {
            resolving.push((start, 0));
        }
        while let Some((index, looked_at)) = resolving.last_mut() {
            let dependencies = &changed_dependencies[*index];
            // The next dependency that changed only through its own, and is not resolved.
            let waiting = dependencies[*looked_at..].iter().position(|&dependency| {
                !changed[dependency].changed_itself() && causes[dependency].is_none()
            });
            if let Some(offset) = waiting {
                let dependency = dependencies[*looked_at + offset];
                *looked_at += offset + 1;
                debug_assert!(
                    resolving.iter().all(|&(open, _)| open != dependency),
                    "NEW has no cycle"
                );
                resolving.push((dependency, 0));
                continue;
            }
            let mut found = BTreeSet::new();
            for &dependency in dependencies {
                if changed[dependency].changed_itself() {
                    found.insert(dependency);
                } else if let Some(inherited) = &causes[dependency] {
                    found.extend(inherited.iter().copied());
                }
            }
            causes[*index] = Some(found);
            resolving.pop();
        }
    }
    let names: Vec<NodeName> = changed.iter().map(|node| node.name.clone()).collect();
    for (node, found) in changed.iter_mut().zip(causes) {
        node.root_causes = found
            .unwrap_or_default()
            .into_iter()
            .map(|index| names[index].clone())
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::test_fixtures::{host, lockfile, node};

    /// Hosts `h00` to `h63`, each with a message of the day saying `release` and a
    /// command that runs after it.
    fn release(release: &str) -> Lockfile {
        let names: Vec<String> = (0..64).map(|index| format!("h{index:02}")).collect();
        let hosts = names
            .iter()
            .map(|name| (name.clone(), host("10.0.0.1", "app")))
            .collect::<BTreeMap<_, _>>();
        let nodes = names
            .iter()
            .flat_map(|name| {
                let motd = format!("{name}:file:/etc/motd");
                [
                    node(
                        &motd,
                        &[],
                        &[("content", format!("{name} runs {release}\n").into())],
                    ),
                    node(
                        &format!("{name}:command:announce"),
                        &[&motd],
                        &[("run", "wall < /etc/motd".into())],
                    ),
                ]
            })
            .collect();
        lockfile(hosts, nodes)
    }

    #[test]
    fn the_dependencies_a_copy_gains_and_loses_are_named_on_its_own_host() {
        let names = |texts: &[&str]| -> Vec<NodeName> {
            texts.iter().map(|text| text.parse().unwrap()).collect()
        };
        let model = NameList::from(names(&["agent1:check:a", "agent1:check:b"]));
        let renamed = std::sync::Arc::new(crate::name_list::HostRenamed {
            model: "agent1".into(),
            host: crate::Scope::Host("agent7".into()),
        });
        let copy = NameList::renamed(&model, &renamed);
        let written = NameList::from(names(&["agent7:check:a", "agent7:check:c"]));
        assert_eq!(
            differences(&copy, &written),
            (names(&["agent7:check:c"]), names(&["agent7:check:b"]))
        );
        assert_eq!(differences(&written, &written), (Vec::new(), Vec::new()));
    }

    /// The barrier sorts first and waits on `a`, which waits on `b`, on `c`, on the file:
    /// its root cause is found four deep, and once though it reaches the file twice.
    #[test]
    fn root_causes_are_found_through_dependants_that_sort_before_their_dependencies() {
        let side = |content: &str| {
            lockfile(
                BTreeMap::from([("h1".to_string(), host("10.0.0.1", "app"))]),
                vec![
                    node("h1:file:/etc/app.conf", &[], &[("content", content.into())]),
                    node(
                        "h1:command:c",
                        &["h1:file:/etc/app.conf"],
                        &[("run", "c".into())],
                    ),
                    node("h1:command:b", &["h1:command:c"], &[("run", "b".into())]),
                    node("h1:command:a", &["h1:command:b"], &[("run", "a".into())]),
                    node("h1:barrier:ready", &["h1:command:a", "h1:command:c"], &[]),
                ],
            )
        };
        let (old, new) = (side("1\n"), side("2\n"));
        let diff = LockfileDiff::between_in_parts(&old, &new, usize::MAX);
        assert_eq!(diff.changed.len(), 5);
        assert_eq!(diff.changed[0].name.to_string(), "h1:barrier:ready");
        let file: NodeName = "h1:file:/etc/app.conf".parse().unwrap();
        for node in &diff.changed {
            let is_file = node.name == file;
            assert_eq!(node.changed_itself(), is_file, "{}", node.name);
            if !is_file {
                assert_eq!(
                    node.root_causes,
                    std::slice::from_ref(&file),
                    "{}",
                    node.name
                );
            }
        }
        assert_eq!(LockfileDiff::between_in_parts(&old, &new, 1), diff);
    }

    #[test]
    fn changes_described_on_several_threads_are_those_described_on_one() {
        let (old, new) = (release("1.0"), release("1.1"));
        let on_one = LockfileDiff::between_in_parts(&old, &new, usize::MAX);
        assert_eq!(on_one.changed.len(), 128, "each host's file and command");
        for node in &on_one.changed {
            let is_file = node.name.kind == crate::NodeKind::File;
            assert_eq!(node.changed_itself(), is_file, "{}", node.name);
            if !is_file {
                assert_eq!(node.root_causes.len(), 1, "{}: its host's file", node.name);
            }
        }
        for changes_a_thread in [1, 5, 64] {
            assert_eq!(
                LockfileDiff::between_in_parts(&old, &new, changes_a_thread),
                on_one,
                "{changes_a_thread} changes a thread"
            );
        }
    }
}
