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
use std::path::Path;

use cairn_lockfiles::{FieldReader, ImagePins, Lockfile, NodeSpec, TextSource, Value};

/// What the previous lockfile's images asked for and were pinned to, by image name.
#[derive(Debug, Default)]
pub struct PreviousPins {
    images: BTreeMap<String, PreviousImage>,
}

#[derive(Debug)]
struct PreviousImage {
    /// Sorted, without duplicates, as an image node holds them.
    packages: Vec<String>,
    pins: ImagePins,
}

/// The prefix of an image node's name.
const IMAGE_PREFIX: &str = "cluster:image:";

impl PreviousPins {
    /// The pins of the lockfile at `path`; `None` where there is none. A lockfile that
    /// cannot be read as one comes back with why, for a note.
    pub fn read(path: &Path) -> (Option<PreviousPins>, Option<String>) {
        if !path.is_file() {
            return (None, None);
        }
        let error = match Lockfile::read(path) {
            Ok(lockfile) => return (Some(PreviousPins::of(&lockfile)), None),
            Err(error) => error.to_string(),
        };
        let reason = error.lines().next().unwrap_or_default().to_string();
        match std::fs::read_to_string(path)
            .map_err(|error| error.to_string())
            .and_then(|text| PreviousPins::from_text(&text))
        {
            Ok(pins) => (Some(pins), Some(reason)),
            Err(_) => (None, Some(reason)),
        }
    }

    fn of(lockfile: &Lockfile) -> PreviousPins {
        let images = lockfile
            .nodes()
            .iter()
            .filter_map(|node| match &node.spec {
                NodeSpec::Image(image) => image.pins.as_ref().map(|pins| {
                    (
                        image.name.clone(),
                        PreviousImage {
                            packages: image.packages.clone(),
                            pins: pins.clone(),
                        },
                    )
                }),
                _ => None,
            })
            .collect();
        PreviousPins { images }
    }

    /// The pins of a lockfile's text, its other nodes unread; an image whose pins are not
    /// as the reader would take them keeps none.
    fn from_text(text: &str) -> Result<PreviousPins, String> {
        let document: toml::Table = toml::from_str(text).map_err(|error| error.to_string())?;
        let mut images = BTreeMap::new();
        let nodes = document.get("node").and_then(toml::Value::as_array);
        for node in nodes.into_iter().flatten() {
            let Some(table) = node.as_table() else {
                continue;
            };
            let Some(name) = table
                .get("name")
                .and_then(toml::Value::as_str)
                .and_then(|name| name.strip_prefix(IMAGE_PREFIX))
            else {
                continue;
            };
            let Some(mut packages) = table.get("packages").map(strings) else {
                continue;
            };
            packages.sort();
            packages.dedup();
            let mut fields = BTreeMap::new();
            for key in ["architecture", "sources", "pins"] {
                if let Some(value) = table.get(key).and_then(to_value) {
                    fields.insert(key.to_string(), value);
                }
            }
            let mut reader = FieldReader::new(fields, TextSource::Inline);
            if let Ok(Some(pins)) = ImagePins::from_fields(&mut reader) {
                images.insert(name.to_string(), PreviousImage { packages, pins });
            }
        }
        Ok(PreviousPins { images })
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

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }
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
