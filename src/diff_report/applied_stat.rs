use std::collections::BTreeMap;

use cairn_executor::AppliedDiff;
use cairn_lockfiles::{NodeKind, Scope};

use crate::diff_report::stat::counts_table;

/// Counts of nodes added, removed and changed per host and kind, as the two-lockfile
/// `--stat` prints them, then the hosts read and the files drifted.
pub fn applied_diff_stat(diff: &AppliedDiff) -> String {
    let unreachable: Vec<&str> = diff.unreachable().map(|(host, _)| host).collect();
    let drifted: usize = diff.hosts.values().map(|host| host.drifted.len()).sum();
    let summary = format!(
        "hosts: {} read, {} unreachable{}; files drifted: {drifted}\n",
        diff.hosts.len() - unreachable.len(),
        unreachable.len(),
        if unreachable.is_empty() {
            String::new()
        } else {
            format!(" ({})", unreachable.join(", "))
        },
    );
    let mut table: BTreeMap<(&Scope, NodeKind), [usize; 3]> = BTreeMap::new();
    for host in diff.hosts.values() {
        for name in &host.added {
            table.entry((&name.scope, name.kind)).or_default()[0] += 1;
        }
        for name in &host.removed {
            table.entry((&name.scope, name.kind)).or_default()[1] += 1;
        }
        for change in &host.changed {
            table
                .entry((&change.name.scope, change.name.kind))
                .or_default()[2] += 1;
        }
    }
    // Drift alone, or an unreachable host, makes no row.
    if table.is_empty() {
        let prefix = if diff.is_empty() { "no changes\n" } else { "" };
        return format!("{prefix}{summary}");
    }
    counts_table(&table) + &summary
}
