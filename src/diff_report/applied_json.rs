use cairn_executor::{AppliedChange, AppliedDiff, ChangeCause, FileDrift};
use cairn_lockfiles::NodeName;
use serde_json::{Value as Json, json};

use crate::diff_report::json::impact_json;

/// The machine-readable report of `cairn diff --applied`; its structure is documented in
/// the README. Per host: what LOCK adds, removes and changes over the host's record, what
/// drifted, and the blast radius.
pub fn applied_diff_json(diff: &AppliedDiff) -> Json {
    let hosts: serde_json::Map<String, Json> = diff
        .hosts
        .iter()
        .map(|(host, host_diff)| {
            (
                host.clone(),
                json!({
                    "equal": host_diff.is_empty(),
                    "unreachable": host_diff.unreachable.as_ref().map(ToString::to_string),
                    "added": names(&host_diff.added),
                    "removed": names(&host_diff.removed),
                    "changed": host_diff.changed.iter().map(change_json).collect::<Vec<_>>(),
                    "drifted": host_diff
                        .drifted
                        .iter()
                        .map(|(name, drift)| json!({ "name": name.to_string(), "drift": drift_json(*drift) }))
                        .collect::<Vec<_>>(),
                    "cannot_apply": names(&host_diff.cannot_apply),
                    "impact": impact_json(&host_diff.impact),
                }),
            )
        })
        .collect();
    json!({ "equal": diff.is_empty(), "hosts": hosts })
}

fn names(names: &[NodeName]) -> Vec<String> {
    names.iter().map(ToString::to_string).collect()
}

fn change_json(change: &AppliedChange) -> Json {
    let cause = match change.cause {
        ChangeCause::InputsChanged => "inputs_changed",
        ChangeCause::DependenciesChanged => "dependencies_changed",
        ChangeCause::DependencyChanged { .. } => "dependency_changed",
        ChangeCause::UnrecordedDependencyChanged { .. } => "unrecorded_dependency_changed",
    };
    json!({
        "name": change.name.to_string(),
        "kind": change.name.kind.as_str(),
        "applied_id": change.applied_id.to_string(),
        "new_id": change.new_id.to_string(),
        "applied_inputs_id": change.applied_inputs_id.to_string(),
        "new_inputs_id": change.new_inputs_id.to_string(),
        "changed_itself": change.changed_itself(),
        "cause": cause,
        "root_causes": names(change.root_causes()),
        "drift": change.drift.map(drift_json),
    })
}

fn drift_json(drift: FileDrift) -> &'static str {
    match drift {
        FileDrift::Missing => "missing",
        FileDrift::ContentChanged => "content_changed",
    }
}
