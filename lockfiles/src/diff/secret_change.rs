use std::collections::BTreeMap;

use crate::secret::{SecretEntry, SecretSource};

/// How a secret entry differs. A rotation is only ever said to have happened: neither the
/// value (which no lockfile holds) nor the fingerprint (meaningless to a reader) is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretChange {
    Added {
        name: String,
    },
    Removed {
        name: String,
    },
    /// Its fingerprint changed: the value is another.
    Rotated {
        name: String,
    },
    /// Read from elsewhere (another file, another environment variable).
    Moved {
        name: String,
        old: SecretSource,
        new: SecretSource,
    },
}

impl SecretChange {
    pub fn name(&self) -> &str {
        match self {
            SecretChange::Added { name }
            | SecretChange::Removed { name }
            | SecretChange::Rotated { name }
            | SecretChange::Moved { name, .. } => name,
        }
    }
}

/// Every secret change, by secret name; a secret both moved and rotated gives both.
pub(crate) fn secret_changes(
    old: &BTreeMap<String, SecretEntry>,
    new: &BTreeMap<String, SecretEntry>,
) -> Vec<SecretChange> {
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    let mut changes = Vec::new();
    for name in names {
        let name_owned = || name.clone();
        match (old.get(name), new.get(name)) {
            (Some(before), Some(after)) => {
                if before.source != after.source {
                    changes.push(SecretChange::Moved {
                        name: name_owned(),
                        old: before.source.clone(),
                        new: after.source.clone(),
                    });
                }
                if before.fingerprint != after.fingerprint {
                    changes.push(SecretChange::Rotated { name: name_owned() });
                }
            }
            (Some(_), None) => changes.push(SecretChange::Removed { name: name_owned() }),
            (None, Some(_)) => changes.push(SecretChange::Added { name: name_owned() }),
            (None, None) => {}
        }
    }
    changes
}
