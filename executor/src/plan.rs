//! The plan: for every node of every host, whether it runs and why, what is skipped, and
//! what the host has applied that the lockfile no longer holds (orphans). A pure function of
//! the lockfile and the hosts' facts, so it is the same whether shown by `cairn plan` or
//! followed by `cairn apply`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use cairn_lockfiles::{Lockfile, NodeKind, NodeName, NodeSpec, ServiceState};

use crate::facts::HostFacts;
use crate::facts_error::{FactsError, HostsFacts};
use crate::kinds::unsupported_reason;
use crate::rollout::RolloutPlan;
use crate::selection::Selection;
use crate::state::StateEntry;

/// Why a node runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The host has never applied it.
    New,
    /// Its own inputs changed since the host applied it.
    InputsChanged,
    /// Its inputs are as applied, but a dependency changed, so its id did.
    DependencyChanged,
    /// The host's copy no longer matches what was applied.
    Drifted(String),
    /// A check: it runs on every apply.
    AlwaysRuns,
    /// A dependency runs in this apply (re-written after drift, say), so this runs after it.
    DependencyRuns(NodeName),
    /// An image built before whose push to the cluster's registry has not succeeded yet: it
    /// runs to push, and what uses it need not run again (the image is the same).
    NotPushed(String),
    /// A repository whose contents (the lockfile's pins and artifacts) are not those the
    /// host holds: it runs to place them, and what installs from it need not run again.
    ContentsChanged,
}

impl fmt::Display for Reason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::New => formatter.write_str("new"),
            Reason::InputsChanged => formatter.write_str("inputs changed"),
            Reason::DependencyChanged => formatter.write_str("a dependency changed"),
            Reason::Drifted(detail) => write!(formatter, "drifted: {detail}"),
            Reason::AlwaysRuns => formatter.write_str("always runs"),
            Reason::DependencyRuns(name) => write!(formatter, "{name} runs"),
            Reason::NotPushed(registry) => write!(formatter, "not pushed to {registry} yet"),
            Reason::ContentsChanged => {
                formatter.write_str("the lockfile pins other packages or artifacts")
            }
        }
    }
}

/// What happens to one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Run(Reason),
    /// The host has it, as it is.
    Skip,
    /// A barrier some of whose nodes run: it runs nothing, and passes once they have all
    /// succeeded, holding its dependants until then (not an action: never counted as one).
    Wait,
    /// This cairn cannot run it yet.
    Unsupported(&'static str),
    /// A dependency cannot run, so neither can this.
    Blocked(NodeName),
    /// The host's facts could not be read.
    Unreachable,
    /// Outside this apply's selection (`--limit`, `--skip-kind`), or needing such a node
    /// that would run: neither run nor recorded, left for a later apply.
    HeldBack(HeldBack),
}

/// Why a node is held back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeldBack {
    /// It is outside the selection.
    NotSelected,
    /// It depends on this node, which is held back.
    Needs(NodeName),
}

impl fmt::Display for HeldBack {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeldBack::NotSelected => formatter.write_str("not selected"),
            HeldBack::Needs(name) => write!(formatter, "needs {name}, which is held back"),
        }
    }
}

impl Decision {
    pub fn runs(&self) -> bool {
        matches!(self, Decision::Run(_))
    }
}

/// The plan of one host.
#[derive(Debug, Clone, Default)]
pub struct HostPlan {
    /// Every node of the host, in lockfile order.
    pub nodes: Vec<(NodeName, Decision)>,
    /// Applied before, absent from this lockfile: removed after the host's nodes succeed.
    pub orphans: Vec<StateEntry>,
    /// Why the host's facts could not be read.
    pub unreachable: Option<FactsError>,
    /// The host is outside `--limit`: not reached, every node held back.
    pub outside_limit: bool,
    /// Another apply holds the host's lock (a plan does not take it): what it has not
    /// finished yet shows here as to run.
    pub apply_running: bool,
    /// Replacements whose turn drained the host and never undrained it (an apply stopped
    /// in it): apply undrains the host first (`left_drained.rs`).
    pub left_drained: Vec<NodeName>,
}

/// The whole plan.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub decisions: HashMap<NodeName, Decision>,
    /// By host name; cluster-wide nodes under `cluster`.
    pub hosts: BTreeMap<String, HostPlan>,
    /// The containers replaced where they run, each with its order (`rollout.rs`): filled
    /// in after the plan, since the order may need the hosts asked.
    pub rollouts: Vec<RolloutPlan>,
}

impl Plan {
    pub fn decision(&self, name: &NodeName) -> &Decision {
        &self.decisions[name]
    }
}

/// Plans `lockfile` against each host's facts (`Err`: the host could not be read); hosts
/// outside `selection` have none, they are not reached.
pub fn plan(lockfile: &Lockfile, facts: &HostsFacts, selection: &Selection) -> Plan {
    let mut decisions: HashMap<NodeName, Decision> = HashMap::with_capacity(lockfile.nodes().len());
    for node in lockfile.in_dependency_order() {
        let decision = if selection.includes_host(node.name.scope.as_str()) {
            let decision = decide(lockfile, node, facts, &decisions);
            if decision.runs() && !selection.includes(&node.name) {
                Decision::HeldBack(HeldBack::NotSelected)
            } else {
                decision
            }
        } else {
            Decision::HeldBack(HeldBack::NotSelected)
        };
        decisions.insert(node.name.clone(), decision);
    }
    let mut hosts: BTreeMap<String, HostPlan> = BTreeMap::new();
    for node in lockfile.nodes() {
        let host = node.name.scope.as_str().to_string();
        hosts
            .entry(host)
            .or_default()
            .nodes
            .push((node.name.clone(), decisions[&node.name].clone()));
    }
    for (host, host_plan) in &mut hosts {
        host_plan.outside_limit = !selection.includes_host(host);
    }
    for (host, result) in facts {
        let host_plan = hosts.entry(host.clone()).or_default();
        match result {
            Err(problem) => host_plan.unreachable = Some(problem.clone()),
            Ok(facts) => {
                host_plan.apply_running = facts.apply_running;
                host_plan.left_drained = facts.left_drained.clone();
                // Orphans of a skipped kind stay until an apply that includes the kind. A
                // file whose turn was never recorded is one as soon as the node is gone.
                host_plan.orphans = facts
                    .applied()
                    .filter(|entry| {
                        lockfile.node(&entry.name).is_none()
                            && !selection.skipped_kinds.contains(&entry.kind())
                    })
                    .cloned()
                    .collect();
            }
        }
    }
    Plan {
        decisions,
        hosts,
        rollouts: Vec::new(),
    }
}

/// What the plan does with `node`, given what it `decided` for the nodes before it (every
/// dependency comes first): it cannot run, waits on what cannot, runs (and why), or is
/// skipped, the host having it as the lockfile says.
fn decide(
    lockfile: &Lockfile,
    node: &cairn_lockfiles::Node,
    facts: &HostsFacts,
    decided: &HashMap<NodeName, Decision>,
) -> Decision {
    let host_entry = node.name.host().and_then(|host| lockfile.hosts.get(host));
    if let Some(reason) = unsupported_reason(&node.spec, host_entry) {
        return Decision::Unsupported(reason);
    }
    // What the node is ordered after stops it as its dependencies do: apply waits for both.
    for dependency in node.waits_for() {
        match &decided[&*dependency] {
            Decision::Unsupported(_) | Decision::Blocked(_) | Decision::Unreachable => {
                return Decision::Blocked(cause_behind(&dependency, decided));
            }
            Decision::HeldBack(_) => {
                return Decision::HeldBack(HeldBack::Needs(cause_behind(&dependency, decided)));
            }
            _ => {}
        }
    }
    if node.name.kind == NodeKind::Barrier {
        return barrier_decision(node, decided);
    }
    if let NodeSpec::Image(image) = &*node.spec {
        return image_decision(node, image, facts);
    }
    let host_facts = match node.name.host().map(|host| facts.get(host)) {
        Some(Some(Ok(host_facts))) => host_facts,
        _ => return Decision::Unreachable,
    };
    if node.name.kind == NodeKind::Check {
        return Decision::Run(Reason::AlwaysRuns);
    }
    let Some(entry) = host_facts.entries.get(&node.name) else {
        return Decision::Run(Reason::New);
    };
    if entry.id != node.id {
        return Decision::Run(if entry.inputs_id != lockfile.inputs_id(node) {
            Reason::InputsChanged
        } else {
            Reason::DependencyChanged
        });
    }
    if let Some(drift) = file_drift(&node.spec, entry, host_facts) {
        return Decision::Run(Reason::Drifted(drift));
    }
    if let NodeSpec::Repository(repository) = &*node.spec
        && let Some(reason) = repository_drift(lockfile, repository, entry, host_facts)
    {
        return Decision::Run(reason);
    }
    if let Some(drift) = container_drift(lockfile, node, host_facts) {
        return Decision::Run(Reason::Drifted(drift));
    }
    if let Some(drift) = package_drift(&node.spec, host_facts) {
        return Decision::Run(Reason::Drifted(drift));
    }
    if let Some(drift) = service_drift(&node.spec, host_facts) {
        return Decision::Run(Reason::Drifted(drift));
    }
    // A dependency that runs although its id is unchanged (drift repaired: a file written
    // again, a container started again) is followed by its dependants: a service restarts
    // after its configuration is put back. Not what runs without changing anything a
    // dependant uses: checks and health probes (they observe), images (content-addressed:
    // built again, or pushed, they are the same image), repositories (what installed from
    // them is as it was). Followed, those would spread across hosts: a control host's
    // image cache emptied would restart Docker on every host.
    // Nor what the node is only ordered after (`ordered_after`): it uses nothing of those,
    // which is why they are outside its id; it waits for them, and that is all.
    if let Some(dependency) = node.deps.iter().find(|dependency| {
        !matches!(
            dependency.kind,
            NodeKind::Check
                | NodeKind::Barrier
                | NodeKind::Health
                | NodeKind::Image
                | NodeKind::Repository
        ) && decided[&**dependency].runs()
    }) {
        return Decision::Run(Reason::DependencyRuns(dependency.into_owned()));
    }
    Decision::Skip
}

/// An image node's decision: built, and pushed to the cluster's registry if it has one;
/// until a push succeeds (the registry may not run yet), the image node runs again to push.
fn image_decision(
    node: &cairn_lockfiles::Node,
    image: &cairn_lockfiles::ImageNode,
    facts: &HostsFacts,
) -> Decision {
    let tag = cairn_images::image_builder::image_tag(&image.name, &node.id);
    match facts.get(cairn_lockfiles::Scope::CLUSTER_NAME) {
        Some(Ok(control)) if control.images.contains(&tag) => match &image.registry {
            Some(registry) if !control.pushed.contains(&(tag.clone(), registry.clone())) => {
                Decision::Run(Reason::NotPushed(registry.clone()))
            }
            _ => Decision::Skip,
        },
        Some(Ok(_)) => Decision::Run(Reason::New),
        _ => Decision::Unreachable,
    }
}

/// How a file node's file differs from what the host's `entry` recorded writing, if it
/// does.
fn file_drift(spec: &NodeSpec, entry: &StateEntry, host_facts: &HostFacts) -> Option<String> {
    let NodeSpec::File(file) = spec else {
        return None;
    };
    match host_facts.file_hashes.get(&file.path) {
        Some(None) => Some("the file is missing".to_string()),
        Some(Some(actual)) if Some(actual) != entry.sha256.as_ref() => {
            Some("the file's content changed".to_string())
        }
        _ => None,
    }
}

/// How a container node's container differs from the one it started, if it does: gone,
/// another in its place, or not running.
fn container_drift(
    lockfile: &Lockfile,
    node: &cairn_lockfiles::Node,
    host_facts: &HostFacts,
) -> Option<String> {
    let (NodeSpec::Container(container), Some(host)) = (&*node.spec, node.name.host()) else {
        return None;
    };
    let paths = lockfile
        .hosts
        .get(host)
        .map(crate::host_paths::HostPaths::of)
        .unwrap_or_default();
    let docker_name = crate::container_names::docker_name(&container.name, host, &paths);
    match host_facts.containers.get(&docker_name) {
        None => Some("the container is gone".to_string()),
        Some((id, _)) if *id != node.id.to_string() => {
            Some("another container has its name".to_string())
        }
        Some((_, state)) if state != "running" => Some(format!("the container is {state}")),
        Some(_) => None,
    }
}

/// The node to name as what stops a dependant: `dependency`, or behind a barrier (which
/// runs nothing) the node that stops the barrier, so the reason names a check, say.
fn cause_behind(dependency: &NodeName, decided: &HashMap<NodeName, Decision>) -> NodeName {
    if dependency.kind != NodeKind::Barrier {
        return dependency.clone();
    }
    match &decided[dependency] {
        Decision::Blocked(cause) | Decision::HeldBack(HeldBack::Needs(cause)) => cause.clone(),
        _ => dependency.clone(),
    }
}

/// A barrier (its dependencies neither blocked nor held back) waits where any of them runs
/// or waits, and is skipped where none does: it is never recorded, so it never runs.
fn barrier_decision(
    node: &cairn_lockfiles::Node,
    decided: &HashMap<NodeName, Decision>,
) -> Decision {
    if node
        .deps
        .iter()
        .any(|dependency| matches!(decided[&*dependency], Decision::Run(_) | Decision::Wait))
    {
        Decision::Wait
    } else {
        Decision::Skip
    }
}

/// Why a repository the host recorded runs again: its `Release` gone or changed on the
/// host, or the lockfile's contents not those placed.
fn repository_drift(
    lockfile: &Lockfile,
    repository: &cairn_lockfiles::RepositoryNode,
    entry: &StateEntry,
    facts: &HostFacts,
) -> Option<Reason> {
    match facts.file_hashes.get(&repository.release_path()) {
        Some(None) => {
            return Some(Reason::Drifted(
                "the repository's Release is missing".to_string(),
            ));
        }
        Some(Some(actual)) if Some(actual) != entry.sha256.as_ref() => {
            return Some(Reason::Drifted(
                "the repository's Release changed".to_string(),
            ));
        }
        _ => {}
    }
    let expected = cairn_images::offline_repository::OfflineRepository::serving(
        lockfile,
        &repository.suite,
        &repository.components,
    )
    .map(|contents| contents.digest())
    .ok();
    (expected.is_none() || entry.contents != expected).then_some(Reason::ContentsChanged)
}

/// A package the node installs that the host no longer has, or has at another version
/// than the lockfile pins; or a package of the base system its pins assume, gone.
fn package_drift(spec: &NodeSpec, facts: &HostFacts) -> Option<String> {
    let NodeSpec::Package(package) = spec else {
        return None;
    };
    let installed = package
        .installed_packages()
        .into_iter()
        .find_map(|requirement| {
            match (
                facts.installed_version(&requirement.name),
                &requirement.version,
            ) {
                (None, _) => Some(format!("{} is not installed", requirement.name)),
                (Some(installed), Some(pinned)) if installed != pinned => Some(format!(
                    "{} is at {installed}, the lockfile pins {pinned}",
                    requirement.name
                )),
                _ => None,
            }
        });
    installed.or_else(|| {
        let pins = package.pins.as_ref()?;
        pins.assumed_names()
            .find(|name| facts.installed_version(name).is_none())
            .map(|name| format!("{name}, which the pins assume the host has, is not installed"))
    })
}

/// A service whose state differs from the node's: stopped or failed when it should run,
/// disabled when it should start at boot, and the reverse.
fn service_drift(spec: &NodeSpec, facts: &HostFacts) -> Option<String> {
    let NodeSpec::Service(service) = spec else {
        return None;
    };
    // No answer from systemd: nothing to compare, so no drift is claimed.
    let actual = facts.services.get(&service.unit)?;
    if actual.load_state == "not-found" {
        return Some("the unit is not installed".to_string());
    }
    let active = matches!(
        actual.active_state.as_str(),
        "active" | "activating" | "reloading"
    );
    match service.state {
        ServiceState::Running if !active => {
            return Some(format!("the service is {}", actual.active_state));
        }
        ServiceState::Stopped if active => return Some("the service is running".to_string()),
        _ => {}
    }
    match (service.enabled, actual.unit_file_state.as_str()) {
        (true, "disabled") => Some("the service is disabled".to_string()),
        (false, "enabled") => Some("the service is enabled".to_string()),
        _ => None,
    }
}
