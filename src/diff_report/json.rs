use cairn_lockfiles::{
    ChangedNode, FileChangeKind, HostChange, HostImpact, InputDifference, LockfileDiff,
    PackageChange, SecretChange,
};
use serde_json::{Value as Json, json};

use crate::commands::show::value_json;
use crate::diff_report::order_changes::order_changes_json;
use crate::diff_report::rollouts::rollouts_json;

/// The machine-readable report; its structure is documented in the README (`cairn diff`).
/// Secrets appear by name only.
pub fn diff_json(diff: &LockfileDiff) -> Json {
    let names = |names: &[cairn_lockfiles::NodeName]| -> Vec<String> {
        names.iter().map(ToString::to_string).collect()
    };
    let hosts: Vec<Json> = diff
        .hosts
        .iter()
        .map(|change| match change {
            HostChange::Added { host, entry } => json!({
                "host": host, "change": "added", "address": entry.address, "roles": entry.roles,
            }),
            HostChange::Removed { host, entry } => json!({
                "host": host, "change": "removed", "address": entry.address, "roles": entry.roles,
            }),
            HostChange::Changed { host, fields } => json!({
                "host": host,
                "change": "changed",
                "fields": fields
                    .iter()
                    .map(|field| json!({ "field": field.field, "old": field.old, "new": field.new }))
                    .collect::<Vec<_>>(),
            }),
        })
        .collect();
    let secrets: Vec<Json> = diff
        .secrets
        .iter()
        .map(|change| match change {
            SecretChange::Added { name } => json!({ "name": name, "change": "added" }),
            SecretChange::Removed { name } => json!({ "name": name, "change": "removed" }),
            SecretChange::Rotated { name } => json!({ "name": name, "change": "rotated" }),
            SecretChange::Moved { name, old, new } => json!({
                "name": name, "change": "moved", "old_source": old.to_string(), "new_source": new.to_string(),
            }),
        })
        .collect();
    let impact: serde_json::Map<String, Json> = diff
        .impact
        .iter()
        .filter(|(_, impact)| !impact.is_empty())
        .map(|(host, impact)| (host.clone(), impact_json(impact)))
        .collect();
    let (rollouts, rollout_changes) = rollouts_json(diff);
    json!({
        "equal": diff.is_empty(),
        "cluster": diff
            .cluster
            .iter()
            .map(|field| json!({ "field": field.field, "old": field.old, "new": field.new }))
            .collect::<Vec<_>>(),
        "hosts": hosts,
        "secrets": secrets,
        "added": names(&diff.added),
        "removed": names(&diff.removed),
        "changed": diff.changed.iter().map(changed_json).collect::<Vec<_>>(),
        "impact": impact,
        "rollouts": rollouts,
        "rollout_changes": rollout_changes,
        "order_changes": order_changes_json(diff),
    })
}

/// What applying does to one host's running work.
pub(super) fn impact_json(impact: &HostImpact) -> Json {
    json!({
        "containers_replaced": impact.containers_replaced,
        "containers_started": impact.containers_started,
        "containers_removed": impact.containers_removed,
        "services_restarted": impact.services_restarted,
        "services_started": impact.services_started,
        "services_stopped": impact.services_stopped,
        "removed": impact.removed.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn changed_json(node: &ChangedNode) -> Json {
    let inputs: Vec<Json> = node
        .inputs
        .iter()
        .map(|input| {
            let field = input.field;
            match &input.difference {
                InputDifference::Value { old, new } => json!({
                    "field": field,
                    "type": "value",
                    "old": old.as_ref().map(value_json),
                    "new": new.as_ref().map(value_json),
                }),
                InputDifference::Text(change) => json!({
                    "field": field, "type": "text", "diff": &*change.unified,
                }),
                InputDifference::Packages(changes) => json!({
                    "field": field,
                    "type": "packages",
                    "changes": changes.iter().map(package_json).collect::<Vec<_>>(),
                }),
                InputDifference::Files(changes) => json!({
                    "field": field,
                    "type": "files",
                    "changes": changes
                        .iter()
                        .map(|change| match &change.kind {
                            FileChangeKind::Added => json!({ "path": change.path, "change": "added" }),
                            FileChangeKind::Removed => json!({ "path": change.path, "change": "removed" }),
                            FileChangeKind::Changed { mode, content } => json!({
                                "path": change.path,
                                "change": "changed",
                                "mode": mode.as_ref().map(|(old, new)| json!({ "old": old, "new": new })),
                                "diff": content.as_ref().map(|content| &*content.unified),
                            }),
                        })
                        .collect::<Vec<_>>(),
                }),
            }
        })
        .collect();
    json!({
        "name": node.name.to_string(),
        "kind": node.name.kind.as_str(),
        "host": node.name.host(),
        "old_id": node.old_id.to_string(),
        "new_id": node.new_id.to_string(),
        "changed_itself": node.changed_itself(),
        "inputs": inputs,
        "rotated_secrets": node.rotated_secrets,
        "dependencies_added": node.dependencies_added.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "dependencies_removed": node.dependencies_removed.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "root_causes": node.root_causes.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn package_json(change: &PackageChange) -> Json {
    match change {
        PackageChange::Version { name, old, new } => {
            json!({ "package": name, "change": "version", "old": old, "new": new })
        }
        PackageChange::Added(requirement) => json!({
            "package": requirement.name, "change": "added", "old": null, "new": requirement.version,
        }),
        PackageChange::Removed(requirement) => json!({
            "package": requirement.name, "change": "removed", "old": requirement.version, "new": null,
        }),
    }
}
