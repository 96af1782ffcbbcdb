//! The files a replacement writes in its turn: the configuration a rolled container reads
//! changes on a host when that host's turn comes, not before, and goes back with the
//! container when the turn is put back. So a host the rollout never reaches (it stopped on
//! a bad release) keeps the release it runs, files and all, and a put back restores the
//! files the previous container reads.
//!
//! A file of host H is written in the turn of the replacement R (H's container C, in a
//! rollout of this apply) when the plan runs it, C depends on it directly, and R is its only
//! dependant that runs in this apply (through `deps` or `ordered_after`, barriers
//! included). A file another running node needs (a command that reloads, a second rolled
//! container of H that reads it too, a check) is written as before, as soon as the graph
//! lets it: two rollouts that read one file would otherwise put it back under each other.

use std::collections::{BTreeMap, HashMap};

use cairn_lockfiles::{Lockfile, NodeKind, NodeName, Scope};

use crate::plan::{Decision, Plan};
use crate::rollout::RolloutPlan;

/// By running node, the running nodes that wait for it (its dependants in this apply).
pub(crate) type RunningDependants<'l> = HashMap<&'l NodeName, Vec<&'l NodeName>>;

/// The running nodes that wait for each running node.
pub(crate) fn running_dependants<'l>(lockfile: &'l Lockfile, plan: &Plan) -> RunningDependants<'l> {
    let mut dependants: RunningDependants<'l> = HashMap::new();
    for node in lockfile.nodes() {
        if !in_this_apply(plan.decision(&node.name)) {
            continue;
        }
        for dependency in node.waits_for() {
            if in_this_apply(plan.decision(&dependency)) {
                let dependency = &lockfile
                    .node(&dependency)
                    .expect("a lockfile's nodes wait for nodes of that lockfile")
                    .name;
                dependants.entry(dependency).or_default().push(&node.name);
            }
        }
    }
    dependants
}

/// Whether the scheduler runs (or waits on, for a barrier) a node with this decision.
fn in_this_apply(decision: &Decision) -> bool {
    matches!(decision, Decision::Run(_) | Decision::Wait)
}

/// By host of `rollout`, the paths of the files written in that host's turn (hosts with
/// none left out).
pub(crate) fn files_in_turn(
    lockfile: &Lockfile,
    plan: &Plan,
    dependants: &RunningDependants<'_>,
    rollout: &RolloutPlan,
) -> BTreeMap<String, Vec<String>> {
    let mut files = BTreeMap::new();
    for host in &rollout.order {
        let replacement = NodeName::new(
            Scope::Host(host.as_str().into()),
            NodeKind::Container,
            rollout.container.as_str(),
        );
        let Some(node) = lockfile.node(&replacement) else {
            continue;
        };
        let paths: Vec<String> = node
            .deps
            .iter()
            .filter(|dependency| {
                dependency.kind == NodeKind::File
                    && dependency.scope == replacement.scope
                    && plan.decision(dependency).runs()
                    && dependants
                        .get(&**dependency)
                        .is_some_and(|waiting| waiting.as_slice() == [&replacement])
            })
            .map(|file| file.key.to_string())
            .collect();
        if !paths.is_empty() {
            files.insert(host.clone(), paths);
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use cairn_lockfiles::{RolloutPolicy, Text, UnhashedNode, Value};

    use super::*;
    use crate::plan::Reason;
    use crate::test_lockfiles;

    const CONFIG: &str = "h:file:/etc/web.conf";

    /// A node of host `h`: a file (`h:file:PATH`), a container (of image `web`) or a
    /// command, with `deps`.
    fn node(name: &str, deps: &[&str]) -> UnhashedNode {
        let parsed: NodeName = name.parse().unwrap();
        let fields: Vec<(&str, Value)> = match parsed.kind {
            NodeKind::File => vec![
                ("path", parsed.key.as_ref().into()),
                ("content", Value::Text(Text::new("a"))),
            ],
            NodeKind::Container => {
                vec![
                    ("name", parsed.key.as_ref().into()),
                    ("image", "web".into()),
                ]
            }
            _ => vec![("name", parsed.key.as_ref().into()), ("run", "true".into())],
        };
        let image: &[&str] = match parsed.kind {
            NodeKind::Container => &["cluster:image:web"],
            _ => &[],
        };
        let deps: Vec<&str> = deps.iter().chain(image).copied().collect();
        test_lockfiles::node(name, &deps, fields)
    }

    /// The lockfile of `nodes` and a plan that runs each of them but those in `skipped`.
    fn planned(nodes: Vec<UnhashedNode>, skipped: &[&str]) -> (Lockfile, Plan) {
        let image = test_lockfiles::node(
            "cluster:image:web",
            &[],
            vec![("name", "web".into()), ("base", "debian:12".into())],
        );
        let lockfile =
            test_lockfiles::lockfile(&[("h", &[])], nodes.into_iter().chain([image]).collect());
        let mut plan = Plan::default();
        for node in lockfile.nodes() {
            let decision = if skipped.contains(&node.name.to_string().as_str()) {
                Decision::Skip
            } else {
                Decision::Run(Reason::InputsChanged)
            };
            plan.decisions.insert(node.name.clone(), decision);
        }
        (lockfile, plan)
    }

    /// The files written in the turn of `container` on `h`, rolled there.
    fn staged(lockfile: &Lockfile, plan: &Plan, container: &str) -> Vec<String> {
        let rollout = RolloutPlan {
            container: container.to_string(),
            policy: RolloutPolicy::default_with_gates(Vec::new()),
            order: vec!["h".to_string()],
            last: BTreeSet::new(),
            width: 1,
            files_in_turn: BTreeMap::new(),
        };
        let dependants = running_dependants(lockfile, plan);
        files_in_turn(lockfile, plan, &dependants, &rollout)
            .remove("h")
            .unwrap_or_default()
    }

    #[test]
    fn a_file_only_the_rolled_container_reads_is_written_in_its_turn() {
        let (lockfile, plan) = planned(
            vec![node(CONFIG, &[]), node("h:container:web", &[CONFIG])],
            &[],
        );
        assert_eq!(staged(&lockfile, &plan, "web"), vec!["/etc/web.conf"]);
    }

    #[test]
    fn a_file_that_does_not_change_is_not_written() {
        let (lockfile, plan) = planned(
            vec![node(CONFIG, &[]), node("h:container:web", &[CONFIG])],
            &[CONFIG],
        );
        assert!(staged(&lockfile, &plan, "web").is_empty());
    }

    #[test]
    fn a_file_another_running_node_needs_is_written_before_the_rollout() {
        let (lockfile, plan) = planned(
            vec![
                node(CONFIG, &[]),
                node("h:command:reload", &[CONFIG]),
                node("h:container:web", &[CONFIG]),
            ],
            &[],
        );
        assert!(staged(&lockfile, &plan, "web").is_empty());
    }

    #[test]
    fn a_file_a_skipped_node_reads_too_is_still_written_in_the_turn() {
        let (lockfile, plan) = planned(
            vec![
                node(CONFIG, &[]),
                node("h:command:reload", &[CONFIG]),
                node("h:container:web", &[CONFIG]),
            ],
            &["h:command:reload"],
        );
        assert_eq!(staged(&lockfile, &plan, "web"), vec!["/etc/web.conf"]);
    }

    #[test]
    fn a_file_two_rolled_containers_read_is_written_before_both_rollouts() {
        let (lockfile, plan) = planned(
            vec![
                node(CONFIG, &[]),
                node("h:container:api", &[CONFIG]),
                node("h:container:web", &[CONFIG]),
            ],
            &[],
        );
        assert!(staged(&lockfile, &plan, "web").is_empty());
        assert!(staged(&lockfile, &plan, "api").is_empty());
    }

    #[test]
    fn a_file_the_container_reads_through_another_file_is_written_before_the_rollout() {
        let include = "h:file:/etc/web.d/include.conf";
        let (lockfile, plan) = planned(
            vec![
                node(include, &[]),
                node(CONFIG, &[include]),
                node("h:container:web", &[CONFIG, include]),
            ],
            &[],
        );
        assert_eq!(staged(&lockfile, &plan, "web"), vec!["/etc/web.conf"]);
    }
}
