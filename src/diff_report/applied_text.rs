use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use cairn_executor::{AppliedChange, AppliedDiff, ChangeCause, HostAppliedDiff};
use cairn_lockfiles::{NodeId, NodeName};

use crate::diff_report::Palette;
use crate::diff_report::text::{
    added_line, blast_radius_section, dependency_changes_section, removed_line,
};
use crate::output::counted;

/// The report for people of `cairn diff --applied`, laid out as the two-lockfile diff's:
/// per host the nodes that changed themselves, were added, removed or drifted; then the
/// nodes that changed only because of a dependency, under their root causes; then the
/// blast radius per host; then a summary line. A host that could not be read says why.
pub fn applied_diff_text(diff: &AppliedDiff, palette: Palette) -> String {
    let hosts = diff.hosts.len();
    if diff.is_empty() {
        return format!(
            "no changes: {} applied what the lockfile holds\n",
            if hosts == 1 {
                "the host has".to_string()
            } else {
                format!("all {hosts} hosts have")
            }
        );
    }
    let mut out = String::new();
    let added: BTreeSet<&NodeName> = diff.hosts.values().flat_map(|host| &host.added).collect();
    let mut shown: HashMap<(NodeId, NodeId), &NodeName> = HashMap::new();
    for (host, host_diff) in &diff.hosts {
        if !host_diff.is_empty() {
            host_section(host, host_diff, palette, &mut shown, &mut out);
        }
    }
    dependency_changes(diff, &added, palette, &mut out);
    blast_radius(diff, palette, &mut out);
    let changed: Vec<&AppliedChange> = diff.changed().collect();
    let only_dependencies = changed
        .iter()
        .filter(|change| !change.changed_itself())
        .count();
    let count = |list: fn(&HostAppliedDiff) -> usize| diff.hosts.values().map(list).sum::<usize>();
    let differing = diff
        .hosts
        .values()
        .filter(|host| !host.is_empty() && host.unreachable.is_none())
        .count();
    let _ = write!(
        out,
        "{} changed ({only_dependencies} only because of a dependency), {} added, {} removed, {} drifted; on {differing} of {}",
        counted(changed.len(), "node"),
        count(|host| host.added.len()),
        count(|host| host.removed.len()),
        count(|host| host.drifted.len()),
        counted(hosts, "host"),
    );
    let unreachable = diff.unreachable().count();
    if unreachable > 0 {
        let _ = write!(out, " ({unreachable} not read)");
    }
    out.push('\n');
    out
}

/// A host's own part: what changed itself (each change shown once across hosts, then
/// named), what is added, removed or drifted, in name order.
fn host_section<'a>(
    host: &str,
    host_diff: &'a HostAppliedDiff,
    palette: Palette,
    shown: &mut HashMap<(NodeId, NodeId), &'a NodeName>,
    out: &mut String,
) {
    let _ = writeln!(out, "{}", palette.heading(host));
    if let Some(problem) = &host_diff.unreachable {
        let _ = writeln!(out, "  unreachable: {problem}\n");
        return;
    }
    enum Entry<'a> {
        Changed(&'a AppliedChange),
        Added,
        Removed,
        Drifted(String),
    }
    let mut entries: Vec<(&NodeName, Entry)> = Vec::new();
    entries.extend(
        host_diff
            .changed
            .iter()
            .filter(|change| change.changed_itself() || change.drift.is_some())
            .map(|change| (&change.name, Entry::Changed(change))),
    );
    entries.extend(host_diff.added.iter().map(|name| (name, Entry::Added)));
    entries.extend(host_diff.removed.iter().map(|name| (name, Entry::Removed)));
    entries.extend(
        host_diff
            .drifted
            .iter()
            .map(|(name, drift)| (name, Entry::Drifted(drift.to_string()))),
    );
    entries.sort_by(|left, right| left.0.cmp(right.0));
    for (name, entry) in entries {
        let key = format!("{}:{}", name.kind, name.key);
        match entry {
            Entry::Added => added_line(&key, palette, out),
            Entry::Removed => removed_line(&key, palette, out),
            Entry::Drifted(drift) => {
                let _ = writeln!(out, "  ! {key}");
                let _ = writeln!(out, "      drifted: {drift}; applying rewrites it");
            }
            Entry::Changed(change) => {
                let _ = writeln!(out, "  ~ {key}");
                match change.cause {
                    ChangeCause::InputsChanged => {
                        let pair = (change.applied_inputs_id, change.new_inputs_id);
                        match shown.get(&pair) {
                            Some(first) => {
                                let _ = writeln!(out, "      the same change as {first}");
                            }
                            None => {
                                shown.insert(pair, name);
                                let _ = writeln!(
                                    out,
                                    "      its inputs changed since the host applied it"
                                );
                            }
                        }
                    }
                    ChangeCause::DependenciesChanged => {
                        let _ = writeln!(
                            out,
                            "      it depends on other nodes than when the host applied it"
                        );
                    }
                    // Shown here for its drift; listed under its root causes below.
                    ChangeCause::DependencyChanged { .. }
                    | ChangeCause::UnrecordedDependencyChanged { .. } => {
                        let _ = writeln!(out, "      a dependency changed (below)");
                    }
                }
                if let Some(drift) = change.drift {
                    let _ = writeln!(
                        out,
                        "      and on the host {drift}: applying overwrites that"
                    );
                }
            }
        }
    }
    if !host_diff.cannot_apply.is_empty() {
        let _ = writeln!(
            out,
            "  ({} this host cannot apply, not compared: a sandbox installs no packages and manages no services)",
            counted(host_diff.cannot_apply.len(), "node")
        );
    }
    out.push('\n');
}

/// The nodes that changed only because nodes under them did, grouped by their root causes:
/// each root cause named once, its dependants listed under it.
fn dependency_changes(
    diff: &AppliedDiff,
    added: &BTreeSet<&NodeName>,
    palette: Palette,
    out: &mut String,
) {
    let mut groups: BTreeMap<(bool, &[NodeName]), Vec<&NodeName>> = BTreeMap::new();
    for change in diff.changed().filter(|change| !change.changed_itself()) {
        let unrecorded = matches!(
            change.cause,
            ChangeCause::UnrecordedDependencyChanged { .. }
        );
        groups
            .entry((unrecorded, change.root_causes()))
            .or_default()
            .push(&change.name);
    }
    let groups: Vec<(String, Vec<&NodeName>)> = groups
        .into_iter()
        .map(|((unrecorded, causes), dependants)| {
            let names: Vec<String> = causes
                .iter()
                .map(|cause| {
                    if added.contains(cause) {
                        format!("{cause} (new)")
                    } else {
                        cause.to_string()
                    }
                })
                .collect();
            let causes = if unrecorded {
                format!(
                    "because of one of {} (not recorded on the hosts read)",
                    names.join(", ")
                )
            } else {
                format!("because of {}", names.join(" and "))
            };
            (causes, dependants)
        })
        .collect();
    dependency_changes_section(&groups, palette, out);
}

fn blast_radius(diff: &AppliedDiff, palette: Palette, out: &mut String) {
    blast_radius_section(
        "blast radius (LOCK applied over what the hosts have)",
        diff.hosts
            .iter()
            .map(|(host, host_diff)| (host, &host_diff.impact)),
        palette,
        out,
    );
}
