//! The rollouts part of a diff: how each replaced container's hosts are replaced, and the
//! policies that changed; as text and as JSON.

use std::fmt::Write as _;

use cairn_lockfiles::{LockfileDiff, RolloutPolicy};
use serde_json::{Value as Json, json};

use crate::diff_report::Palette;

/// One line per replaced container (its hosts, then its policy), then each changed policy
/// (old, then new); nothing when there is neither.
pub(super) fn rollouts_text(diff: &LockfileDiff, palette: Palette, out: &mut String) {
    if !diff.rollouts.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            palette.heading("rollouts (replacements of running containers, in this order)")
        );
        for rollout in &diff.rollouts {
            let _ = writeln!(
                out,
                "  {} on {}: {}",
                rollout.container,
                rollout.hosts.join(", "),
                rollout.policy
            );
        }
        out.push('\n');
    }
    if !diff.rollout_changes.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            palette.heading("rollout policies changed (no container is replaced for these)")
        );
        for change in &diff.rollout_changes {
            let _ = writeln!(out, "  {}:", change.container);
            let _ = writeln!(out, "{}", palette.removed(&format!("    - {}", change.old)));
            let _ = writeln!(out, "{}", palette.added(&format!("    + {}", change.new)));
        }
        out.push('\n');
    }
}

/// `rollouts` and `rollout_changes` of the JSON report.
pub(super) fn rollouts_json(diff: &LockfileDiff) -> (Json, Json) {
    let rollouts = diff
        .rollouts
        .iter()
        .map(|rollout| {
            json!({
                "container": rollout.container,
                "hosts": rollout.hosts,
                "policy": policy_json(&rollout.policy),
            })
        })
        .collect::<Vec<_>>();
    let changes = diff
        .rollout_changes
        .iter()
        .map(|change| {
            json!({
                "container": change.container,
                "old": policy_json(&change.old),
                "new": policy_json(&change.new),
            })
        })
        .collect::<Vec<_>>();
    (Json::from(rollouts), Json::from(changes))
}

/// A policy's fields, as the lockfile's `[rollouts.NAME]` table holds them.
pub fn policy_json(policy: &RolloutPolicy) -> Json {
    json!({
        "max_parallel": policy.max_parallel.to_string(),
        "last_where": policy.last.as_ref().map(|last| &last.run),
        "last_are": policy.last.as_ref().map(|last| &last.are),
        "gates": policy.gates,
        "min_healthy_seconds": policy.min_healthy_seconds,
        "deadline_seconds": policy.deadline_seconds,
        "keep_releases": policy.keep_releases,
    })
}
