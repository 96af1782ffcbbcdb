use std::collections::BTreeMap;
use std::fmt;

use crate::nodes::PackageRequirement;

/// How one package of a package list (a package node's, an image's) differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageChange {
    /// The same package at another version: `haproxy 2.6.12 → 2.6.13`. `None` is an
    /// unpinned version (whatever the repository offers).
    Version {
        name: String,
        old: Option<String>,
        new: Option<String>,
    },
    Added(PackageRequirement),
    Removed(PackageRequirement),
}

impl fmt::Display for PackageChange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let version =
            |version: &Option<String>| version.clone().unwrap_or_else(|| "(unpinned)".to_string());
        match self {
            PackageChange::Version { name, old, new } => {
                write!(formatter, "{name} {} → {}", version(old), version(new))
            }
            PackageChange::Added(requirement) => write!(formatter, "+ {requirement}"),
            PackageChange::Removed(requirement) => write!(formatter, "- {requirement}"),
        }
    }
}

/// The per-package changes between two lists, sorted by package name; `None` when an entry
/// is not a package requirement, so the caller shows the lists as they are instead.
pub(crate) fn package_changes(old: &[String], new: &[String]) -> Option<Vec<PackageChange>> {
    let parse = |list: &[String]| -> Option<BTreeMap<String, PackageRequirement>> {
        list.iter()
            .map(|text| {
                PackageRequirement::parse(text)
                    .ok()
                    .map(|requirement| (requirement.name.clone(), requirement))
            })
            .collect()
    };
    let (old, new) = (parse(old)?, parse(new)?);
    let mut changes = Vec::new();
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        match (old.get(name), new.get(name)) {
            (Some(before), Some(after)) if before.version != after.version => {
                changes.push(PackageChange::Version {
                    name: name.clone(),
                    old: before.version.clone(),
                    new: after.version.clone(),
                });
            }
            (Some(before), None) => changes.push(PackageChange::Removed(before.clone())),
            (None, Some(after)) => changes.push(PackageChange::Added(after.clone())),
            _ => {}
        }
    }
    Some(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn a_version_bump_reads_old_arrow_new_and_lists_added_and_removed_packages() {
        let changes = package_changes(
            &strings(&["curl", "haproxy=2.6.12", "jq"]),
            &strings(&["haproxy=2.6.13", "jq", "socat"]),
        )
        .unwrap();
        let shown: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["- curl", "haproxy 2.6.12 → 2.6.13", "+ socat"]);
    }

    #[test]
    fn pinning_a_package_is_a_version_change_from_unpinned() {
        let changes = package_changes(&strings(&["haproxy"]), &strings(&["haproxy=2.6.13"]));
        assert_eq!(
            changes.unwrap()[0].to_string(),
            "haproxy (unpinned) → 2.6.13"
        );
    }
}
