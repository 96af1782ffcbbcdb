//! What a diff says of rollouts: the policies that changed (which replace nothing), and for
//! each container the new lockfile replaces on some host, the hosts and the policy its
//! replacement follows.

use std::collections::BTreeMap;

use crate::diff::blast_radius::HostImpact;
use crate::lockfile::Lockfile;
use crate::rollout::RolloutPolicy;

/// A container whose rollout policy NEW changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutChange {
    pub container: String,
    pub old: RolloutPolicy,
    pub new: RolloutPolicy,
}

/// A container NEW replaces on some hosts, and how: the order is the hosts' (by name, those
/// `policy.last` names after the others, as apply finds them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaRollout {
    pub container: String,
    /// The hosts whose container is replaced, by name.
    pub hosts: Vec<String>,
    pub policy: RolloutPolicy,
}

/// The policies of containers in both lockfiles that differ.
pub(super) fn rollout_changes(old: &Lockfile, new: &Lockfile) -> Vec<RolloutChange> {
    new.rollouts()
        .iter()
        .filter_map(|(container, policy)| {
            let before = old.rollout(container)?;
            (before != policy).then(|| RolloutChange {
                container: container.clone(),
                old: before.clone(),
                new: policy.clone(),
            })
        })
        .collect()
}

/// The rollout of each container replaced on some host, by container name.
pub(super) fn replica_rollouts(
    impact: &BTreeMap<String, HostImpact>,
    new: &Lockfile,
) -> Vec<ReplicaRollout> {
    let mut hosts: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (host, host_impact) in impact {
        for container in &host_impact.containers_replaced {
            hosts.entry(container).or_default().push(host.clone());
        }
    }
    hosts
        .into_iter()
        .filter_map(|(container, hosts)| {
            Some(ReplicaRollout {
                container: container.to_string(),
                hosts,
                policy: new.rollout(container)?.clone(),
            })
        })
        .collect()
}
