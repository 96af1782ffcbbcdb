use std::collections::BTreeMap;
use std::fmt::Write as _;

use cairn_lockfiles::NodeName;
use serde_json::json;

/// What became of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeOutcome {
    /// It ran; what it did.
    Ran(String),
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

/// What an apply did on one host.
#[derive(Debug, Clone, Default)]
pub struct HostReport {
    pub nodes: Vec<(NodeName, NodeOutcome)>,
    pub orphans_removed: Vec<(NodeName, String)>,
    /// A problem with the host as a whole: unreachable, locked by another apply.
    pub problem: Option<String>,
}

impl HostReport {
    pub fn count(&self, matches: impl Fn(&NodeOutcome) -> bool) -> usize {
        self.nodes
            .iter()
            .filter(|(_, outcome)| matches(outcome))
            .count()
    }

    pub fn succeeded(&self) -> bool {
        self.problem.is_none()
            && self.nodes.iter().all(|(_, outcome)| {
                matches!(
                    outcome,
                    NodeOutcome::Ran(_) | NodeOutcome::Skipped | NodeOutcome::HeldBack(_)
                )
            })
    }
}

/// What an apply did, by host (`cluster` for the cluster-wide nodes).
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub hosts: BTreeMap<String, HostReport>,
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
        if !failures.is_empty() {
            out.push_str("failed:\n");
            out.push_str(&failures);
        }
        out
    }

    /// Per host: the nodes that ran, were skipped, failed and did not run, by name.
    pub fn to_json(&self) -> serde_json::Value {
        let hosts: serde_json::Map<String, serde_json::Value> = self
            .hosts
            .iter()
            .map(|(host, report)| {
                let names = |matches: &dyn Fn(&NodeOutcome) -> bool| -> Vec<String> {
                    report
                        .nodes
                        .iter()
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
                        .nodes
                        .iter()
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
                    }),
                )
            })
            .collect();
        json!({ "succeeded": self.succeeded(), "hosts": hosts })
    }
}
