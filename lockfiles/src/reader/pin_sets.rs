//! The `[package_pins.HASH]` tables of a format-6 lockfile: each pin set read once, checked
//! as a node's inline pins are (through `HostPackagePins::from_fields`) and against the
//! hash it is written under, then shared by every package node that names it.

use std::collections::{BTreeMap, BTreeSet};

use super::invalid;
use crate::error::LockError;
use crate::lockfile::PACKAGE_PINS_VERSION;
use crate::node::Node;
use crate::nodes::{FieldReader, HostPackagePins, PinSet, PinSetHash, PinSets, TextSource};
use crate::value::Value;

/// The pin sets of the `[package_pins]` tables, by hash, each checked: its fields those of
/// a node's pins, its hash the one it is written under. A lockfile of a format before 6 has
/// none.
pub(super) fn read_pin_sets(
    tables: BTreeMap<String, BTreeMap<String, Value>>,
    version: i64,
    origin: &str,
) -> Result<PinSets, LockError> {
    let mut pin_sets = PinSets::new();
    for (written_hash, fields) in tables {
        let place = format!("[package_pins.{}]", crate::toml_text::key(&written_hash));
        if version < PACKAGE_PINS_VERSION {
            return Err(invalid(
                origin,
                format!(
                    "{place}: format {version} has no [package_pins] tables; version {PACKAGE_PINS_VERSION} added them"
                ),
            ));
        }
        let hash = written_hash
            .parse::<PinSetHash>()
            .map_err(|message| invalid(origin, format!("{place}: {message}")))?;
        let pin_set = read_pin_set(fields)
            .map_err(|message| invalid(origin, format!("{place}: {message}")))?;
        if pin_set.hash() != hash {
            return Err(invalid(
                origin,
                format!(
                    "{place} holds pins whose hash is {}; the lockfile was edited by hand or damaged: compile it again",
                    pin_set.hash()
                ),
            ));
        }
        pin_sets.insert(hash, pin_set);
    }
    Ok(pin_sets)
}

/// One table's pins, through the `from_fields` a node's inline pins are read by; a field
/// that is not a pin field is refused.
fn read_pin_set(fields: BTreeMap<String, Value>) -> Result<PinSet, String> {
    let mut reader = FieldReader::new(fields, TextSource::Inline);
    let pins = HostPackagePins::from_fields(&mut reader)
        .map_err(|error| error.to_string())?
        .ok_or("a pin set has `architecture`, `release`, `sources`, `base` and `pins`")?;
    reader.finish().map_err(|error| error.to_string())?;
    Ok(PinSet::new(pins))
}

/// Refuses a pin set no node names. Refused rather than ignored, as unused `[content]` is:
/// the writer writes only the sets its nodes use, so an unused one is a hand edit or
/// damage (a node pointed at another set, or one whose name was changed), and a reviewer
/// reading the tables must be able to trust that each is what some host installs.
pub(super) fn check_pin_sets_used(
    pin_sets: &PinSets,
    nodes: &[Node],
    origin: &str,
) -> Result<(), LockError> {
    if pin_sets.is_empty() {
        return Ok(());
    }
    let mut unused: BTreeSet<PinSetHash> = pin_sets.keys().copied().collect();
    for node in nodes {
        if let Some(pin_set) = node.spec.pin_set() {
            unused.remove(&pin_set.hash());
            if unused.is_empty() {
                return Ok(());
            }
        }
    }
    match unused.first() {
        None => Ok(()),
        Some(hash) => Err(invalid(
            origin,
            format!(
                "[package_pins.{hash}] is used by no node; the lockfile was edited by hand or damaged: compile it again"
            ),
        )),
    }
}

#[cfg(test)]
mod tests;
