use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use cairn_lockfiles::{NodeKind, NodeName};
use serde_json::json;

use crate::transport::TransferTotals;

/// What became of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeOutcome {
    /// It ran; what it did.
    Ran(String),
    /// A barrier: everything it waits for succeeded. Not an action, so never counted.
    Passed,
    /// The host already had it.
    Skipped,
    /// It ran and failed, or could not start.
    Failed(String),
    /// It did not run: why (a dependency failed, the host is unreachable, not supported).
    NotRun(String),
    /// Outside the apply's selection, or needing such a node: left for a later apply, as
    /// asked; not a failure.
    HeldBack(String),
}

/// When a node that ran started (since the apply began) and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeTiming {
    pub started: Duration,
    pub duration: Duration,
}

impl NodeTiming {
    pub fn ended(&self) -> Duration {
        self.started + self.duration
    }
}

/// What an apply did on one host.
#[derive(Debug, Clone, Default)]
pub struct HostReport {
    pub nodes: Vec<(NodeName, NodeOutcome)>,
    /// The nodes that ran (or failed running), timed.
    pub timings: BTreeMap<NodeName, NodeTiming>,
    pub orphans_removed: Vec<(NodeName, String)>,
    /// The replacements whose turn left the host drained (an apply stopped in it), undrained
    /// before anything ran.
    pub undrained: Vec<NodeName>,
    /// A problem with the host as a whole: unreachable, locked by another apply.
    pub problem: Option<String>,
    /// What cairn sent the host over its transport (reached hosts).
    pub sent: Option<TransferTotals>,
    /// How long reaching the host, taking its lock and reading its facts took.
    pub reach_time: Option<Duration>,
}

impl HostReport {
    /// How many of the host's nodes, barriers aside (they are not actions), match.
    pub fn count(&self, matches: impl Fn(&NodeOutcome) -> bool) -> usize {
        self.actions()
            .filter(|(_, outcome)| matches(outcome))
            .count()
    }

    /// The host's nodes but its barriers, which run nothing.
    pub fn actions(&self) -> impl Iterator<Item = &(NodeName, NodeOutcome)> {
        self.nodes
            .iter()
            .filter(|(name, _)| name.kind != NodeKind::Barrier)
    }

    /// From its first node's start to its last node's end; `None` when none ran.
    pub fn wall_time(&self) -> Option<Duration> {
        let first = self.timings.values().map(|timing| timing.started).min()?;
        let last = self.timings.values().map(NodeTiming::ended).max()?;
        Some(last - first)
    }

    pub fn succeeded(&self) -> bool {
        self.problem.is_none()
            && self.nodes.iter().all(|(_, outcome)| {
                matches!(
                    outcome,
                    NodeOutcome::Ran(_)
                        | NodeOutcome::Passed
                        | NodeOutcome::Skipped
                        | NodeOutcome::HeldBack(_)
                )
            })
    }
}

/// What pruning did with the old images of one container name, at the end of an apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerPruning {
    /// By host: the images of releases beyond `keep_releases` the host no longer has
    /// (removed, or found gone already), taken out of its release history.
    pub removed: BTreeMap<String, Vec<String>>,
    /// By host: the images that could not be removed, and why (kept for the next apply).
    pub failed: BTreeMap<String, Vec<(String, String)>>,
}

impl ContainerPruning {
    /// `pruned 2 old images of zookeeper on 3 hosts`; `None` where nothing was removed.
    pub fn line(&self, container: &str) -> Option<String> {
        let images: std::collections::BTreeSet<&String> = self.removed.values().flatten().collect();
        if images.is_empty() {
            return None;
        }
        let hosts = self
            .removed
            .values()
            .filter(|images| !images.is_empty())
            .count();
        Some(format!(
            "pruned {} old image{} of {container} on {hosts} host{}",
            images.len(),
            plural(images.len()),
            plural(hosts)
        ))
    }

    /// One `warning:` line per image that could not be removed, naming its host.
    pub fn warnings(&self, container: &str) -> Vec<String> {
        self.failed
            .iter()
            .flat_map(|(host, failures)| {
                failures.iter().map(move |(image, reason)| {
                    format!("warning: {host}: cannot prune image {image} of {container}: {reason}")
                })
            })
            .collect()
    }

    fn to_json(&self) -> serde_json::Value {
        let failed: Vec<serde_json::Value> = self
            .failed
            .iter()
            .flat_map(|(host, failures)| {
                failures.iter().map(
                    move |(image, reason)| json!({ "host": host, "image": image, "error": reason }),
                )
            })
            .collect();
        json!({ "hosts": self.removed, "failed": failed })
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// What an apply did, by host (`cluster` for the cluster-wide nodes).
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub hosts: BTreeMap<String, HostReport>,
    /// By container name: the old images pruned once its release was healthy on every
    /// host that runs it. A failure to prune is a warning, never the apply's failure.
    pub pruned: BTreeMap<String, ContainerPruning>,
    /// From reaching the first host to the end.
    pub elapsed: Duration,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        self.hosts.values().all(HostReport::succeeded)
    }

    /// One line per host, then every failure with its reason.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for (host, report) in &self.hosts {
            let ran = report.count(|outcome| matches!(outcome, NodeOutcome::Ran(_)));
            let skipped = report.count(|outcome| matches!(outcome, NodeOutcome::Skipped));
            let failed = report.count(|outcome| matches!(outcome, NodeOutcome::Failed(_)));
            let not_run = report.count(|outcome| matches!(outcome, NodeOutcome::NotRun(_)));
            let status = if report.succeeded() { "ok" } else { "FAILED" };
            let _ = write!(
                out,
                "{host:<20} {status:<6} ran {ran}, skipped {skipped}, failed {failed}, not run {not_run}"
            );
            let held_back = report.count(|outcome| matches!(outcome, NodeOutcome::HeldBack(_)));
            if held_back > 0 {
                let _ = write!(out, ", held back {held_back}");
            }
            if !report.orphans_removed.is_empty() {
                let _ = write!(out, ", orphans removed {}", report.orphans_removed.len());
            }
            out.push('\n');
            for name in &report.undrained {
                let _ = writeln!(
                    out,
                    "  undrained first: the turn of {name} left it drained in an apply that stopped"
                );
            }
            if let Some(problem) = &report.problem {
                let _ = writeln!(out, "  {problem}");
            }
        }
        let mut failures = String::new();
        for report in self.hosts.values() {
            for (name, outcome) in &report.nodes {
                if let NodeOutcome::Failed(reason) = outcome {
                    let _ = writeln!(failures, "  {name}: {}", reason.replace('\n', "\n    "));
                }
            }
        }
        for (container, pruning) in &self.pruned {
            for line in pruning
                .line(container)
                .into_iter()
                .chain(pruning.warnings(container))
            {
                let _ = writeln!(out, "{line}");
            }
        }
        if !failures.is_empty() {
            out.push_str("failed:\n");
            out.push_str(&failures);
        }
        out
    }

    /// The `limit` slowest nodes, then every host by wall time (its first node's start to
    /// its last node's end), slowest first, with what cairn sent it.
    pub fn timings_summary(&self, limit: usize) -> String {
        let mut nodes: Vec<(&NodeName, &NodeTiming)> = self
            .hosts
            .values()
            .flat_map(|report| &report.timings)
            .collect();
        nodes.sort_by(|left, right| {
            right
                .1
                .duration
                .cmp(&left.1.duration)
                .then(left.0.cmp(right.0))
        });
        let mut out = format!("slowest nodes (of {} run):\n", nodes.len());
        for (name, timing) in nodes.iter().take(limit) {
            let _ = writeln!(out, "  {:>9}  {name}", seconds(timing.duration));
        }
        let mut hosts: Vec<(&String, &HostReport, Duration)> = self
            .hosts
            .iter()
            .filter_map(|(host, report)| report.wall_time().map(|wall| (host, report, wall)))
            .collect();
        hosts.sort_by(|left, right| right.2.cmp(&left.2).then(left.0.cmp(right.0)));
        let _ = writeln!(
            out,
            "hosts by wall time (first node's start to last node's end; the apply took {}):",
            seconds(self.elapsed)
        );
        for (host, report, wall) in hosts {
            let _ = write!(
                out,
                "  {:>9}  {host}  ({} nodes ran",
                seconds(wall),
                report.timings.len()
            );
            if let Some(sent) = report.sent {
                let _ = write!(
                    out,
                    "; sent {} bytes in {} commands",
                    sent.script_bytes + sent.stdin_bytes,
                    sent.commands
                );
            }
            out.push_str(")\n");
        }
        out
    }

    /// Per host: the nodes that ran, were skipped, failed and did not run, by name; how
    /// long each node that ran took and the host's wall time (milliseconds); what cairn
    /// sent it. Per container name: the old images pruned, by host, and those that could
    /// not be.
    pub fn to_json(&self) -> serde_json::Value {
        let hosts: serde_json::Map<String, serde_json::Value> = self
            .hosts
            .iter()
            .map(|(host, report)| {
                let names = |matches: &dyn Fn(&NodeOutcome) -> bool| -> Vec<String> {
                    report
                        .actions()
                        .filter(|(_, outcome)| matches(outcome))
                        .map(|(name, _)| name.to_string())
                        .collect()
                };
                let failed: Vec<serde_json::Value> = report
                    .nodes
                    .iter()
                    .filter_map(|(name, outcome)| match outcome {
                        NodeOutcome::Failed(reason) => Some(json!({ "name": name.to_string(), "error": reason })),
                        _ => None,
                    })
                    .collect();
                let with_reasons = |reason_of: &dyn Fn(&NodeOutcome) -> Option<&String>| {
                    report
                        .actions()
                        .filter_map(|(name, outcome)| {
                            reason_of(outcome).map(|reason| json!({ "name": name.to_string(), "reason": reason }))
                        })
                        .collect::<Vec<serde_json::Value>>()
                };
                let not_run = with_reasons(&|outcome| match outcome {
                    NodeOutcome::NotRun(reason) => Some(reason),
                    _ => None,
                });
                let held_back = with_reasons(&|outcome| match outcome {
                    NodeOutcome::HeldBack(reason) => Some(reason),
                    _ => None,
                });
                (
                    host.clone(),
                    json!({
                        "succeeded": report.succeeded(),
                        "problem": report.problem,
                        "ran": names(&|outcome| matches!(outcome, NodeOutcome::Ran(_))),
                        "skipped": names(&|outcome| matches!(outcome, NodeOutcome::Skipped)),
                        "failed": failed,
                        "not_run": not_run,
                        "held_back": held_back,
                        "orphans_removed": report.orphans_removed.iter().map(|(name, _)| name.to_string()).collect::<Vec<_>>(),
                        "undrained": report.undrained.iter().map(NodeName::to_string).collect::<Vec<_>>(),
                        "durations_ms": report.timings.iter().map(|(name, timing)| (name.to_string(), json!(milliseconds(timing.duration)))).collect::<serde_json::Map<_, _>>(),
                        "summaries": report.nodes.iter().filter_map(|(name, outcome)| match outcome {
                            NodeOutcome::Ran(summary) => Some((name.to_string(), json!(summary))),
                            _ => None,
                        }).collect::<serde_json::Map<_, _>>(),
                        "started_ms": report.timings.iter().map(|(name, timing)| (name.to_string(), json!(milliseconds(timing.started)))).collect::<serde_json::Map<_, _>>(),
                        "wall_ms": report.wall_time().map(milliseconds),
                        "reach_ms": report.reach_time.map(milliseconds),
                        "sent": report.sent.map(|sent| json!({
                            "commands": sent.commands,
                            "script_bytes": sent.script_bytes,
                            "stdin_bytes": sent.stdin_bytes,
                        })),
                    }),
                )
            })
            .collect();
        let pruned: serde_json::Map<String, serde_json::Value> = self
            .pruned
            .iter()
            .map(|(container, pruning)| (container.clone(), pruning.to_json()))
            .collect();
        json!({ "succeeded": self.succeeded(), "elapsed_ms": milliseconds(self.elapsed), "hosts": hosts, "pruned": pruned })
    }
}

/// Whole milliseconds, as the JSON report gives times.
pub(crate) fn milliseconds(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `1.234 s`.
fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}
