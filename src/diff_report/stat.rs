use std::collections::BTreeMap;
use std::fmt::Write as _;

use cairn_lockfiles::{HostChange, LockfileDiff, NodeKind, Scope, SecretChange};

/// Counts of nodes added, removed and changed, per host (cluster-wide images first) and
/// kind, then the totals.
pub fn diff_stat(diff: &LockfileDiff) -> String {
    if diff.is_empty() {
        return "no changes\n".to_string();
    }
    let mut table: BTreeMap<(&Scope, NodeKind), [usize; 3]> = BTreeMap::new();
    for name in &diff.added {
        table.entry((&name.scope, name.kind)).or_default()[0] += 1;
    }
    for name in &diff.removed {
        table.entry((&name.scope, name.kind)).or_default()[1] += 1;
    }
    for node in &diff.changed {
        table.entry((&node.name.scope, node.name.kind)).or_default()[2] += 1;
    }
    let mut out = counts_table(&table);
    let hosts_added = diff
        .hosts
        .iter()
        .filter(|change| matches!(change, HostChange::Added { .. }))
        .count();
    let hosts_removed = diff
        .hosts
        .iter()
        .filter(|change| matches!(change, HostChange::Removed { .. }))
        .count();
    let rotated = diff
        .secrets
        .iter()
        .filter(|change| matches!(change, SecretChange::Rotated { .. }))
        .count();
    let _ = writeln!(
        out,
        "hosts: {hosts_added} added, {hosts_removed} removed; secrets rotated: {rotated}"
    );
    if !diff.order_changes.is_empty() {
        let _ = writeln!(
            out,
            "order-only waits changed (in no id): {}",
            diff.order_changes.len()
        );
    }
    out
}

/// Nodes added, removed and changed per host and kind, one row each, then the totals.
pub(super) fn counts_table(table: &BTreeMap<(&Scope, NodeKind), [usize; 3]>) -> String {
    let width = table
        .keys()
        .map(|(scope, _)| scope.as_str().len())
        .max()
        .unwrap_or(4)
        .max(5);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:<9}  {:>7}  {:>7}  {:>7}",
        "HOST", "KIND", "ADDED", "REMOVED", "CHANGED"
    );
    let mut totals = [0usize; 3];
    for ((scope, kind), row) in table {
        let _ = writeln!(
            out,
            "{:<width$}  {:<9}  {:>7}  {:>7}  {:>7}",
            scope.as_str(),
            kind.as_str(),
            row[0],
            row[1],
            row[2]
        );
        for (total, value) in totals.iter_mut().zip(row) {
            *total += value;
        }
    }
    let _ = writeln!(
        out,
        "{:<width$}  {:<9}  {:>7}  {:>7}  {:>7}",
        "total", "", totals[0], totals[1], totals[2]
    );
    out
}
