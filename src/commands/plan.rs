use std::fmt::Write as _;
use std::path::Path;

use cairn_executor::{Decision, Plan, Reason, plan_lockfile};
use cairn_lockfiles::{Lockfile, NodeKind, NodeName};
use serde_json::json;

use crate::cli::{ConnectionArguments, SelectionArguments};
use crate::commands::connection::apply_options;
use crate::diff_report::policy_json;
use crate::failure::Failure;
use crate::output::print;

pub fn run(
    lockfile_path: &Path,
    connection: &ConnectionArguments,
    selection: &SelectionArguments,
    as_json: bool,
) -> Result<(), Failure> {
    let lockfile = Lockfile::read(lockfile_path)?;
    let options = apply_options(connection, selection, &lockfile, lockfile_path)?;
    let plan = plan_lockfile(&lockfile, &options);
    if as_json {
        let text = serde_json::to_string_pretty(&plan_json(&plan))
            .map_err(|error| Failure::Failed(error.to_string()))?;
        print(&format!("{text}\n"))?;
    } else {
        print(&plan_text(&plan))?;
    }
    unreachable_hosts(&plan)
}

/// A failure, as `diff --applied`, when a host could not be read: the plan of the others
/// is printed, and a pipeline gated on plan stops.
fn unreachable_hosts(plan: &Plan) -> Result<(), Failure> {
    Failure::unreachable(
        plan.hosts
            .values()
            .filter_map(|host_plan| host_plan.unreachable.clone()),
    )
}

/// Per host: a summary line, then each node that runs (with why) and each orphan; then the
/// rollouts: each replaced container's hosts in the order they are replaced.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = hosts_text(plan);
    if !plan.rollouts.is_empty() {
        out.push_str("rollouts (replacements of running containers, in this order):\n");
        for rollout in &plan.rollouts {
            let _ = writeln!(out, "  {rollout}");
        }
    }
    out
}

/// Per host: a summary line, then each node that runs (with why) and each orphan.
fn hosts_text(plan: &Plan) -> String {
    let mut out = String::new();
    for (host, host_plan) in &plan.hosts {
        // Barriers run nothing: not actions, neither counted nor listed.
        let actions: Vec<&(NodeName, Decision)> = host_plan
            .nodes
            .iter()
            .filter(|(name, _)| name.kind != NodeKind::Barrier)
            .collect();
        let runs = actions
            .iter()
            .filter(|(_, decision)| decision.runs())
            .count();
        let skips = actions
            .iter()
            .filter(|(_, decision)| *decision == Decision::Skip)
            .count();
        let held_back = actions
            .iter()
            .filter(|(_, decision)| matches!(decision, Decision::HeldBack(_)))
            .count();
        if host_plan.outside_limit {
            let _ = writeln!(out, "{host}: outside --limit, not reached");
            continue;
        }
        let others = actions.len() - runs - skips - held_back;
        let _ = write!(out, "{host}: {runs} to run, {skips} to skip");
        if held_back > 0 {
            let _ = write!(out, ", {held_back} held back");
        }
        if others > 0 {
            let _ = write!(out, ", {others} cannot run");
        }
        if !host_plan.orphans.is_empty() {
            let _ = write!(out, ", {} orphaned", host_plan.orphans.len());
        }
        out.push('\n');
        if let Some(problem) = &host_plan.unreachable {
            let _ = writeln!(out, "  unreachable: {problem}");
            continue;
        }
        if host_plan.apply_running {
            let _ = writeln!(
                out,
                "  note    an apply is running on this host (it holds the host's lock): what it has not finished shows as to run"
            );
        }
        for name in &host_plan.left_drained {
            let _ = writeln!(
                out,
                "  undrain first  the turn of {name} left this host drained (an apply stopped in it)"
            );
        }
        let checks = actions
            .iter()
            .filter(|(_, decision)| *decision == Decision::Run(Reason::AlwaysRuns))
            .count();
        if checks > 0 {
            let _ = writeln!(out, "  check   {checks} checks (they run on every apply)");
        }
        for (name, decision) in actions {
            let key = format!("{}:{}", name.kind, name.key);
            match decision {
                Decision::Run(Reason::AlwaysRuns) | Decision::Wait => {}
                Decision::Run(reason) => {
                    let _ = writeln!(out, "  run     {key}  ({reason})");
                }
                Decision::Skip => {}
                Decision::Unsupported(reason) => {
                    let _ = writeln!(out, "  cannot  {key}  ({reason})");
                }
                Decision::Blocked(dependency) => {
                    let _ = writeln!(out, "  cannot  {key}  ({dependency} cannot run)");
                }
                Decision::Unreachable => {
                    let _ = writeln!(out, "  cannot  {key}  (host unreachable)");
                }
                Decision::HeldBack(why) => {
                    let _ = writeln!(out, "  hold    {key}  ({why})");
                }
            }
        }
        for orphan in &host_plan.orphans {
            let _ = writeln!(
                out,
                "  remove  {}:{}  (no longer in the lockfile)",
                orphan.name.kind, orphan.name.key
            );
        }
    }
    out
}

fn plan_json(plan: &Plan) -> serde_json::Value {
    let hosts: serde_json::Map<String, serde_json::Value> = plan
        .hosts
        .iter()
        .map(|(host, host_plan)| {
            let nodes: Vec<serde_json::Value> = host_plan
                .nodes
                .iter()
                .map(|(name, decision)| {
                    let (action, reason) = match decision {
                        Decision::Run(reason) => ("run", Some(reason.to_string())),
                        Decision::Skip => ("skip", None),
                        Decision::Wait => ("wait", None),
                        Decision::Unsupported(reason) => ("cannot", Some((*reason).to_string())),
                        Decision::Blocked(dependency) => {
                            ("cannot", Some(format!("{dependency} cannot run")))
                        }
                        Decision::Unreachable => ("cannot", Some("host unreachable".to_string())),
                        Decision::HeldBack(why) => ("hold", Some(why.to_string())),
                    };
                    json!({ "name": name.to_string(), "action": action, "reason": reason })
                })
                .collect();
            let orphans: Vec<String> = host_plan
                .orphans
                .iter()
                .map(|orphan| orphan.name.to_string())
                .collect();
            (
                host.clone(),
                json!({ "unreachable": host_plan.unreachable.as_ref().map(ToString::to_string), "outside_limit": host_plan.outside_limit, "apply_running": host_plan.apply_running, "left_drained": host_plan.left_drained.iter().map(ToString::to_string).collect::<Vec<_>>(), "nodes": nodes, "orphans": orphans }),
            )
        })
        .collect();
    let rollouts: Vec<serde_json::Value> = plan
        .rollouts
        .iter()
        .map(|rollout| {
            json!({
                "container": rollout.container,
                "order": rollout.order,
                "last": rollout.last,
                "at_once": rollout.width,
                "policy": policy_json(&rollout.policy),
                "files_in_turn": rollout.files_in_turn,
            })
        })
        .collect();
    json!({ "hosts": hosts, "rollouts": rollouts })
}
