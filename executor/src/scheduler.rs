//! Runs the nodes a plan says to run: dependencies first, independent nodes in parallel
//! (across hosts and within one), at most `jobs` at once. A failure stops what depends on
//! it and nothing else; a host that cannot be reached stops its own nodes and their
//! dependants.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use cairn_lockfiles::{Lockfile, NodeName};

use crate::facts_error::HostsFacts;
use crate::host_paths::HostPaths;
use crate::kinds::{NodeContext, NodeError, execute};
use crate::plan::{Decision, Plan};
use crate::report::{NodeOutcome, NodeTiming};
use crate::secrets::Secrets;
use crate::state::StateEntry;
use crate::transport::Transport;

/// A host ready for its nodes: its transport and paths.
#[derive(Debug, Clone, Copy)]
pub struct HostHandle<'a> {
    pub transport: &'a dyn Transport,
    pub paths: &'a HostPaths,
}

/// Called as each node finishes (from worker threads).
pub type Observer<'a> = &'a (dyn Fn(&NodeName, &NodeOutcome) + Sync);

struct Shared {
    outcomes: Vec<Option<NodeOutcome>>,
    /// When each node that ran started, and how long it took.
    timings: Vec<Option<NodeTiming>>,
    remaining: Vec<usize>,
    ready: VecDeque<usize>,
    unfinished: usize,
    hosts_down: HashMap<String, String>,
}

/// Runs the plan; returns every node's outcome, and the timing of those that ran
/// (measured from `apply_started`).
#[allow(clippy::too_many_arguments)]
pub fn run(
    lockfile: &Lockfile,
    plan: &Plan,
    facts: &HostsFacts,
    hosts: &BTreeMap<String, HostHandle<'_>>,
    secrets: &Secrets,
    apply_id: &str,
    jobs: usize,
    apply_started: Instant,
    observer: Observer<'_>,
) -> Vec<(NodeName, NodeOutcome, Option<NodeTiming>)> {
    let nodes = lockfile.nodes();
    let position: HashMap<&NodeName, usize> = nodes
        .iter()
        .enumerate()
        .map(|(index, node)| (&node.name, index))
        .collect();
    let mut dependants: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut outcomes: Vec<Option<NodeOutcome>> = vec![None; nodes.len()];
    let mut remaining = vec![0usize; nodes.len()];
    let mut unfinished = 0;
    for (index, node) in nodes.iter().enumerate() {
        match plan.decision(&node.name) {
            Decision::Skip => outcomes[index] = Some(NodeOutcome::Skipped),
            Decision::Unsupported(reason) => {
                outcomes[index] = Some(NodeOutcome::NotRun((*reason).to_string()))
            }
            Decision::Blocked(dependency) => {
                outcomes[index] = Some(NodeOutcome::NotRun(format!("{dependency} cannot run")));
            }
            Decision::Unreachable => {
                outcomes[index] = Some(NodeOutcome::NotRun(
                    "its host could not be reached".to_string(),
                ))
            }
            Decision::HeldBack(why) => {
                outcomes[index] = Some(NodeOutcome::HeldBack(why.to_string()))
            }
            Decision::Run(_) => unfinished += 1,
        }
    }
    for (index, node) in nodes.iter().enumerate() {
        if outcomes[index].is_some() {
            continue;
        }
        for dependency in &node.deps {
            let dependency_index = position[dependency];
            if outcomes[dependency_index].is_none() {
                remaining[index] += 1;
                dependants[dependency_index].push(index);
            }
        }
    }
    let ready: VecDeque<usize> = lockfile
        .in_dependency_order()
        .map(|node| position[&node.name])
        .filter(|index| outcomes[*index].is_none() && remaining[*index] == 0)
        .collect();
    let shared = Mutex::new(Shared {
        timings: vec![None; nodes.len()],
        outcomes,
        remaining,
        ready,
        unfinished,
        hosts_down: HashMap::new(),
    });
    let wake = Condvar::new();

    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(unfinished.max(1)) {
            scope.spawn(|| {
                loop {
                    let index = {
                        let mut state = shared
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner());
                        loop {
                            if let Some(index) = state.ready.pop_front() {
                                break Some(index);
                            }
                            if state.unfinished == 0 {
                                break None;
                            }
                            state = wake
                                .wait(state)
                                .unwrap_or_else(|poisoned| poisoned.into_inner());
                        }
                    };
                    let Some(index) = index else { return };
                    let node = &nodes[index];
                    let host_name = node.name.scope.as_str().to_string();
                    let down = shared
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .hosts_down
                        .get(&host_name)
                        .cloned();
                    let mut timing = None;
                    let (outcome, host_failure) = match (down, hosts.get(&host_name)) {
                        (Some(problem), _) => (
                            NodeOutcome::NotRun(format!("its host is unreachable: {problem}")),
                            None,
                        ),
                        (None, None) => (
                            NodeOutcome::NotRun("its host could not be reached".to_string()),
                            None,
                        ),
                        (None, Some(handle)) => {
                            let control = hosts
                                .get(cairn_lockfiles::Scope::CLUSTER_NAME)
                                .map_or(handle.transport, |control| control.transport);
                            let mut context = NodeContext {
                                lockfile,
                                host: &host_name,
                                control,
                                transport: handle.transport,
                                paths: handle.paths,
                                secrets,
                                entry: StateEntry {
                                    name: node.name.clone(),
                                    id: node.id,
                                    inputs_id: lockfile.inputs_id(node),
                                    path: None,
                                    sha256: None,
                                    installed: Vec::new(),
                                    contents: None,
                                },
                                reason: match plan.decision(&node.name) {
                                    Decision::Run(reason) => Some(reason),
                                    _ => None,
                                },
                                previous: facts
                                    .get(&host_name)
                                    .and_then(|facts| facts.as_ref().ok())
                                    .and_then(|facts| facts.entries.get(&node.name)),
                                apply_id,
                            };
                            let started = Instant::now();
                            let executed = execute(node, &mut context);
                            timing = Some(NodeTiming {
                                started: started.duration_since(apply_started),
                                duration: started.elapsed(),
                            });
                            match executed {
                                Ok(summary) => (NodeOutcome::Ran(summary), None),
                                Err(NodeError::Failed(reason)) => {
                                    (NodeOutcome::Failed(reason), None)
                                }
                                Err(NodeError::Transport(error)) => (
                                    NodeOutcome::Failed(error.to_string()),
                                    Some(error.to_string()),
                                ),
                            }
                        }
                    };
                    observer(&node.name, &outcome);
                    let mut state = shared
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    if let Some(problem) = host_failure {
                        state.hosts_down.entry(host_name).or_insert(problem);
                    }
                    state.timings[index] = timing;
                    finish(&mut state, index, outcome, nodes, &dependants, observer);
                    wake.notify_all();
                }
            });
        }
    });

    let state = shared
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    nodes
        .iter()
        .zip(state.outcomes)
        .zip(state.timings)
        .map(|((node, outcome), timing)| {
            (
                node.name.clone(),
                outcome.unwrap_or(NodeOutcome::NotRun("not reached".to_string())),
                timing,
            )
        })
        .collect()
}

/// Records a node's outcome; on success its dependants may become ready, on failure they
/// (and theirs) will not run.
fn finish(
    state: &mut Shared,
    index: usize,
    outcome: NodeOutcome,
    nodes: &[cairn_lockfiles::Node],
    dependants: &[Vec<usize>],
    observer: Observer<'_>,
) {
    let succeeded = matches!(outcome, NodeOutcome::Ran(_));
    state.outcomes[index] = Some(outcome);
    state.unfinished -= 1;
    if succeeded {
        for &dependant in &dependants[index] {
            state.remaining[dependant] -= 1;
            if state.remaining[dependant] == 0 && state.outcomes[dependant].is_none() {
                state.ready.push_back(dependant);
            }
        }
        return;
    }
    let mut stack = vec![(index, nodes[index].name.clone())];
    while let Some((failed, cause)) = stack.pop() {
        for &dependant in &dependants[failed] {
            if state.outcomes[dependant].is_none() {
                let outcome = NodeOutcome::NotRun(format!("{cause} did not succeed"));
                observer(&nodes[dependant].name, &outcome);
                state.outcomes[dependant] = Some(outcome);
                state.unfinished -= 1;
                stack.push((dependant, nodes[dependant].name.clone()));
            }
        }
    }
}
