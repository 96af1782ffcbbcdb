use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use cairn_lockfiles::{
    ChangedNode, FileChangeKind, HostChange, HostImpact, InputDifference, LockfileDiff, NodeId,
    NodeName, SecretChange, TextChange,
};

use crate::commands::show::inline;
use crate::diff_report::Palette;
use crate::diff_report::order_changes::order_changes_text;
use crate::diff_report::rollouts::rollouts_text;
use crate::output::counted;

/// The report for people: hosts and secrets, then per host (cluster-wide images first) the
/// nodes that changed themselves with their diffs, and the nodes added and removed; then the
/// nodes that changed only because of a dependency, listed under their root causes; then
/// the blast radius per host; then the rollouts of the replaced containers and the changed
/// rollout policies; then the nodes whose order-only waits changed; then a summary line.
pub fn diff_text(diff: &LockfileDiff, palette: Palette) -> String {
    if diff.is_empty() {
        return "no changes\n".to_string();
    }
    let mut out = String::new();
    cluster_hosts_and_secrets(diff, palette, &mut out);
    nodes_by_host(diff, palette, &mut out);
    dependency_changes(diff, palette, &mut out);
    blast_radius(diff, palette, &mut out);
    rollouts_text(diff, palette, &mut out);
    order_changes_text(diff, palette, &mut out);
    let only_dependencies = diff
        .changed
        .iter()
        .filter(|node| !node.changed_itself())
        .count();
    let _ = writeln!(
        out,
        "{} changed ({only_dependencies} only because of a dependency), {} added, {} removed",
        counted(diff.changed.len(), "node"),
        diff.added.len(),
        diff.removed.len()
    );
    out
}

fn cluster_hosts_and_secrets(diff: &LockfileDiff, palette: Palette, out: &mut String) {
    for change in &diff.cluster {
        let _ = writeln!(
            out,
            "cluster {}: {} → {}",
            change.field, change.old, change.new
        );
    }
    if !diff.hosts.is_empty() {
        let _ = writeln!(out, "{}", palette.heading("hosts"));
        for change in &diff.hosts {
            match change {
                HostChange::Added { host, entry } => {
                    let line = format!(
                        "+ {host} ({}; roles: {})",
                        entry.address,
                        roles(&entry.roles)
                    );
                    let _ = writeln!(out, "  {}", palette.added(&line));
                }
                HostChange::Removed { host, entry } => {
                    let line = format!(
                        "- {host} ({}; roles: {})",
                        entry.address,
                        roles(&entry.roles)
                    );
                    let _ = writeln!(out, "  {}", palette.removed(&line));
                }
                HostChange::Changed { host, fields } => {
                    let fields: Vec<String> = fields
                        .iter()
                        .map(|field| format!("{} {} → {}", field.field, field.old, field.new))
                        .collect();
                    let _ = writeln!(out, "  ~ {host}: {}", fields.join("; "));
                }
            }
        }
        out.push('\n');
    }
    if !diff.secrets.is_empty() {
        let _ = writeln!(out, "{}", palette.heading("secrets"));
        for change in &diff.secrets {
            let line = match change {
                SecretChange::Added { name } => palette.added(&format!("+ secret `{name}`")),
                SecretChange::Removed { name } => palette.removed(&format!("- secret `{name}`")),
                SecretChange::Rotated { name } => format!("~ secret `{name}` rotated"),
                SecretChange::Moved { name, old, new } => {
                    format!("~ secret `{name}` now read from {new} (was {old})")
                }
            };
            let _ = writeln!(out, "  {line}");
        }
        out.push('\n');
    }
}

fn roles(roles: &[String]) -> String {
    if roles.is_empty() {
        "none".to_string()
    } else {
        roles.join(", ")
    }
}

/// Per scope (cluster first, then hosts by name): changed-in-itself nodes with their
/// diffs, added and removed nodes. A change already shown on an earlier node (the same
/// template change on every master) is named, not shown again.
fn nodes_by_host(diff: &LockfileDiff, palette: Palette, out: &mut String) {
    enum Entry<'a> {
        Changed(&'a ChangedNode),
        Added,
        Removed,
    }
    let mut scopes: BTreeMap<&cairn_lockfiles::Scope, Vec<(&NodeName, Entry)>> = BTreeMap::new();
    for node in diff.changed.iter().filter(|node| node.changed_itself()) {
        scopes
            .entry(&node.name.scope)
            .or_default()
            .push((&node.name, Entry::Changed(node)));
    }
    for name in &diff.added {
        scopes
            .entry(&name.scope)
            .or_default()
            .push((name, Entry::Added));
    }
    for name in &diff.removed {
        scopes
            .entry(&name.scope)
            .or_default()
            .push((name, Entry::Removed));
    }
    let mut shown: HashMap<(NodeId, NodeId), &NodeName> = HashMap::new();
    for (scope, mut entries) in scopes {
        entries.sort_by(|left, right| left.0.cmp(right.0));
        let _ = writeln!(out, "{}", palette.heading(scope.as_str()));
        for (name, entry) in entries {
            let key = format!("{}:{}", name.kind, name.key);
            match entry {
                Entry::Added => added_line(&key, palette, out),
                Entry::Removed => removed_line(&key, palette, out),
                Entry::Changed(node) => {
                    let _ = writeln!(out, "  ~ {key}");
                    let has_own_inputs =
                        !node.inputs.is_empty() || !node.rotated_secrets.is_empty();
                    let pair = (node.old_inputs_id, node.new_inputs_id);
                    match shown.get(&pair) {
                        Some(first) if has_own_inputs => {
                            let _ = writeln!(out, "      the same change as {first}");
                        }
                        _ => {
                            if has_own_inputs {
                                shown.insert(pair, name);
                            }
                            own_change(node, palette, out);
                        }
                    }
                    dependency_edges(node, out);
                }
            }
        }
        out.push('\n');
    }
}

fn own_change(node: &ChangedNode, palette: Palette, out: &mut String) {
    for secret in &node.rotated_secrets {
        let _ = writeln!(out, "      secret `{secret}` rotated");
    }
    for input in &node.inputs {
        let field = input.field;
        match &input.difference {
            InputDifference::Value { old, new } => {
                let show = |value: &Option<cairn_lockfiles::Value>| {
                    value.as_ref().map_or("(none)".to_string(), inline)
                };
                let _ = writeln!(out, "      {field}: {} → {}", show(old), show(new));
            }
            InputDifference::Text(change) => {
                let _ = writeln!(out, "      {field}:");
                unified(change, palette, out);
            }
            InputDifference::Packages(changes) => {
                for change in changes {
                    let _ = writeln!(out, "      {field}: {change}");
                }
            }
            InputDifference::Files(changes) => {
                for change in changes {
                    let path = &change.path;
                    match &change.kind {
                        FileChangeKind::Added => {
                            let _ = writeln!(out, "      {field}: + {path}");
                        }
                        FileChangeKind::Removed => {
                            let _ = writeln!(out, "      {field}: - {path}");
                        }
                        FileChangeKind::Changed { mode, content } => {
                            if let Some((old, new)) = mode {
                                let _ = writeln!(out, "      {field} {path}: mode {old} → {new}");
                            }
                            if let Some(content) = content {
                                let _ = writeln!(out, "      {field} {path}:");
                                unified(content, palette, out);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn unified(change: &TextChange, palette: Palette, out: &mut String) {
    for line in change.unified.lines() {
        let _ = writeln!(out, "        {}", palette.diff_line(line));
    }
}

fn dependency_edges(node: &ChangedNode, out: &mut String) {
    for dependency in &node.dependencies_added {
        let _ = writeln!(out, "      now depends on {dependency}");
    }
    for dependency in &node.dependencies_removed {
        let _ = writeln!(out, "      no longer depends on {dependency}");
    }
    if !node.root_causes.is_empty() {
        let causes: Vec<String> = node.root_causes.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "      and a dependency changed: {}", causes.join(", "));
    }
}

/// The nodes that changed only because nodes under them did, grouped by their root causes:
/// each root cause named once, its dependants listed under it.
fn dependency_changes(diff: &LockfileDiff, palette: Palette, out: &mut String) {
    let mut groups: BTreeMap<&[NodeName], Vec<&NodeName>> = BTreeMap::new();
    for node in diff.changed.iter().filter(|node| !node.changed_itself()) {
        groups
            .entry(node.root_causes.as_slice())
            .or_default()
            .push(&node.name);
    }
    let groups: Vec<(String, Vec<&NodeName>)> = groups
        .into_iter()
        .map(|(causes, dependants)| {
            let causes: Vec<String> = causes.iter().map(ToString::to_string).collect();
            (format!("because of {}", causes.join(" and ")), dependants)
        })
        .collect();
    dependency_changes_section(&groups, palette, out);
}

/// The section of the nodes that changed only because of a dependency: its heading, then
/// each group of dependants under the line that names its causes, then a blank line;
/// nothing where no node did. Both diffs' reports lay it out so.
pub(super) fn dependency_changes_section(
    groups: &[(String, Vec<&NodeName>)],
    palette: Palette,
    out: &mut String,
) {
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{}",
        palette.heading("changed only because of a dependency")
    );
    for (causes, dependants) in groups {
        dependants_group(causes, dependants, out);
    }
    out.push('\n');
}

/// `  + kind:key`, in the added colour.
pub(super) fn added_line(key: &str, palette: Palette, out: &mut String) {
    let _ = writeln!(out, "  {}", palette.added(&format!("+ {key}")));
}

/// `  - kind:key`, in the removed colour.
pub(super) fn removed_line(key: &str, palette: Palette, out: &mut String) {
    let _ = writeln!(out, "  {}", palette.removed(&format!("- {key}")));
}

/// One group of nodes changed only because of the same root causes: `  <causes>:`, then
/// each node indented under it.
fn dependants_group(causes: &str, dependants: &[&NodeName], out: &mut String) {
    let _ = writeln!(out, "  {causes}:");
    for dependant in dependants {
        let _ = writeln!(out, "    {dependant}");
    }
}

fn blast_radius(diff: &LockfileDiff, palette: Palette, out: &mut String) {
    blast_radius_section(
        "blast radius (NEW applied over OLD)",
        diff.impact.iter(),
        palette,
        out,
    );
}

/// The blast radius under `heading`: one line per host whose running work changes; nothing
/// when no host's does.
pub(super) fn blast_radius_section<'a>(
    heading: &str,
    impacts: impl Iterator<Item = (&'a String, &'a HostImpact)>,
    palette: Palette,
    out: &mut String,
) {
    let impacts: Vec<_> = impacts.filter(|(_, impact)| !impact.is_empty()).collect();
    if impacts.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", palette.heading(heading));
    for (host, impact) in impacts {
        let _ = writeln!(out, "  {host}: {}", impact_line(impact));
    }
    out.push('\n');
}

/// What applying does to one host's running work, in one line: `replaces container x;
/// restarts service y; removes 1 node (file:/etc/z)`.
pub(super) fn impact_line(impact: &HostImpact) -> String {
    let mut parts = Vec::new();
    let mut part = |verb: &str, noun: &str, items: &[String]| {
        if !items.is_empty() {
            parts.push(format!(
                "{verb} {} {}",
                if items.len() == 1 {
                    noun.to_string()
                } else {
                    format!("{noun}s")
                },
                items.join(", ")
            ));
        }
    };
    part("replaces", "container", &impact.containers_replaced);
    part("starts", "container", &impact.containers_started);
    part("removes", "container", &impact.containers_removed);
    part("restarts", "service", &impact.services_restarted);
    part("starts", "service", &impact.services_started);
    part("stops", "service", &impact.services_stopped);
    if !impact.removed.is_empty() {
        let removed: Vec<String> = impact
            .removed
            .iter()
            .map(|name| format!("{}:{}", name.kind, name.key))
            .collect();
        parts.push(format!(
            "removes {} ({})",
            counted(removed.len(), "node"),
            removed.join(", ")
        ));
    }
    if parts.is_empty() {
        parts.push("nothing restarts".to_string());
    }
    parts.join("; ")
}
