//! The rollouts of an apply: for each container the plan replaces on hosts where one runs,
//! the hosts in the order their replacements start, and how many at once.
//!
//! Only replacements roll: a container node that runs where its container runs already (a
//! new image, a changed config). A first install, and a container started again where it
//! is gone, run as soon as the graph lets them. The order is the hosts' names, except that
//! hosts where the policy's `last_where` command succeeds (the ZooKeeper leader, the MySQL
//! master, the VIP's holder) come after the others: that command runs on each replaced
//! host after the facts are read, only for a container replaced on two hosts or more, and a
//! host that cannot be asked counts as last (the careful guess). So `cairn plan` shows the
//! order `cairn apply` follows. Each host's turn writes the files only its replacement reads
//! (`files_in_turn.rs`), and says so.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use cairn_lockfiles::{Lockfile, NodeKind, Probe, RolloutPolicy};

use crate::container_names::docker_name;
use crate::facts_error::HostsFacts;
use crate::files_in_turn::{files_in_turn, running_dependants};
use crate::host_paths::HostPaths;
use crate::plan::Plan;
use crate::scheduler::HostHandle;

/// How long a `last_where` command may take on one host.
const LAST_WHERE_TIMEOUT_SECONDS: u64 = 30;

/// One container's rollout in this apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutPlan {
    pub container: String,
    pub policy: RolloutPolicy,
    /// The hosts whose running container this apply replaces, in the order the
    /// replacements start.
    pub order: Vec<String>,
    /// Those of `order` that `policy.last` found: replaced after the others.
    pub last: BTreeSet<String>,
    /// How many replacements run at once: `max_parallel` of the hosts that run it.
    pub width: usize,
    /// By host, the paths of the files written in that host's turn, put back with its
    /// container (`files_in_turn.rs`); hosts with none left out.
    pub files_in_turn: BTreeMap<String, Vec<String>>,
}

impl fmt::Display for RolloutPlan {
    /// `zookeeper: master1, master3, then master2 (the ZooKeeper leader); 1 at a time,
    /// gated by health:zookeeper-ruok (healthy 5 s, within 300 s)`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first: Vec<&str> = self
            .order
            .iter()
            .filter(|host| !self.last.contains(*host))
            .map(String::as_str)
            .collect();
        let last: Vec<&str> = self
            .order
            .iter()
            .filter(|host| self.last.contains(*host))
            .map(String::as_str)
            .collect();
        write!(formatter, "{}: {}", self.container, first.join(", "))?;
        if let (false, Some(policy_last)) = (last.is_empty(), &self.policy.last) {
            let joiner = if first.is_empty() { "" } else { ", then " };
            write!(
                formatter,
                "{joiner}{} ({})",
                last.join(", "),
                policy_last.are
            )?;
        }
        write!(
            formatter,
            "; {} at a time, {}",
            self.width,
            self.policy.gating()
        )?;
        self.fmt_files_in_turn(formatter)
    }
}

impl RolloutPlan {
    /// `; writes /srv/web/index.html in each host's turn`, or where the hosts differ,
    /// `; writes in its turn: master1 /a, /b; master2 /a`.
    fn fmt_files_in_turn(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lists = self.files_in_turn.values();
        let Some(first) = lists.next() else {
            return Ok(());
        };
        let everywhere = self.files_in_turn.len() == self.order.len();
        if everywhere && lists.all(|files| files == first) {
            return write!(
                formatter,
                "; writes {} in each host's turn",
                first.join(", ")
            );
        }
        let hosts: Vec<String> = self
            .files_in_turn
            .iter()
            .map(|(host, files)| format!("{host} {}", files.join(", ")))
            .collect();
        write!(formatter, "; writes in its turn: {}", hosts.join("; "))
    }
}

/// The rollout of every container the plan replaces on a host where it runs, by name.
pub fn plan_rollouts(
    lockfile: &Lockfile,
    plan: &Plan,
    facts: &HostsFacts,
    handles: &BTreeMap<String, HostHandle<'_>>,
) -> Vec<RolloutPlan> {
    let replaced = replaced_hosts(lockfile, plan, facts);
    let mut rollouts: Vec<RolloutPlan> = replaced
        .into_iter()
        .filter_map(|(container, hosts)| {
            let policy = lockfile.rollout(&container)?.clone();
            let replicas = lockfile
                .container_hosts()
                .get(&container)
                .map_or(0, Vec::len);
            Some(RolloutPlan {
                width: policy.max_parallel.of(replicas),
                container,
                policy,
                order: hosts,
                last: BTreeSet::new(),
                files_in_turn: BTreeMap::new(),
            })
        })
        .collect();
    if rollouts.is_empty() {
        // The common no-op apply: no need to map every running node's dependants.
        return rollouts;
    }
    let dependants = running_dependants(lockfile, plan);
    for rollout in &mut rollouts {
        if let (Some(last), true) = (&rollout.policy.last, rollout.order.len() > 1) {
            rollout.last = hosts_where(&last.run, &rollout.order, handles);
            let last_hosts = &rollout.last;
            // A stable sort: by name within each part.
            rollout.order.sort_by_key(|host| last_hosts.contains(host));
        }
        rollout.files_in_turn = files_in_turn(lockfile, plan, &dependants, rollout);
    }
    rollouts
}

/// By container name, the hosts (by name) where the plan runs its node while the host runs
/// that container: a replacement.
fn replaced_hosts(
    lockfile: &Lockfile,
    plan: &Plan,
    facts: &HostsFacts,
) -> BTreeMap<String, Vec<String>> {
    let mut replaced: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in lockfile.nodes() {
        let (NodeKind::Container, Some(host)) = (node.name.kind, node.name.host()) else {
            continue;
        };
        if !plan.decision(&node.name).runs() {
            continue;
        }
        let Some(Ok(host_facts)) = facts.get(host) else {
            continue;
        };
        let paths = lockfile
            .hosts
            .get(host)
            .map(HostPaths::of)
            .unwrap_or_default();
        let running = host_facts
            .containers
            .get(&docker_name(&node.name.key, host, &paths))
            .is_some_and(|(_, state)| state == "running");
        if running {
            replaced
                .entry(node.name.key.to_string())
                .or_default()
                .push(host.to_string());
        }
    }
    replaced
}

/// The hosts of `hosts` where `command` succeeds, run on all at once; a host that cannot
/// be asked (not reached, its connection lost) counts as one where it succeeds.
fn hosts_where(
    command: &str,
    hosts: &[String],
    handles: &BTreeMap<String, HostHandle<'_>>,
) -> BTreeSet<String> {
    std::thread::scope(|scope| {
        let probes: Vec<_> = hosts
            .iter()
            .map(|host| {
                let handle = handles.get(host);
                scope.spawn(move || {
                    let Some(handle) = handle else {
                        return true;
                    };
                    let probe = Probe::Command {
                        run: command.to_string(),
                    };
                    let script = format!(
                        "{} >/dev/null 2>&1",
                        crate::shell::bounded(
                            &crate::probe::script(&probe, host, handle.paths),
                            LAST_WHERE_TIMEOUT_SECONDS
                        )
                    );
                    match handle.transport.run(&script, b"") {
                        Ok(output) => output.success(),
                        Err(_) => true,
                    }
                })
            })
            .collect();
        hosts
            .iter()
            .zip(probes)
            .filter_map(|(host, probe)| probe.join().unwrap_or(true).then(|| host.clone()))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use cairn_lockfiles::RolloutPolicy;

    use super::*;

    fn rollout(files_in_turn: &[(&str, &[&str])]) -> RolloutPlan {
        RolloutPlan {
            container: "web".to_string(),
            policy: RolloutPolicy::default_with_gates(Vec::new()),
            order: vec!["a".to_string(), "b".to_string()],
            last: BTreeSet::new(),
            width: 1,
            files_in_turn: files_in_turn
                .iter()
                .map(|(host, paths)| {
                    let paths = paths.iter().map(|path| path.to_string()).collect();
                    (host.to_string(), paths)
                })
                .collect(),
        }
    }

    #[test]
    fn the_plan_line_says_the_files_of_each_turn_once_where_every_host_writes_the_same() {
        let same = rollout(&[("a", &["/etc/web.conf"]), ("b", &["/etc/web.conf"])]);
        assert!(
            same.to_string()
                .ends_with("; writes /etc/web.conf in each host's turn"),
            "{same}"
        );
        let different = rollout(&[("a", &["/etc/web.conf", "/etc/extra.conf"])]);
        assert!(
            different
                .to_string()
                .ends_with("; writes in its turn: a /etc/web.conf, /etc/extra.conf"),
            "{different}"
        );
        assert!(!rollout(&[]).to_string().contains("writes"));
    }
}
