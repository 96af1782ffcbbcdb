//! The package pins of the lockfile a compile is about to replace, which it keeps where an
//! image still asks for the same packages.
//!
//! The lockfile is read as `cairn` reads any lockfile, every id checked. Where that fails
//! (a lockfile of an older cairn whose Dockerfiles rendered otherwise, a node format since
//! changed, a hand edit), the pins are read from its text alone, each checked as the reader
//! checks it: pins are data resolved against a repository, which a change of cairn's does
//! not make wrong, and without them a compile away from the repository could not compile
//! at all. A text that is not TOML keeps nothing.

use std::collections::BTreeMap;

use cairn_lockfiles::{
    FieldReader, HostPackagePins, ImagePins, Lockfile, NodeSpec, TextSource, Value,
};

use crate::graph::package_sources::PackageSources;
use crate::previous_lockfile::PreviousLockfile;

/// What the previous lockfile's images asked for and were pinned to, by image name; and
/// what its package nodes were pinned to, by request (whichever host made it: nodes with
/// the same request have the same pins).
#[derive(Debug, Default)]
pub struct PreviousPins {
    /// The lockfile's path, as notes name it.
    pub path: String,
    images: BTreeMap<String, PreviousImage>,
    host_packages: BTreeMap<Vec<String>, HostPackagePins>,
}

#[derive(Debug)]
struct PreviousImage {
    /// Sorted, without duplicates, as an image node holds them.
    packages: Vec<String>,
    pins: ImagePins,
}

/// The prefix of an image node's name.
const IMAGE_PREFIX: &str = "cluster:image:";

/// What a package node's name holds, between its host and its key.
const PACKAGE_INFIX: &str = ":package:";

impl PreviousPins {
    /// The pins of the previous lockfile; `None` where there is none. A lockfile that
    /// cannot be read as one comes back with why, for a note, and its pins read from its
    /// text alone where they can be (the one case its file is read again).
    pub fn read(previous: &PreviousLockfile) -> (Option<PreviousPins>, Option<String>) {
        let path = previous.path();
        // Lent, not kept: the compile needs its pins alone.
        if let Some(mut pins) = previous.lend(|lockfile| lockfile.map(PreviousPins::of)) {
            pins.path = path.display().to_string();
            return (Some(pins), None);
        }
        let Some(reason) = previous.unreadable() else {
            return (None, None);
        };
        match std::fs::read_to_string(path)
            .map_err(|error| error.to_string())
            .and_then(|text| PreviousPins::from_text(&text))
        {
            Ok(mut pins) => {
                pins.path = path.display().to_string();
                (Some(pins), Some(reason.to_string()))
            }
            Err(_) => (None, Some(reason.to_string())),
        }
    }

    fn of(lockfile: &Lockfile) -> PreviousPins {
        let mut previous = PreviousPins::default();
        for node in lockfile.nodes() {
            match &*node.spec {
                NodeSpec::Image(image) => {
                    if let Some(pins) = &image.pins {
                        previous.images.insert(
                            image.name.clone(),
                            PreviousImage {
                                packages: image.packages.clone(),
                                pins: pins.clone(),
                            },
                        );
                    }
                }
                NodeSpec::Package(package) => {
                    if let Some(pins) = &package.pins {
                        previous
                            .host_packages
                            .entry(package.packages.clone())
                            .or_insert_with(|| pins.pins().clone());
                    }
                }
                _ => {}
            }
        }
        previous
    }

    /// The pins of a lockfile's text, its other nodes unread; an image whose pins are not
    /// as the reader would take them keeps none.
    fn from_text(text: &str) -> Result<PreviousPins, String> {
        let document: toml::Table = toml::from_str(text).map_err(|error| error.to_string())?;
        let mut previous = PreviousPins::default();
        let nodes = document.get("node").and_then(toml::Value::as_array);
        for table in nodes
            .into_iter()
            .flatten()
            .filter_map(toml::Value::as_table)
        {
            let Some(name) = table.get("name").and_then(toml::Value::as_str) else {
                continue;
            };
            let Some(mut packages) = table.get("packages").map(strings) else {
                continue;
            };
            packages.sort();
            packages.dedup();
            if let Some(image) = name.strip_prefix(IMAGE_PREFIX) {
                let mut reader = fields_of(table, &["architecture", "sources", "pins"]);
                if let Ok(Some(pins)) = ImagePins::from_fields(&mut reader) {
                    previous
                        .images
                        .insert(image.to_string(), PreviousImage { packages, pins });
                }
            } else if name.contains(PACKAGE_INFIX) {
                let Some(pin_fields) = pin_fields_of(&document, table) else {
                    continue;
                };
                let mut reader = fields_of(
                    pin_fields,
                    &[
                        "architecture",
                        "release",
                        "sources",
                        "base",
                        "assumed",
                        "pins",
                    ],
                );
                if let Ok(Some(pins)) = HostPackagePins::from_fields(&mut reader) {
                    previous.host_packages.entry(packages).or_insert(pins);
                }
            }
        }
        Ok(previous)
    }

    /// The pins of image `name` if they answer the same request: the same packages,
    /// resolved for `architecture` against `sources` (as the lockfile records them).
    pub fn matching(
        &self,
        name: &str,
        packages: &[String],
        architecture: &str,
        sources: &[String],
    ) -> Option<ImagePins> {
        let previous = self.images.get(name)?;
        let same = previous.packages == packages
            && previous.pins.architecture == architecture
            && previous.pins.sources == sources;
        same.then(|| previous.pins.clone())
    }

    /// The pins of a package node that requests `packages`, if they were resolved the
    /// same way: against the same sources, for the same architecture and release, on the
    /// same base.
    pub fn matching_host(
        &self,
        packages: &[String],
        sources: &PackageSources,
        base: &str,
    ) -> Option<HostPackagePins> {
        let previous = self.host_packages.get(packages)?;
        let same = previous.architecture == sources.architecture.as_str()
            && previous.release == sources.release
            && previous.sources == sources.recorded
            && previous.base == base;
        same.then(|| previous.clone())
    }

    /// How notes name the previous lockfile.
    pub fn name_of(previous: Option<&PreviousPins>) -> &str {
        previous.map_or("the previous lockfile", |previous| previous.path.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty() && self.host_packages.is_empty()
    }
}

/// The table a package node's pin fields are in: its own (up to format 5), or the
/// `[package_pins.HASH]` table its `pins = "HASH"` names (format 6); `None` where that
/// table is missing.
fn pin_fields_of<'a>(document: &'a toml::Table, node: &'a toml::Table) -> Option<&'a toml::Table> {
    match node.get("pins") {
        Some(toml::Value::String(hash)) => {
            document.get("package_pins")?.get(hash.as_str())?.as_table()
        }
        _ => Some(node),
    }
}

/// The named fields of a node's table, for a [`FieldReader`].
fn fields_of<'a>(table: &toml::Table, keys: &[&str]) -> FieldReader<'a> {
    let mut fields = BTreeMap::new();
    for key in keys {
        if let Some(value) = table.get(*key).and_then(to_value) {
            fields.insert(key.to_string(), value);
        }
    }
    FieldReader::new(fields, TextSource::Inline)
}

fn strings(value: &toml::Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.as_str().map(str::to_string))
        .collect()
}

/// A TOML value as a node field holds it; `None` for what no field holds (floats, dates).
fn to_value(value: &toml::Value) -> Option<Value> {
    Some(match value {
        toml::Value::String(text) => Value::String(text.clone()),
        toml::Value::Integer(number) => Value::Integer(*number),
        toml::Value::Boolean(flag) => Value::Bool(*flag),
        toml::Value::Array(items) => {
            Value::List(items.iter().map(to_value).collect::<Option<_>>()?)
        }
        toml::Value::Table(entries) => Value::Table(
            entries
                .iter()
                .map(|(key, item)| Some((key.clone(), to_value(item)?)))
                .collect::<Option<_>>()?,
        ),
        toml::Value::Float(_) | toml::Value::Datetime(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lockfile that does not read as one (here, format 6 with an id edited) still gives
    /// its host packages' pins from its text: a node's `pins = "HASH"` names the
    /// `[package_pins.HASH]` table that holds them.
    #[test]
    fn the_pins_of_a_format_6_text_are_read_from_its_pin_tables() {
        let path = format!(
            "{}/../examples/dcos-ha/cluster.lock",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\n[package_pins."), "{path} is format 6");
        let first_id = text.find("\nid = \"").unwrap() + "\nid = \"".len();
        let digit = if text[first_id..].starts_with('0') {
            "1"
        } else {
            "0"
        };
        let damaged = format!("{}{digit}{}", &text[..first_id], &text[first_id + 1..]);
        assert!(Lockfile::parse(&damaged, "cluster.lock").is_err());

        let previous = PreviousPins::from_text(&damaged).unwrap();
        let tools: Vec<String> = ["curl", "dnsutils", "net-tools", "tcpdump"]
            .map(String::from)
            .to_vec();
        let pins = &previous.host_packages[&tools];
        assert_eq!(pins.release, "bookworm");
        assert!(pins.packages.iter().any(|pin| pin.name == "tcpdump"));
        assert_eq!(previous.host_packages.len(), 3);
    }
}
