use std::collections::BTreeMap;

use crate::diff::package_change::{PackageChange, package_changes};
use crate::diff::text_change::{TextChange, TextDiffCache};
use crate::value::Value;

/// One input field of a node that differs between two lockfiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputChange {
    pub field: &'static str,
    pub difference: InputDifference,
}

/// How a field differs, in the most readable form its values allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputDifference {
    /// Any other value; `None` where the field is absent (an optional field at its default).
    Value {
        old: Option<Value>,
        new: Option<Value>,
    },
    /// A rendered text: a file's content, an image's Dockerfile.
    Text(TextChange),
    /// A list of packages, per package.
    Packages(Vec<PackageChange>),
    /// A list of files keyed by path (an image's files), per file.
    Files(Vec<FileChange>),
}

/// One file of an image's file list that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub kind: FileChangeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChangeKind {
    Added,
    Removed,
    /// The same path; its mode (old, new) where that changed, its content where that did.
    Changed {
        mode: Option<(String, String)>,
        content: Option<TextChange>,
    },
}

/// The fields that differ, in the order `new` lists its fields, then those only `old` has.
pub(crate) fn input_changes(
    old: Vec<(&'static str, Value)>,
    new: Vec<(&'static str, Value)>,
    texts: &mut TextDiffCache,
) -> Vec<InputChange> {
    let mut old: BTreeMap<&'static str, Value> = old.into_iter().collect();
    let mut changes = Vec::new();
    for (field, after) in new {
        match old.remove(field) {
            Some(before) if before == after => {}
            before => changes.push(InputChange {
                field,
                difference: difference(before, Some(after), texts),
            }),
        }
    }
    for (field, before) in old {
        changes.push(InputChange {
            field,
            difference: difference(Some(before), None, texts),
        });
    }
    changes
}

fn difference(
    old: Option<Value>,
    new: Option<Value>,
    texts: &mut TextDiffCache,
) -> InputDifference {
    match (&old, &new) {
        (Some(Value::Text(before)), Some(Value::Text(after))) => {
            InputDifference::Text(texts.change(before, after))
        }
        (Some(Value::List(before)), Some(Value::List(after))) => {
            if let Some(packages) = strings(before)
                .zip(strings(after))
                .and_then(|(before, after)| package_changes(&before, &after))
            {
                return InputDifference::Packages(packages);
            }
            if let Some(files) = files(before).zip(files(after)) {
                return InputDifference::Files(file_changes(files.0, files.1, texts));
            }
            // An image's pins: per package, as a package list reads (a pin whose version
            // stayed while its checksum moved shows the lists as they are).
            if let Some(packages) = pins(before)
                .zip(pins(after))
                .and_then(|(before, after)| package_changes(&before, &after))
                .filter(|changes| !changes.is_empty())
            {
                return InputDifference::Packages(packages);
            }
            InputDifference::Value { old, new }
        }
        // Pins that appear (an image pinned for the first time) or go: each package added
        // or removed, not one line of every pin's fields.
        (None, Some(Value::List(pinned))) | (Some(Value::List(pinned)), None) => {
            let appeared = old.is_none();
            match pins(pinned).and_then(|pinned| {
                if appeared {
                    package_changes(&[], &pinned)
                } else {
                    package_changes(&pinned, &[])
                }
            }) {
                Some(packages) if !packages.is_empty() => InputDifference::Packages(packages),
                _ => InputDifference::Value { old, new },
            }
        }
        _ => InputDifference::Value { old, new },
    }
}

fn strings(items: &[Value]) -> Option<Vec<String>> {
    items
        .iter()
        .map(|item| match item {
            Value::String(text) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// A list of tables each with a string `name` and `version`, as `name=version`: an image's
/// pins.
fn pins(items: &[Value]) -> Option<Vec<String>> {
    items
        .iter()
        .map(|item| match item {
            Value::Table(entries) => match (entries.get("name"), entries.get("version")) {
                (Some(Value::String(name)), Some(Value::String(version))) => {
                    Some(format!("{name}={version}"))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// A list of tables each with a string `path`: an image's files.
fn files(items: &[Value]) -> Option<BTreeMap<&str, &BTreeMap<String, Value>>> {
    if items.is_empty() {
        return None;
    }
    items
        .iter()
        .map(|item| match item {
            Value::Table(entries) => match entries.get("path") {
                Some(Value::String(path)) => Some((path.as_str(), entries)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn file_changes(
    old: BTreeMap<&str, &BTreeMap<String, Value>>,
    new: BTreeMap<&str, &BTreeMap<String, Value>>,
    texts: &mut TextDiffCache,
) -> Vec<FileChange> {
    let mut paths: Vec<&str> = old.keys().chain(new.keys()).copied().collect();
    paths.sort();
    paths.dedup();
    let mut changes = Vec::new();
    for path in paths {
        let kind = match (old.get(path), new.get(path)) {
            (Some(before), Some(after)) if before == after => continue,
            (Some(before), Some(after)) => {
                let mode = match (before.get("mode"), after.get("mode")) {
                    (Some(Value::String(old_mode)), Some(Value::String(new_mode)))
                        if old_mode != new_mode =>
                    {
                        Some((old_mode.clone(), new_mode.clone()))
                    }
                    _ => None,
                };
                let content = match (before.get("content"), after.get("content")) {
                    (Some(Value::Text(old_text)), Some(Value::Text(new_text)))
                        if old_text != new_text =>
                    {
                        Some(texts.change(old_text, new_text))
                    }
                    _ => None,
                };
                FileChangeKind::Changed { mode, content }
            }
            (Some(_), None) => FileChangeKind::Removed,
            (None, Some(_)) => FileChangeKind::Added,
            (None, None) => continue,
        };
        changes.push(FileChange {
            path: path.to_string(),
            kind,
        });
    }
    changes
}
