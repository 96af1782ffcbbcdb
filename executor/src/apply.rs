//! `cairn plan` and `cairn apply`: reach every host (in parallel), lock it (apply only),
//! read its facts, plan, run, remove orphans, prune the images of old releases, report.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cairn_images::image_builder::built_record::{built_tags, image_folder, pushed_tags};
use cairn_lockfiles::{BecomeMethod, HostEntry, Lockfile, NodeName, Scope, TransportKind};

use crate::facts::{self, FactsQuery, HostFacts};
use crate::facts_error::{FactsError, HostsFacts};
use crate::host_lock::{HostLock, LockFailure, acquire};
use crate::host_paths::HostPaths;
use crate::kinds::remove_orphan;
use crate::plan::{Decision, Plan, Reason, plan};
use crate::report::{ApplyReport, HostReport, NodeOutcome};
use crate::rollout::plan_rollouts;
use crate::scheduler::{HostHandle, RunInputs, run};
use crate::secrets::Secrets;
use crate::selection::Selection;
use crate::transport::ssh_config::local_user;
use crate::transport::{
    BecomeTransport, KeeperOptions, KeptTransport, LocalTransport, MeteredTransport, SshOptions,
    SshTransport, SudoPassword, TransferCounts, Transport,
};

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Nodes (and host connections) in flight at once.
    pub jobs: usize,
    pub ssh: SshOptions,
    /// The lockfile's folder: secret files are relative to it.
    pub lockfile_directory: PathBuf,
    /// The part of the lockfile to apply; hosts outside it are not reached.
    pub selection: Selection,
    /// Keep SSH connections between applies (`None`: connect directly, close at the end).
    pub keeper: Option<KeeperOptions>,
}

/// The transport a host's entry asks for: SSH (through the keeper at `keeper` when there
/// is one) or local; through sudo where the host says `become = "sudo"`; counting what it
/// sends. The error says why the host cannot be reached so (its SSH configuration, its
/// sudo password).
pub fn transport_for(
    name: &str,
    host: &HostEntry,
    ssh: &SshOptions,
    keeper: Option<&std::path::Path>,
    secrets: &Secrets,
) -> Result<MeteredTransport, FactsError> {
    let (transport, user): (Arc<dyn Transport>, String) = match host.transport {
        TransportKind::Local => (Arc::new(LocalTransport), local_user()),
        TransportKind::Ssh => {
            let direct = SshTransport::new(&host.address, host.user.as_deref(), host.port, ssh)
                .map_err(|cause| FactsError::transport(name, cause))?;
            let user = direct.target().destination.user.clone();
            let transport: Arc<dyn Transport> = match keeper {
                Some(socket) => Arc::new(KeptTransport::new(socket.to_path_buf(), &direct)),
                None => Arc::new(direct),
            };
            (transport, user)
        }
    };
    let transport: Arc<dyn Transport> = match host.become_method {
        None => transport,
        Some(BecomeMethod::Sudo) => {
            let password = match &host.become_password {
                None => None,
                Some(secret) => Some(secrets.value(secret).and_then(SudoPassword::new).map_err(
                    |problem| FactsError::SudoPassword {
                        host: name.to_string(),
                        problem,
                    },
                )?),
            };
            Arc::new(BecomeTransport::new(transport, name, &user, password))
        }
    };
    Ok(MeteredTransport::new(transport))
}

/// A host reached and read, or why not.
type ReachResult = Result<(Reached, HostFacts), FactsError>;

struct Reached {
    transport: Arc<dyn Transport>,
    paths: HostPaths,
    /// What cairn sent the host, from the lock script on.
    sent: Option<Arc<TransferCounts>>,
    /// How long reaching, locking and reading the host took.
    reach_time: std::time::Duration,
    _lock: Option<HostLock>,
}

/// Reaches, locks (when `lock`) and reads every host, at most `jobs` at once.
fn reach_hosts(
    lockfile: &Lockfile,
    options: &ApplyOptions,
    secrets: &Secrets,
    lock: bool,
) -> (BTreeMap<String, Reached>, HostsFacts) {
    let host_names: Vec<&String> = lockfile
        .hosts
        .keys()
        .filter(|host| options.selection.includes_host(host))
        .collect();
    let keeper = options
        .keeper
        .as_ref()
        .filter(|_| {
            host_names
                .iter()
                .any(|host| lockfile.hosts[*host].transport == TransportKind::Ssh)
        })
        .and_then(KeeperOptions::ensure_running);
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<(String, ReachResult)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1).min(host_names.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = {
                        let mut next = next.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                        let index = *next;
                        *next += 1;
                        index
                    };
                    let Some(name) = host_names.get(index) else {
                        return;
                    };
                    let host = &lockfile.hosts[*name];
                    let result = reach_one(
                        lockfile,
                        name,
                        host,
                        options,
                        (keeper.as_deref(), secrets),
                        lock,
                    );
                    results
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push(((*name).clone(), result));
                }
            });
        }
    });
    let mut reached = BTreeMap::new();
    let mut facts = BTreeMap::new();
    // The control host: images are built here and sent from here.
    if lockfile
        .nodes()
        .iter()
        .any(|node| node.name.host().is_none())
    {
        let transport: Arc<dyn Transport> = Arc::new(LocalTransport);
        let control = transport
            .run(&facts::control_script(), b"")
            .map_err(|cause| FactsError::transport(cairn_lockfiles::Scope::CLUSTER_NAME, cause))
            .map(|output| {
                let mut control = facts::parse_control(&output.stdout_text());
                // And the images cairn's builder made, which are sent from their layouts.
                control.images.extend(built_tags(&image_folder()));
                control.pushed.extend(pushed_tags(&image_folder()));
                control
            });
        facts.insert(cairn_lockfiles::Scope::CLUSTER_NAME.to_string(), control);
        reached.insert(
            cairn_lockfiles::Scope::CLUSTER_NAME.to_string(),
            Reached {
                transport,
                paths: HostPaths::default(),
                sent: None,
                reach_time: std::time::Duration::ZERO,
                _lock: None,
            },
        );
    }
    for (name, result) in results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
    {
        match result {
            Ok((host, host_facts)) => {
                reached.insert(name.clone(), host);
                facts.insert(name, Ok(host_facts));
            }
            Err(problem) => {
                facts.insert(name, Err(problem));
            }
        }
    }
    (reached, facts)
}

fn reach_one(
    lockfile: &Lockfile,
    name: &str,
    host: &HostEntry,
    options: &ApplyOptions,
    (keeper, secrets): (Option<&std::path::Path>, &Secrets),
    lock: bool,
) -> ReachResult {
    let started = std::time::Instant::now();
    let metered = transport_for(name, host, &options.ssh, keeper, secrets)?;
    let sent = metered.counts();
    let transport: Arc<dyn Transport> = Arc::new(metered);
    let paths = HostPaths::resolve(host, &options.lockfile_directory);
    let query = FactsQuery::of(lockfile.nodes_of(&Scope::Host(name.into())));
    let facts_script = facts::script(&paths, &query);
    let (held, facts_output) = if lock {
        match acquire(transport.as_ref(), &paths, &facts_script) {
            Ok((held, output)) => (Some(held), output),
            Err(failure) => return Err(lock_error(name, &paths, failure)),
        }
    } else {
        let script = format!("{facts_script}{}", facts::apply_running_script(&paths));
        let output = transport
            .run(&script, b"")
            .map_err(|cause| FactsError::transport(name, cause))?;
        if !output.success() {
            return Err(FactsError::StateUnreadable {
                host: name.to_string(),
                output: output.failure_text(),
            });
        }
        (None, output.stdout_text())
    };
    let facts =
        facts::parse(&facts_output, &paths, &query).map_err(|_| FactsError::ListingCutShort {
            host: name.to_string(),
        })?;
    Ok((
        Reached {
            transport,
            paths,
            sent: Some(sent),
            reach_time: started.elapsed(),
            _lock: held,
        },
        facts,
    ))
}

/// Why a host's lock could not be taken.
fn lock_error(name: &str, paths: &HostPaths, failure: LockFailure) -> FactsError {
    let host = name.to_string();
    match failure {
        LockFailure::Busy => FactsError::Locked {
            host,
            lock_file: paths.lock_file(),
        },
        LockFailure::Transport(cause) => FactsError::transport(name, cause),
        LockFailure::UnexpectedAnswer(answer) => FactsError::UnexpectedLockAnswer { host, answer },
    }
}

/// Reads every host and plans, touching nothing (but what the rollouts' order asks).
pub fn plan_lockfile(lockfile: &Lockfile, options: &ApplyOptions) -> Plan {
    let secrets = Secrets::of(lockfile, &options.lockfile_directory);
    let (reached, facts) = reach_hosts(lockfile, options, &secrets, false);
    planned(lockfile, options, &reached, &facts)
}

/// The plan of `lockfile` over `facts`, its rollouts ordered by asking the hosts reached.
fn planned(
    lockfile: &Lockfile,
    options: &ApplyOptions,
    reached: &BTreeMap<String, Reached>,
    facts: &HostsFacts,
) -> Plan {
    let mut plan = plan(lockfile, facts, &options.selection);
    plan.rollouts = plan_rollouts(lockfile, &plan, facts, &host_handles(reached));
    plan
}

/// Reads every host within the selection (without its lock), touching nothing: each
/// host's facts, or why it could not be read.
pub(crate) fn read_facts(lockfile: &Lockfile, options: &ApplyOptions) -> HostsFacts {
    let secrets = Secrets::of(lockfile, &options.lockfile_directory);
    let (_reached, facts) = reach_hosts(lockfile, options, &secrets, false);
    facts
}

/// An apply in two steps: `open` reaches and locks every host, reads its facts and plans;
/// `execute` runs the plan. The locks are held from `open` until the session is dropped,
/// so the plan shown is the plan run.
pub struct ApplySession<'a> {
    lockfile: &'a Lockfile,
    options: &'a ApplyOptions,
    secrets: Secrets,
    reached: BTreeMap<String, Reached>,
    facts: HostsFacts,
    plan: Plan,
    /// When the apply began reaching its hosts: what its timings count from.
    started: std::time::Instant,
}

impl std::fmt::Debug for ApplySession<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ApplySession")
            .field("hosts", &self.reached.keys())
            .finish_non_exhaustive()
    }
}

impl<'a> ApplySession<'a> {
    pub fn open(lockfile: &'a Lockfile, options: &'a ApplyOptions) -> Self {
        let started = std::time::Instant::now();
        let secrets = Secrets::of(lockfile, &options.lockfile_directory);
        let (reached, facts) = reach_hosts(lockfile, options, &secrets, true);
        let plan = planned(lockfile, options, &reached, &facts);
        Self {
            lockfile,
            options,
            secrets,
            reached,
            facts,
            plan,
            started,
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Runs the plan; `observer` hears of each node as it finishes.
    pub fn execute(self, observer: &(dyn Fn(&NodeName, &NodeOutcome) + Sync)) -> ApplyReport {
        let lockfile = self.lockfile;
        let plan = &self.plan;
        let handles = host_handles(&self.reached);
        let forget_failures = forget_dependency_runs(plan, &handles);
        let undrained = undrain_left_drained(plan, &handles);
        let apply_id = new_apply_id();
        let inputs = RunInputs {
            lockfile,
            plan,
            facts: &self.facts,
            hosts: &handles,
            secrets: &self.secrets,
            apply_id: &apply_id,
            apply_started: self.started,
            observer,
        };
        let mut outcomes = run(&inputs, self.options.jobs);
        crate::late_push::push_late(lockfile, &mut outcomes);

        let mut report = report_of(outcomes);
        for (host, host_plan) in &plan.hosts {
            let host_report = report.hosts.entry(host.clone()).or_default();
            if let Some(problem) = &host_plan.unreachable {
                host_report.problem = Some(problem.to_string());
                continue;
            }
            if let Some((names, failure)) = undrained.get(host) {
                host_report.undrained = names.clone();
                if let Some(failure) = failure {
                    host_report.problem = Some(failure.clone());
                    continue;
                }
            }
            if let Some(problem) = forget_failures.get(host) {
                host_report.problem = Some(format!(
                    "cannot update cairn's state before running: {problem}"
                ));
                continue;
            }
            // Orphans go only once everything the host should have is in place.
            if !host_report.succeeded() || host_plan.orphans.is_empty() {
                continue;
            }
            if let Some(handle) = handles.get(host) {
                remove_orphans(lockfile, (host, handle), &host_plan.orphans, host_report);
            }
        }
        crate::image_pruning::prune_old_images(lockfile, &handles, self.options.jobs, &mut report);
        drop(handles);
        for (host, reached_host) in &self.reached {
            if let Some(host_report) = report.hosts.get_mut(host) {
                host_report.sent = reached_host.sent.as_ref().map(|counts| counts.totals());
                host_report.reach_time =
                    (!reached_host.reach_time.is_zero()).then_some(reached_host.reach_time);
            }
        }
        drop(self.reached);
        report.elapsed = self.started.elapsed();
        report
    }
}

/// The transport and paths of every host reached.
fn host_handles(reached: &BTreeMap<String, Reached>) -> BTreeMap<String, HostHandle<'_>> {
    reached
        .iter()
        .map(|(name, host)| {
            (
                name.clone(),
                HostHandle {
                    transport: host.transport.as_ref(),
                    paths: &host.paths,
                },
            )
        })
        .collect()
}

/// A node that runs only because a dependency runs (a drifted file rewritten, say) keeps
/// its id; if this apply stops before it, nothing would make the next one run it.
/// Forgetting its state entry first makes the next apply run it. Returns the hosts where
/// that failed, and why.
fn forget_dependency_runs(
    plan: &Plan,
    handles: &BTreeMap<String, HostHandle<'_>>,
) -> BTreeMap<String, String> {
    let mut failures = BTreeMap::new();
    for (host, host_plan) in &plan.hosts {
        let Some(handle) = handles.get(host) else {
            continue;
        };
        let script: String = host_plan
            .nodes
            .iter()
            .filter(|(_, decision)| matches!(decision, Decision::Run(Reason::DependencyRuns(_))))
            .map(|(name, _)| crate::state::StateEntry::forget_script(name, handle.paths))
            .collect();
        if script.is_empty() {
            continue;
        }
        match handle.transport.run(&script, b"") {
            Ok(output) if output.success() => {}
            Ok(output) => {
                failures.insert(host.clone(), output.failure_text());
            }
            Err(error) => {
                failures.insert(host.clone(), error.to_string());
            }
        }
    }
    failures
}

/// Undrains the hosts a rollout's turn left drained (`left_drained.rs`), before anything
/// else runs on them: by host, the replacements whose drains were undone, and why the
/// first that could not be failed (the host stays drained; the next apply tries again).
fn undrain_left_drained(
    plan: &Plan,
    handles: &BTreeMap<String, HostHandle<'_>>,
) -> BTreeMap<String, (Vec<NodeName>, Option<String>)> {
    let mut undrained = BTreeMap::new();
    for (host, host_plan) in &plan.hosts {
        let Some(handle) = handles.get(host) else {
            continue;
        };
        let mut names = Vec::new();
        let mut failure = None;
        for name in &host_plan.left_drained {
            match crate::left_drained::undrain(name, handle.transport, handle.paths) {
                Ok(()) => names.push(name.clone()),
                Err(why) => {
                    failure = Some(format!(
                        "undraining the host, which the turn of {name} drained in an apply that stopped, failed (the host stays drained; the next apply tries again): {why}"
                    ));
                    break;
                }
            }
        }
        if !host_plan.left_drained.is_empty() {
            undrained.insert(host.clone(), (names, failure));
        }
    }
    undrained
}

/// The report of every node's outcome and timing, by host.
fn report_of(
    outcomes: Vec<(NodeName, NodeOutcome, Option<crate::report::NodeTiming>)>,
) -> ApplyReport {
    let mut report = ApplyReport::default();
    for (name, outcome, timing) in outcomes {
        let host_report = report
            .hosts
            .entry(name.scope.as_str().to_string())
            .or_insert_with(HostReport::default);
        if let Some(timing) = timing {
            host_report.timings.insert(name.clone(), timing);
        }
        host_report.nodes.push((name, outcome));
    }
    report
}

/// Removes what the host's state records and the lockfile no longer has. What runs goes
/// before what it runs from: containers and services stop before the files and packages
/// they read are removed. A path a current node manages (the node was renamed, or moved
/// to another module) stays; only the old entry goes. A removal that fails is the host's
/// problem (the last one, if several do).
fn remove_orphans(
    lockfile: &Lockfile,
    (host, handle): (&str, &HostHandle<'_>),
    orphans: &[crate::state::StateEntry],
    host_report: &mut HostReport,
) {
    let host_nodes = lockfile.nodes_of(&Scope::Host(host.into()));
    let query = FactsQuery::of(host_nodes);
    let managed: std::collections::BTreeSet<String> = query.file_paths.into_iter().collect();
    let mut orphans: Vec<&crate::state::StateEntry> = orphans.iter().collect();
    orphans.sort_by_key(|entry| removal_rank(entry.kind()));
    for orphan in orphans {
        let mut orphan = orphan.clone();
        if orphan
            .path
            .as_deref()
            .is_some_and(|path| managed.contains(path))
        {
            orphan.path = None;
        }
        let removed = remove_orphan(
            &orphan,
            host,
            handle.transport,
            handle.paths,
            &query.package_names,
        );
        match removed {
            Ok(summary) => host_report
                .orphans_removed
                .push((orphan.name.clone(), summary)),
            Err(error) => {
                let reason = match error {
                    crate::kinds::NodeError::Failed(reason) => reason,
                    crate::kinds::NodeError::Transport(error) => error.to_string(),
                };
                host_report.problem = Some(format!("removing orphan {}: {reason}", orphan.name));
            }
        }
    }
}

/// A fresh id for one apply, unique across machines and runs (it marks work done once per
/// apply on a host, so it need not be secret, only new).
fn new_apply_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut hasher = blake3::Hasher::new();
    hasher.update(&now.as_nanos().to_le_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/random/boot_id") {
        hasher.update(name.as_bytes());
    }
    hasher.finalize().to_hex()[..16].to_string()
}

/// The order orphans are removed in: the reverse of the order things are installed in.
fn removal_rank(kind: cairn_lockfiles::NodeKind) -> u8 {
    use cairn_lockfiles::NodeKind;
    match kind {
        NodeKind::Health | NodeKind::Check | NodeKind::Barrier => 0,
        NodeKind::Container => 1,
        NodeKind::Service => 2,
        NodeKind::Command => 3,
        NodeKind::File => 4,
        NodeKind::Image => 5,
        NodeKind::Package => 6,
        NodeKind::Repository => 7,
    }
}
