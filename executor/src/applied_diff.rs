//! `cairn diff --applied LOCK`: what applying a lockfile would change on each host, compared
//! with what the host has applied, as its state entries record it.
//!
//! Design notes:
//! - A pure function of the lockfile, the hosts' facts (read as `cairn plan` reads them, in
//!   one round trip per host) and the [`Selection`], so it needs no previous lockfile: the
//!   hosts are the record of what was applied.
//! - A host records per applied node its id and its inputs id (the id without dependencies),
//!   not its inputs. So a changed node is known to have changed *itself* (its inputs ids
//!   differ) or only because nodes under it did, but not which field changed: that takes
//!   the lockfile it was applied from, and `cairn diff OLD LOCK`.
//! - Root causes as in the two-lockfile diff, in one pass over LOCK in dependency order: a
//!   changed node's root causes are, over its dependencies, the dependency itself when it
//!   changed itself (or the host lacks it), else the dependency's own root causes.
//! - Some dependencies are recorded nowhere: checks (they run on every apply), images
//!   (built on the machine running cairn) and the nodes of hosts not read (outside
//!   `--limit`, unreachable). Ids are a Merkle DAG, so such a dependency is known unchanged
//!   when any node depending on it is recorded with LOCK's id. A changed node that no
//!   recorded dependency explains changed because of one of its unrecorded dependencies not
//!   known unchanged, named as candidates; with none left, the set of nodes it depends on
//!   changed, which is a change of itself.
//! - The blast radius follows the executor's rules, as the two-lockfile diff's does
//!   ([`HostImpact`]): a changed container is replaced, a changed running service
//!   restarted, an orphan removed.
//! - A file node the host has, changed or not, whose file no longer has the sha256 the host
//!   recorded has drifted (edited or removed by hand): the same facts the planner reads.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use cairn_lockfiles::{HostImpact, Lockfile, Node, NodeId, NodeKind, NodeName, NodeSpec};

use crate::apply::{ApplyOptions, read_facts};
use crate::facts::HostFacts;
use crate::facts_error::{FactsError, HostsFacts};
use crate::kinds::unsupported_reason;
use crate::selection::Selection;
use crate::state::StateEntry;

/// What applying a lockfile would change on each host it reads. Every list is sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedDiff {
    /// Every host of the lockfile within `--limit`, by name.
    pub hosts: BTreeMap<String, HostAppliedDiff>,
}

impl AppliedDiff {
    /// Whether every host read has exactly what the lockfile holds (a host that could not
    /// be read is not known to).
    pub fn is_empty(&self) -> bool {
        self.hosts.values().all(HostAppliedDiff::is_empty)
    }

    /// The hosts whose state could not be read, with why.
    pub fn unreachable(&self) -> impl Iterator<Item = (&str, &FactsError)> {
        self.hosts.iter().filter_map(|(host, diff)| {
            diff.unreachable
                .as_ref()
                .map(|problem| (host.as_str(), problem))
        })
    }

    /// Every changed node of every host.
    pub fn changed(&self) -> impl Iterator<Item = &AppliedChange> {
        self.hosts.values().flat_map(|host| &host.changed)
    }
}

/// One host: LOCK against the host's state entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAppliedDiff {
    /// Why the host's state could not be read; nothing else is known of it.
    pub unreachable: Option<FactsError>,
    /// LOCK's nodes the host has not applied. Checks are left out: no host records them.
    pub added: Vec<NodeName>,
    /// Nodes the host has applied that LOCK no longer holds: apply removes them (orphans).
    pub removed: Vec<NodeName>,
    /// Nodes the host has applied with another id than LOCK's.
    pub changed: Vec<AppliedChange>,
    /// Nodes the host has with LOCK's id, whose file no longer is what was applied.
    pub drifted: Vec<(NodeName, FileDrift)>,
    /// LOCK's nodes this host cannot apply (a sandbox's packages and services, and what
    /// needs them): not compared.
    pub cannot_apply: Vec<NodeName>,
    /// What applying LOCK replaces, starts, restarts, stops and removes on the host.
    pub impact: HostImpact,
}

impl HostAppliedDiff {
    pub fn is_empty(&self) -> bool {
        self.unreachable.is_none()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.drifted.is_empty()
    }
}

/// A node the host has applied with another id than LOCK's, and why it differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedChange {
    pub name: NodeName,
    /// The ids the host recorded, and LOCK's.
    pub applied_id: NodeId,
    pub new_id: NodeId,
    /// The ids of the node's own inputs, dependencies left out: equal when only
    /// dependencies changed. Two changed nodes with the same pair changed in the same way
    /// (one template change on every host).
    pub applied_inputs_id: NodeId,
    pub new_inputs_id: NodeId,
    pub cause: ChangeCause,
    /// For a file node: whether the file on the host no longer has what was applied (a
    /// hand edit that applying LOCK overwrites).
    pub drift: Option<FileDrift>,
}

impl AppliedChange {
    /// Whether the node changed in itself (its inputs, or the nodes it depends on), rather
    /// than only because nodes under it did.
    pub fn changed_itself(&self) -> bool {
        matches!(
            self.cause,
            ChangeCause::InputsChanged | ChangeCause::DependenciesChanged
        )
    }

    /// The nodes under it its change comes from, if it changed only because of them.
    pub fn root_causes(&self) -> &[NodeName] {
        match &self.cause {
            ChangeCause::DependencyChanged { root_causes } => root_causes,
            ChangeCause::UnrecordedDependencyChanged { candidates } => candidates,
            ChangeCause::InputsChanged | ChangeCause::DependenciesChanged => &[],
        }
    }
}

/// Why a node's id differs from the one its host recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeCause {
    /// Its own inputs (a field, a secret it uses) differ from those applied.
    InputsChanged,
    /// Its inputs are as applied and none of the nodes it depends on changed: it depends on
    /// other nodes than it did.
    DependenciesChanged,
    /// Only nodes under it changed: the nearest that changed themselves, or that the host
    /// has not applied.
    DependencyChanged { root_causes: Vec<NodeName> },
    /// Only nodes under it changed, among those no host records (checks, images, nodes of
    /// hosts not read): at least one of these candidates.
    UnrecordedDependencyChanged { candidates: Vec<NodeName> },
}

/// How a file on a host differs from what the host recorded writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileDrift {
    Missing,
    ContentChanged,
}

impl fmt::Display for FileDrift {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            FileDrift::Missing => "the file is missing",
            FileDrift::ContentChanged => "the file's content changed since it was applied",
        })
    }
}

/// Reads every host within the selection (in parallel, touching nothing) and compares.
pub fn diff_applied(lockfile: &Lockfile, options: &ApplyOptions) -> AppliedDiff {
    compare(lockfile, &read_facts(lockfile, options), &options.selection)
}

/// Where a node of LOCK stands against its host's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// No host records it: a check, an image, a node of a host not read.
    Unrecorded,
    /// Its host cannot apply it (or something it needs).
    CannotApply,
    /// The host has it, with LOCK's id.
    Same,
    /// The host has not applied it.
    Added,
    /// The host has it with another id: the index of its change.
    Changed(usize),
}

/// What the hosts record, as far as the comparison looks.
#[derive(Clone, Copy)]
struct Records<'a> {
    facts: &'a HostsFacts,
    selection: &'a Selection,
}

impl<'a> Records<'a> {
    /// `None`: no host record is looked at for this node (a check, a node of a host not
    /// read or outside the selection); else the host's entry for it, if any.
    fn entry_of(&self, name: &NodeName) -> Option<Option<&'a StateEntry>> {
        let host = name.host()?;
        // Checks and barriers are never recorded: no entry says anything of them.
        if matches!(name.kind, NodeKind::Check | NodeKind::Barrier)
            || !self.selection.includes_host(host)
        {
            return None;
        }
        let host_facts = self.facts.get(host)?.as_ref().ok()?;
        Some(host_facts.entries.get(name))
    }
}

/// Where every node stands, and the changed ones (in dependency order) with the entry
/// each host recorded.
struct Standing<'a> {
    status: HashMap<&'a NodeName, Status>,
    changed: Vec<(&'a Node, &'a StateEntry)>,
}

/// Compares `lockfile` with the state each host recorded (`Err`: the host could not be
/// read). Hosts outside `selection` are left out, and so are nodes of its skipped kinds.
pub(crate) fn compare(
    lockfile: &Lockfile,
    facts: &HostsFacts,
    selection: &Selection,
) -> AppliedDiff {
    let records = Records { facts, selection };
    let mut diff = empty_diff(lockfile, facts);
    let standing = standing(lockfile, records);
    let changes = change_causes(lockfile, &standing);
    sort_into_hosts(lockfile, &standing, changes, records, &mut diff);
    for (host, host_diff) in &mut diff.hosts {
        let Some(Ok(host_facts)) = facts.get(host) else {
            continue;
        };
        for name in host_facts.applied().map(|entry| &entry.name) {
            if lockfile.node(name).is_none() && selection.includes(name) {
                host_diff.removed.push(name.clone());
                host_diff.impact.record_orphan(name);
            }
        }
        host_diff.impact.services_stopped.sort();
    }
    diff
}

/// A host diff for every host of the lockfile that was looked at, with why it could not
/// be read where it could not.
fn empty_diff(lockfile: &Lockfile, facts: &HostsFacts) -> AppliedDiff {
    let mut diff = AppliedDiff::default();
    for (host, host_facts) in facts {
        if host == cairn_lockfiles::Scope::CLUSTER_NAME || !lockfile.hosts.contains_key(host) {
            continue;
        }
        diff.hosts.insert(
            host.clone(),
            HostAppliedDiff {
                unreachable: host_facts.as_ref().err().cloned(),
                ..HostAppliedDiff::default()
            },
        );
    }
    diff
}

/// Where each node stands, dependencies first: what cannot be applied spreads upwards.
fn standing<'a>(lockfile: &'a Lockfile, records: Records<'a>) -> Standing<'a> {
    let mut status: HashMap<&NodeName, Status> = HashMap::with_capacity(lockfile.nodes().len());
    let mut changed: Vec<(&Node, &StateEntry)> = Vec::new();
    for node in lockfile.in_dependency_order() {
        let host_entry = node.name.host().and_then(|host| lockfile.hosts.get(host));
        let blocked = unsupported_reason(&node.spec, host_entry).is_some()
            || node
                .deps
                .iter()
                .any(|dependency| status[&*dependency] == Status::CannotApply);
        let node_status = match records.entry_of(&node.name) {
            _ if blocked => Status::CannotApply,
            None => Status::Unrecorded,
            Some(None) => Status::Added,
            Some(Some(entry)) if entry.id == node.id => Status::Same,
            Some(Some(entry)) => {
                changed.push((node, entry));
                Status::Changed(changed.len() - 1)
            }
        };
        status.insert(&node.name, node_status);
    }
    Standing { status, changed }
}

/// Why each changed node changed, dependencies first (`standing.changed` is in
/// dependency order, so a dependency's cause is known before its dependants').
fn change_causes(lockfile: &Lockfile, standing: &Standing<'_>) -> Vec<AppliedChange> {
    // A node recorded with LOCK's id was applied over exactly LOCK's dependencies.
    let known_unchanged: HashSet<&NodeName> = lockfile
        .nodes()
        .iter()
        .filter(|node| standing.status[&node.name] == Status::Same)
        .flat_map(|node| &node.deps)
        // The name as `status` holds it, borrowed for as long as the lockfile.
        .filter_map(|dependency| standing.status.get_key_value(&*dependency))
        .map(|(&dependency, _)| dependency)
        .collect();
    let mut changes: Vec<AppliedChange> = Vec::with_capacity(standing.changed.len());
    for (node, entry) in &standing.changed {
        let new_inputs_id = lockfile.inputs_id(node);
        let cause = if entry.inputs_id != new_inputs_id {
            ChangeCause::InputsChanged
        } else {
            inherited_cause(node, &standing.status, &changes, &known_unchanged)
        };
        changes.push(AppliedChange {
            name: node.name.clone(),
            applied_id: entry.id,
            new_id: node.id,
            applied_inputs_id: entry.inputs_id,
            new_inputs_id,
            cause,
            drift: None,
        });
    }
    changes
}

/// The cause of a node whose own inputs are the same: the dependencies that changed (or
/// their root causes). What the hosts record explains the change; what they do not is
/// named only where nothing recorded does.
fn inherited_cause(
    node: &Node,
    status: &HashMap<&NodeName, Status>,
    changes: &[AppliedChange],
    known_unchanged: &HashSet<&NodeName>,
) -> ChangeCause {
    let mut root_causes: BTreeSet<&NodeName> = BTreeSet::new();
    let mut candidates: BTreeSet<&NodeName> = BTreeSet::new();
    for dependency in &node.deps {
        // The name as `status` holds it, borrowed for as long as the lockfile.
        let (&dependency, &dependency_status) = status
            .get_key_value(&*dependency)
            .expect("every dependency comes first");
        match dependency_status {
            Status::Same | Status::CannotApply => {}
            Status::Added => {
                root_causes.insert(dependency);
            }
            Status::Unrecorded => {
                if !known_unchanged.contains(dependency) {
                    candidates.insert(dependency);
                }
            }
            Status::Changed(index) => match &changes[index].cause {
                ChangeCause::InputsChanged | ChangeCause::DependenciesChanged => {
                    root_causes.insert(dependency);
                }
                ChangeCause::DependencyChanged {
                    root_causes: inherited,
                } => root_causes.extend(inherited),
                ChangeCause::UnrecordedDependencyChanged {
                    candidates: inherited,
                } => candidates.extend(inherited),
            },
        }
    }
    let owned = |names: BTreeSet<&NodeName>| names.into_iter().cloned().collect();
    if !root_causes.is_empty() {
        ChangeCause::DependencyChanged {
            root_causes: owned(root_causes),
        }
    } else if !candidates.is_empty() {
        ChangeCause::UnrecordedDependencyChanged {
            candidates: owned(candidates),
        }
    } else {
        ChangeCause::DependenciesChanged
    }
}

/// Puts every node of the selection in its host's diff, in name order: cannot apply,
/// added, drifted (recorded with LOCK's id, its file changed since) or changed.
fn sort_into_hosts(
    lockfile: &Lockfile,
    standing: &Standing<'_>,
    changes: Vec<AppliedChange>,
    records: Records<'_>,
    diff: &mut AppliedDiff,
) {
    let mut changes: Vec<Option<AppliedChange>> = changes.into_iter().map(Some).collect();
    for node in lockfile.nodes() {
        let Some(host) = node.name.host() else {
            continue;
        };
        let Some(host_diff) = diff.hosts.get_mut(host) else {
            continue;
        };
        if !records.selection.includes(&node.name) {
            continue;
        }
        let drift = || file_drift(node, records.facts.get(host), records.entry_of(&node.name));
        match standing.status[&node.name] {
            Status::Unrecorded => {}
            Status::CannotApply => host_diff.cannot_apply.push(node.name.clone()),
            Status::Added => {
                host_diff.added.push(node.name.clone());
                host_diff.impact.record_added(node);
            }
            Status::Same => {
                if let Some(drift) = drift() {
                    host_diff.drifted.push((node.name.clone(), drift));
                }
            }
            Status::Changed(index) => {
                let mut change = changes[index].take().expect("each change is taken once");
                change.drift = drift();
                host_diff.impact.record_changed(node);
                host_diff.changed.push(change);
            }
        }
    }
}

/// A file node's drift: its file on the host gone, or other than the host recorded writing.
fn file_drift(
    node: &Node,
    facts: Option<&Result<HostFacts, FactsError>>,
    entry: Option<Option<&StateEntry>>,
) -> Option<FileDrift> {
    let (NodeSpec::File(file), Some(Ok(facts)), Some(Some(entry))) = (&*node.spec, facts, entry)
    else {
        return None;
    };
    match facts.file_hashes.get(&file.path)? {
        None => Some(FileDrift::Missing),
        Some(actual) if Some(actual) != entry.sha256.as_ref() => Some(FileDrift::ContentChanged),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use cairn_lockfiles::{Text, Value};

    use super::*;
    use crate::test_lockfiles;

    /// A host running a container of a cluster-wide image with a config, a service reading
    /// the config, and a command after the container; a check before everything.
    fn lockfile(image_base: &str, config: &str, with_container: bool) -> Lockfile {
        let node = test_lockfiles::node;
        let mut nodes = vec![
            node(
                "cluster:image:app",
                &[],
                vec![("name", "app".into()), ("base", image_base.into())],
            ),
            node(
                "h1:check:port",
                &[],
                vec![
                    ("name", "port".into()),
                    ("probe", "port_free".into()),
                    ("port", Value::Integer(80)),
                ],
            ),
            node(
                "h1:file:/etc/app.conf",
                &["h1:check:port"],
                vec![
                    ("path", "/etc/app.conf".into()),
                    ("content", Value::Text(Text::new(config))),
                ],
            ),
            node(
                "h1:service:app.service",
                &["h1:file:/etc/app.conf"],
                vec![("unit", "app.service".into())],
            ),
        ];
        if with_container {
            nodes.push(node(
                "h1:container:app",
                &[
                    "cluster:image:app",
                    "h1:check:port",
                    "h1:file:/etc/app.conf",
                ],
                vec![("name", "app".into()), ("image", "app".into())],
            ));
            nodes.push(node(
                "h1:command:register",
                &["h1:container:app"],
                vec![("name", "register".into()), ("run", "true".into())],
            ));
        }
        test_lockfiles::lockfile(&[("h1", &["app"])], nodes)
    }

    /// The facts of a host that applied `applied` whole, its files as written.
    fn facts_after_applying(applied: &Lockfile) -> HostsFacts {
        let mut facts = HostFacts::default();
        for node in applied.nodes_of(&cairn_lockfiles::Scope::Host("h1".into())) {
            let sha256 = match &*node.spec {
                NodeSpec::File(file) => {
                    let hash = format!("sha256 of {}", file.content.hash());
                    facts
                        .file_hashes
                        .insert(file.path.clone(), Some(hash.clone()));
                    Some(hash)
                }
                _ => None,
            };
            if matches!(node.name.kind, NodeKind::Check | NodeKind::Barrier) {
                continue;
            }
            let entry = StateEntry {
                name: node.name.clone(),
                id: node.id,
                inputs_id: applied.inputs_id(node),
                path: None,
                sha256,
                installed: Vec::new(),
                contents: None,
            };
            facts.entries.insert(node.name.clone(), entry);
        }
        BTreeMap::from([("h1".to_string(), Ok(facts))])
    }

    fn names(names: &[&str]) -> Vec<NodeName> {
        names.iter().map(|name| name.parse().unwrap()).collect()
    }

    fn cause_of<'a>(diff: &'a AppliedDiff, name: &str) -> &'a ChangeCause {
        &diff.hosts["h1"]
            .changed
            .iter()
            .find(|change| change.name.to_string() == name)
            .unwrap_or_else(|| panic!("{name} did not change"))
            .cause
    }

    #[test]
    fn a_new_image_replaces_its_container_and_is_named_its_cause_though_no_host_records_it() {
        let applied = lockfile("debian:12", "a\n", true);
        let new = lockfile("debian:13", "a\n", true);
        let diff = compare(&new, &facts_after_applying(&applied), &Selection::default());

        // The check is unrecorded too, but the unchanged config depends on it: it is as
        // applied. The image is all that is left.
        let image = ChangeCause::UnrecordedDependencyChanged {
            candidates: names(&["cluster:image:app"]),
        };
        assert_eq!(cause_of(&diff, "h1:container:app"), &image);
        assert_eq!(cause_of(&diff, "h1:command:register"), &image);
        assert_eq!(diff.hosts["h1"].changed.len(), 2);
        assert_eq!(diff.hosts["h1"].impact.containers_replaced, ["app"]);
        assert!(diff.hosts["h1"].impact.services_restarted.is_empty());
    }

    #[test]
    fn a_changed_config_is_the_root_cause_of_the_container_and_service_that_read_it() {
        let applied = lockfile("debian:12", "a\n", true);
        let new = lockfile("debian:12", "b\n", true);
        let diff = compare(&new, &facts_after_applying(&applied), &Selection::default());

        assert_eq!(
            cause_of(&diff, "h1:file:/etc/app.conf"),
            &ChangeCause::InputsChanged
        );
        let config = ChangeCause::DependencyChanged {
            root_causes: names(&["h1:file:/etc/app.conf"]),
        };
        for dependant in [
            "h1:container:app",
            "h1:service:app.service",
            "h1:command:register",
        ] {
            assert_eq!(cause_of(&diff, dependant), &config, "{dependant}");
        }
        let impact = &diff.hosts["h1"].impact;
        assert_eq!(impact.containers_replaced, ["app"]);
        assert_eq!(impact.services_restarted, ["app.service"]);
    }

    #[test]
    fn a_container_no_longer_in_the_lockfile_is_removed_and_a_new_one_started() {
        let with_container = lockfile("debian:12", "a\n", true);
        let without = lockfile("debian:12", "a\n", false);

        let diff = compare(
            &without,
            &facts_after_applying(&with_container),
            &Selection::default(),
        );
        let host = &diff.hosts["h1"];
        assert_eq!(
            host.removed,
            names(&["h1:command:register", "h1:container:app"])
        );
        assert_eq!(host.impact.containers_removed, ["app"]);
        assert_eq!(host.impact.removed, host.removed);

        let diff = compare(
            &with_container,
            &facts_after_applying(&without),
            &Selection::default(),
        );
        let host = &diff.hosts["h1"];
        assert_eq!(
            host.added,
            names(&["h1:command:register", "h1:container:app"])
        );
        assert_eq!(host.impact.containers_started, ["app"]);
    }

    #[test]
    fn a_sandbox_host_s_services_are_not_compared_and_so_not_added() {
        let mut applied = lockfile("debian:12", "a\n", false);
        applied.hosts.get_mut("h1").unwrap().root = Some("/srv/h1".into());
        let mut facts = facts_after_applying(&applied);
        if let Some(Ok(facts)) = facts.get_mut("h1") {
            facts
                .entries
                .retain(|name, _| name.kind != NodeKind::Service);
        }
        let diff = compare(&applied, &facts, &Selection::default());
        assert!(diff.is_empty(), "{diff:?}");
        assert_eq!(
            diff.hosts["h1"].cannot_apply,
            names(&["h1:service:app.service"])
        );
    }
}
