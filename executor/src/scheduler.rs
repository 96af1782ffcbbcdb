//! Runs the nodes a plan says to run: dependencies first (and what a node is only ordered
//! after, waited for alike), independent nodes in parallel (across hosts and within one),
//! at most `jobs` at once. A failure stops what depends on (or waits for) it and nothing
//! else; a host that cannot be reached stops its own nodes and their
//! dependants. A file written in a replacement's turn (`files_in_turn.rs`) never runs on
//! its own: the replacement waits for what the file waits for, and the file takes the
//! turn's outcome.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use cairn_lockfiles::{Lockfile, NodeKind, NodeName, Scope};

use crate::facts_error::HostsFacts;
use crate::host_paths::HostPaths;
use crate::kinds::{NodeContext, NodeError, execute};
use crate::plan::{Decision, Plan};
use crate::report::{NodeOutcome, NodeTiming};
use crate::rollout::RolloutPlan;
use crate::rollout_turn::replace_in_turn;
use crate::rollout_window::{RolloutWindows, WindowMoves};
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

/// What every node of a run reads.
pub struct RunInputs<'a> {
    pub lockfile: &'a Lockfile,
    pub plan: &'a Plan,
    pub facts: &'a HostsFacts,
    pub hosts: &'a BTreeMap<String, HostHandle<'a>>,
    pub secrets: &'a Secrets,
    /// This apply's id (see `NodeContext::apply_id`).
    pub apply_id: &'a str,
    /// What timings count from.
    pub apply_started: Instant,
    pub observer: Observer<'a>,
}

/// Where the run stands, shared by the workers.
struct Shared {
    outcomes: Vec<Option<NodeOutcome>>,
    /// When each node that ran started, and how long it took.
    timings: Vec<Option<NodeTiming>>,
    /// How many of each node's dependencies are still to succeed.
    remaining: Vec<usize>,
    ready: VecDeque<usize>,
    unfinished: usize,
    /// Nodes taken from `ready` and not finished yet.
    running: usize,
    hosts_down: HashMap<String, String>,
    /// When each replacement of a rollout may start.
    windows: RolloutWindows,
    /// The files written in a replacement's turn, which do not run on their own.
    files_in_turn: FilesInTurn,
}

/// The files written in replacements' turns (`files_in_turn.rs`), by node index.
#[derive(Debug, Default)]
struct FilesInTurn {
    /// By replacement, its files.
    of: HashMap<usize, Vec<usize>>,
    /// By file, its replacement.
    turn_of: HashMap<usize, usize>,
}

impl FilesInTurn {
    fn new(plan: &Plan, position: &HashMap<&NodeName, usize>) -> Self {
        let mut files = Self::default();
        for rollout in &plan.rollouts {
            for (host, paths) in &rollout.files_in_turn {
                let scope = Scope::Host(host.as_str().into());
                let replacement = NodeName::new(
                    scope.clone(),
                    NodeKind::Container,
                    rollout.container.as_str(),
                );
                let Some(&replacement) = position.get(&replacement) else {
                    continue;
                };
                for path in paths {
                    let file = NodeName::new(scope.clone(), NodeKind::File, path.as_str());
                    if let Some(&file) = position.get(&file) {
                        files.of.entry(replacement).or_default().push(file);
                        files.turn_of.insert(file, replacement);
                    }
                }
            }
        }
        files
    }
}

/// What running one node came to.
struct Finished {
    outcome: NodeOutcome,
    /// Its host could not be reached (why): the host's other nodes do not run.
    host_failure: Option<String>,
    timing: Option<NodeTiming>,
}

/// Runs the plan with `jobs` workers; returns every node's outcome, and the timing of
/// those that ran.
pub fn run(
    inputs: &RunInputs<'_>,
    jobs: usize,
) -> Vec<(NodeName, NodeOutcome, Option<NodeTiming>)> {
    let nodes = inputs.lockfile.nodes();
    let (shared, dependants) = schedule(inputs.lockfile, inputs.plan);
    let workers = jobs.max(1).min(shared.unfinished.max(1));
    let shared = Mutex::new(shared);
    let wake = Condvar::new();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(index) = next_ready(&shared, &wake) {
                    let finished = run_node(inputs, &shared, index);
                    (inputs.observer)(&nodes[index].name, &finished.outcome);
                    let mut state = shared
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    if let Some(problem) = finished.host_failure {
                        let host = nodes[index].name.scope.as_str().to_string();
                        state.hosts_down.entry(host).or_insert(problem);
                    }
                    state.timings[index] = finished.timing;
                    let context = (nodes, dependants.as_slice(), inputs.observer);
                    finish(&mut state, index, finished.outcome, context);
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

/// The run's starting point: the outcome of every node the plan does not run, how many
/// dependencies each other node waits for, the nodes ready at once (in dependency
/// order), and each node's dependants.
fn schedule(lockfile: &Lockfile, plan: &Plan) -> (Shared, Vec<Vec<usize>>) {
    let nodes = lockfile.nodes();
    let position: HashMap<&NodeName, usize> = nodes
        .iter()
        .enumerate()
        .map(|(index, node)| (&node.name, index))
        .collect();
    let outcomes: Vec<Option<NodeOutcome>> = nodes
        .iter()
        .map(|node| outcome_without_running(plan.decision(&node.name)))
        .collect();
    let files_in_turn = FilesInTurn::new(plan, &position);
    // A file written in a turn is settled with its replacement, never on its own.
    let unfinished =
        outcomes.iter().filter(|outcome| outcome.is_none()).count() - files_in_turn.turn_of.len();
    let mut dependants: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut remaining = vec![0usize; nodes.len()];
    for index in 0..nodes.len() {
        if outcomes[index].is_some() || files_in_turn.turn_of.contains_key(&index) {
            continue;
        }
        for dependency_index in waited_for(nodes, index, &position, &files_in_turn) {
            if outcomes[dependency_index].is_none() {
                remaining[index] += 1;
                dependants[dependency_index].push(index);
            }
        }
    }
    let mut windows = RolloutWindows::new(nodes, &plan.rollouts);
    let mut ready = VecDeque::new();
    for node in lockfile.in_dependency_order() {
        let index = position[&node.name];
        if outcomes[index].is_some()
            || remaining[index] > 0
            || files_in_turn.turn_of.contains_key(&index)
        {
            continue;
        }
        if windows.is_member(index) {
            ready.extend(windows.ready(index).start);
        } else {
            ready.push_back(index);
        }
    }
    let shared = Shared {
        timings: vec![None; nodes.len()],
        outcomes,
        remaining,
        ready,
        unfinished,
        running: 0,
        hosts_down: HashMap::new(),
        windows,
        files_in_turn,
    };
    (shared, dependants)
}

/// What node `index` waits for (its dependencies and what it is ordered after): for a
/// replacement, what the files of its turn wait for in place of those files.
fn waited_for(
    nodes: &[cairn_lockfiles::Node],
    index: usize,
    position: &HashMap<&NodeName, usize>,
    files_in_turn: &FilesInTurn,
) -> BTreeSet<usize> {
    let mut waited = BTreeSet::new();
    for dependency in nodes[index].waits_for() {
        let dependency_index = position[&*dependency];
        if files_in_turn.turn_of.get(&dependency_index) == Some(&index) {
            waited.extend(
                nodes[dependency_index]
                    .waits_for()
                    .map(|file_dependency| position[&*file_dependency]),
            );
        } else {
            waited.insert(dependency_index);
        }
    }
    waited
}

/// The outcome of a node the plan does not run; `None` for one it runs.
fn outcome_without_running(decision: &Decision) -> Option<NodeOutcome> {
    Some(match decision {
        Decision::Skip => NodeOutcome::Skipped,
        Decision::Unsupported(reason) => NodeOutcome::NotRun((*reason).to_string()),
        Decision::Blocked(dependency) => NodeOutcome::NotRun(format!("{dependency} cannot run")),
        Decision::Unreachable => NodeOutcome::NotRun("its host could not be reached".to_string()),
        Decision::HeldBack(why) => NodeOutcome::HeldBack(why.to_string()),
        Decision::Run(_) | Decision::Wait => return None,
    })
}

/// The next node ready to run, waiting for one while others run; `None` once every node
/// has finished.
fn next_ready(shared: &Mutex<Shared>, wake: &Condvar) -> Option<usize> {
    let mut state = shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        if let Some(index) = state.ready.pop_front() {
            state.running += 1;
            return Some(index);
        }
        if state.unfinished == 0 {
            return None;
        }
        if state.running == 0
            && let Some(index) = state.windows.force()
        {
            // Dependencies hold a rollout's next replacement behind a later one: rather
            // than wait for ever, the first ready one starts out of order.
            state.running += 1;
            return Some(index);
        }
        state = wake
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
}

/// Runs node `index` on its host, unless the host is down or was never reached.
fn run_node(inputs: &RunInputs<'_>, shared: &Mutex<Shared>, index: usize) -> Finished {
    let node = &inputs.lockfile.nodes()[index];
    let host_name = node.name.scope.as_str();
    let (down, rollout) = {
        let state = shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let rollout = state.windows.rollout_of(index);
        (state.hosts_down.get(host_name).cloned(), rollout)
    };
    let rollout = rollout.map(|place| &inputs.plan.rollouts[place]);
    let not_run = |why: String| Finished {
        outcome: NodeOutcome::NotRun(why),
        host_failure: None,
        timing: None,
    };
    if *inputs.plan.decision(&node.name) == Decision::Wait {
        // A barrier: everything it waits for succeeded, and it runs nothing.
        return Finished {
            outcome: NodeOutcome::Passed,
            host_failure: None,
            timing: None,
        };
    }
    if let Some(problem) = down {
        return not_run(format!("its host is unreachable: {problem}"));
    }
    let Some(handle) = inputs.hosts.get(host_name) else {
        return not_run("its host could not be reached".to_string());
    };
    let mut context = node_context(inputs, node, handle);
    // A replacement is recorded once its gates pass: until then the host's state says
    // the release it ran before.
    context.record_later = rollout.is_some();
    let started = Instant::now();
    let executed = match rollout {
        None => execute(node, &mut context),
        Some(rollout) => replace_in_turn(
            inputs,
            (node, host_name, handle),
            &rollout.policy,
            &mut context,
            &files_of_turn(inputs.lockfile, rollout, host_name),
            |context| execute(node, context),
        ),
    };
    let timing = Some(NodeTiming {
        started: started.duration_since(inputs.apply_started),
        duration: started.elapsed(),
    });
    let (outcome, host_failure) = match executed {
        Ok(summary) => (NodeOutcome::Ran(summary), None),
        Err(NodeError::Failed(reason)) => (NodeOutcome::Failed(reason), None),
        Err(NodeError::Transport(error)) => (
            NodeOutcome::Failed(error.to_string()),
            Some(error.to_string()),
        ),
    };
    Finished {
        outcome,
        host_failure,
        timing,
    }
}

/// The file nodes written in the turn of `rollout`'s replacement on `host`.
fn files_of_turn<'l>(
    lockfile: &'l Lockfile,
    rollout: &RolloutPlan,
    host: &str,
) -> Vec<&'l cairn_lockfiles::Node> {
    rollout
        .files_in_turn
        .get(host)
        .into_iter()
        .flatten()
        .filter_map(|path| {
            lockfile.node(&NodeName::new(
                Scope::Host(host.into()),
                NodeKind::File,
                path.as_str(),
            ))
        })
        .collect()
}

/// What `node` runs with on its host: the host's transport and paths, the control
/// host's transport (images are built there), what the host recorded for it before.
pub(crate) fn node_context<'a>(
    inputs: &'a RunInputs<'a>,
    node: &'a cairn_lockfiles::Node,
    handle: &'a HostHandle<'a>,
) -> NodeContext<'a> {
    let host_name = node.name.scope.as_str();
    let control = inputs
        .hosts
        .get(cairn_lockfiles::Scope::CLUSTER_NAME)
        .map_or(handle.transport, |control| control.transport);
    NodeContext {
        lockfile: inputs.lockfile,
        host: host_name,
        control,
        transport: handle.transport,
        paths: handle.paths,
        secrets: inputs.secrets,
        entry: StateEntry {
            name: node.name.clone(),
            id: node.id,
            inputs_id: inputs.lockfile.inputs_id(node),
            path: None,
            sha256: None,
            installed: Vec::new(),
            contents: None,
        },
        reason: match inputs.plan.decision(&node.name) {
            Decision::Run(reason) => Some(reason),
            _ => None,
        },
        previous: inputs
            .facts
            .get(host_name)
            .and_then(|facts| facts.as_ref().ok())
            .and_then(|facts| facts.entries.get(&node.name)),
        apply_id: inputs.apply_id,
        record_later: false,
        put_back_first: String::new(),
    }
}

/// The nodes, their dependants and the observer: what recording an outcome needs.
type FinishContext<'c, 'o> = (&'c [cairn_lockfiles::Node], &'c [Vec<usize>], Observer<'o>);

/// Records a node's outcome; on success its dependants may become ready, on failure they
/// (and theirs) will not run. A rollout's replacement lets the next start, or stops the
/// rollout.
fn finish(state: &mut Shared, index: usize, outcome: NodeOutcome, context: FinishContext<'_, '_>) {
    let (nodes, dependants, _) = context;
    let succeeded = matches!(outcome, NodeOutcome::Ran(_) | NodeOutcome::Passed);
    state.running -= 1;
    state.outcomes[index] = Some(outcome);
    state.unfinished -= 1;
    settle_files_in_turn(state, index, context);
    if state.windows.is_member(index) {
        let host = nodes[index].name.scope.as_str();
        let moves = state.windows.finished(index, host, succeeded);
        apply_moves(state, moves, context);
    }
    if succeeded {
        for &dependant in &dependants[index] {
            state.remaining[dependant] -= 1;
            if state.remaining[dependant] == 0 && state.outcomes[dependant].is_none() {
                if state.windows.is_member(dependant) {
                    let moves = state.windows.ready(dependant);
                    apply_moves(state, moves, context);
                } else {
                    state.ready.push_back(dependant);
                }
            }
        }
        return;
    }
    stop_dependants(state, index, context);
}

/// The replacements a window lets start, and those it never will (their dependants
/// stopped too).
fn apply_moves(state: &mut Shared, moves: WindowMoves, context: FinishContext<'_, '_>) {
    state.ready.extend(moves.start);
    for (member, why) in moves.never {
        if state.outcomes[member].is_none() {
            settle_unrun(state, member, NodeOutcome::NotRun(why), context);
            stop_dependants(state, member, context);
        }
    }
}

/// Settles node `index`, which will not run, as `outcome`: the observer hears of it, it
/// is counted finished, and the files of its turn (if it is a replacement) settle with it.
fn settle_unrun(
    state: &mut Shared,
    index: usize,
    outcome: NodeOutcome,
    context: FinishContext<'_, '_>,
) {
    let (nodes, _, observer) = context;
    observer(&nodes[index].name, &outcome);
    state.outcomes[index] = Some(outcome);
    state.unfinished -= 1;
    settle_files_in_turn(state, index, context);
}

/// Marks everything that depends on `index` (which did not succeed) as not run.
fn stop_dependants(state: &mut Shared, index: usize, context: FinishContext<'_, '_>) {
    let (nodes, dependants, _) = context;
    let mut stack = vec![(index, nodes[index].name.clone())];
    while let Some((failed, cause)) = stack.pop() {
        for &dependant in &dependants[failed] {
            if state.outcomes[dependant].is_none() {
                let outcome = NodeOutcome::NotRun(format!("{cause} did not succeed"));
                settle_unrun(state, dependant, outcome, context);
                if state.windows.is_member(dependant) {
                    // The window moves past it; a stopped one has settled it already.
                    let moves = state.windows.skipped(dependant);
                    state.ready.extend(moves.start);
                }
                // Behind a barrier, the cause stays what failed (a check), not the barrier.
                let name = &nodes[dependant].name;
                let next_cause = if name.kind == NodeKind::Barrier {
                    cause.clone()
                } else {
                    name.clone()
                };
                stack.push((dependant, next_cause));
            }
        }
    }
}

/// Gives the files written in the turn of node `index` (a replacement, just settled) the
/// turn's outcome: written with it, failed with it (put back with its container, or never
/// written), or not run for the same reason (the host where its rollout stopped).
fn settle_files_in_turn(state: &mut Shared, index: usize, context: FinishContext<'_, '_>) {
    let (nodes, _, observer) = context;
    let (Some(files), Some(outcome)) = (
        state.files_in_turn.of.get(&index),
        state.outcomes[index].as_ref(),
    ) else {
        return;
    };
    let replacement = &nodes[index].name;
    let file_outcome = match outcome {
        NodeOutcome::Ran(_) => NodeOutcome::Ran(format!("written in the turn of {replacement}")),
        NodeOutcome::Failed(_) => NodeOutcome::Failed(format!(
            "the turn of {replacement}, which writes it, failed: the file is as it was before the turn unless that node's error says otherwise"
        )),
        other => other.clone(),
    };
    for &file in files {
        if state.outcomes[file].is_none() {
            observer(&nodes[file].name, &file_outcome);
            state.outcomes[file] = Some(file_outcome.clone());
        }
    }
}
