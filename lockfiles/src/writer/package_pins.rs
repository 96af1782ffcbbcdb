//! The `[package_pins.HASH]` tables (format 6): each distinct pin set of the package nodes
//! written once, after the nodes, with the fields a node held inline up to format 5. A
//! node names its set with `pins = "HASH"`; the comment above each table names the nodes
//! that use it, so a reviewer reads what a host installs from either side.

use std::fmt::Write as _;

use foldhash::HashMap;

use super::field_value;
use crate::node_name::NodeName;
use crate::nodes::{PinSet, PinSetHash};
use crate::toml_text::key;

/// How many users of one pin set are named in the comment above it; the rest are counted.
const USERS_SHOWN: usize = 3;

/// The pin sets of the nodes written so far, in order of first use, with their users.
#[derive(Default)]
pub(super) struct PinSetUsers {
    sets: Vec<UsedPinSet>,
    /// Each set's position in `sets`.
    positions: HashMap<PinSetHash, usize>,
}

/// One pin set and the nodes that use it.
struct UsedPinSet {
    pin_set: PinSet,
    /// The first [`USERS_SHOWN`] users' names.
    shown: Vec<String>,
    users: usize,
}

impl PinSetUsers {
    /// Records that node `user` uses `pin_set`.
    pub(super) fn add(&mut self, pin_set: &PinSet, user: &NodeName) {
        let position = *self.positions.entry(pin_set.hash()).or_insert_with(|| {
            self.sets.push(UsedPinSet {
                pin_set: pin_set.clone(),
                shown: Vec::with_capacity(USERS_SHOWN),
                users: 0,
            });
            self.sets.len() - 1
        });
        let used = &mut self.sets[position];
        used.users += 1;
        if used.shown.len() < USERS_SHOWN {
            used.shown.push(user.to_string());
        }
    }

    /// Writes one table per pin set, each after a comment naming its users.
    pub(super) fn write(&self, out: &mut String) {
        for used in &self.sets {
            out.push('\n');
            used.write_users_comment(out);
            let _ = writeln!(
                out,
                "[package_pins.{}]",
                key(&used.pin_set.hash().to_string())
            );
            let mut fields = Vec::with_capacity(6);
            used.pin_set.push_inputs(&mut fields);
            for (field, value) in &fields {
                let _ = writeln!(out, "{} = {}", key(field), field_value(value));
            }
        }
    }
}

impl UsedPinSet {
    /// `# agent1:package:tools, agent2:package:tools, agent3:package:tools and 8 others`
    fn write_users_comment(&self, out: &mut String) {
        let _ = write!(out, "# {}", self.shown.join(", "));
        match self.users - self.shown.len() {
            0 => {}
            1 => out.push_str(" and 1 other"),
            others => {
                let _ = write!(out, " and {others} others");
            }
        }
        out.push('\n');
    }
}
