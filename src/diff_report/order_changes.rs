//! The order-only part of a diff: the nodes whose `ordered_after` changed (what apply waits
//! for before them, in no id: nothing is replaced for these); as text and as JSON.

use std::fmt::Write as _;

use cairn_lockfiles::LockfileDiff;
use serde_json::{Value as Json, json};

use crate::diff_report::Palette;

/// Each node whose order changed, with what it now waits for and no longer waits for;
/// nothing when there is none.
pub(super) fn order_changes_text(diff: &LockfileDiff, palette: Palette, out: &mut String) {
    if diff.order_changes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{}",
        palette.heading("order-only waits changed (in no id: they replace nothing)")
    );
    for change in &diff.order_changes {
        let _ = writeln!(out, "  {}:", change.name);
        for name in &change.removed {
            let line = format!("    - waits for {name}");
            let _ = writeln!(out, "{}", palette.removed(&line));
        }
        for name in &change.added {
            let line = format!("    + waits for {name}");
            let _ = writeln!(out, "{}", palette.added(&line));
        }
    }
    out.push('\n');
}

/// `order_changes` of the JSON report: `[{ "node", "added", "removed" }]`.
pub(super) fn order_changes_json(diff: &LockfileDiff) -> Json {
    let names = |names: &[cairn_lockfiles::NodeName]| -> Vec<String> {
        names.iter().map(ToString::to_string).collect()
    };
    diff.order_changes
        .iter()
        .map(|change| {
            json!({
                "node": change.name.to_string(),
                "added": names(&change.added),
                "removed": names(&change.removed),
            })
        })
        .collect()
}
