use std::collections::BTreeMap;

use crate::host::HostEntry;
use crate::lockfile::ClusterInfo;

/// A field of a host (or of the cluster) with its old and new values, as written in the
/// lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

/// How a host differs between two lockfiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostChange {
    Added {
        host: String,
        entry: HostEntry,
    },
    Removed {
        host: String,
        entry: HostEntry,
    },
    /// In both, with different fields (address, user, port, roles, transport, root).
    Changed {
        host: String,
        fields: Vec<FieldChange>,
    },
}

impl HostChange {
    pub fn host(&self) -> &str {
        match self {
            HostChange::Added { host, .. }
            | HostChange::Removed { host, .. }
            | HostChange::Changed { host, .. } => host,
        }
    }
}

/// The hosts added, removed and changed, by host name.
pub(crate) fn host_changes(
    old: &BTreeMap<String, HostEntry>,
    new: &BTreeMap<String, HostEntry>,
) -> Vec<HostChange> {
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    let mut changes = Vec::new();
    for host in names {
        let change = match (old.get(host), new.get(host)) {
            (Some(before), Some(after)) if before == after => continue,
            (Some(before), Some(after)) => HostChange::Changed {
                host: host.clone(),
                fields: field_changes(&host_fields(before), &host_fields(after)),
            },
            (Some(before), None) => HostChange::Removed {
                host: host.clone(),
                entry: before.clone(),
            },
            (None, Some(after)) => HostChange::Added {
                host: host.clone(),
                entry: after.clone(),
            },
            (None, None) => continue,
        };
        changes.push(change);
    }
    changes
}

/// The cluster's name and domain, where they changed.
pub(crate) fn cluster_changes(old: &ClusterInfo, new: &ClusterInfo) -> Vec<FieldChange> {
    let fields = |cluster: &ClusterInfo| {
        vec![
            ("name", cluster.name.clone()),
            ("domain", cluster.domain.clone()),
        ]
    };
    field_changes(&fields(old), &fields(new))
}

fn host_fields(entry: &HostEntry) -> Vec<(&'static str, String)> {
    vec![
        ("address", entry.address.clone()),
        ("user", entry.user.clone().unwrap_or_default()),
        (
            "port",
            entry.port.map(|port| port.to_string()).unwrap_or_default(),
        ),
        ("roles", entry.roles.join(", ")),
        ("transport", entry.transport.to_string()),
        ("root", entry.root.clone().unwrap_or_default()),
        (
            "become",
            entry
                .become_method
                .map(|method| method.to_string())
                .unwrap_or_default(),
        ),
        (
            "become_password",
            entry.become_password.clone().unwrap_or_default(),
        ),
    ]
}

fn field_changes(
    old: &[(&'static str, String)],
    new: &[(&'static str, String)],
) -> Vec<FieldChange> {
    old.iter()
        .zip(new)
        .filter(|(before, after)| before.1 != after.1)
        .map(|(before, after)| FieldChange {
            field: before.0,
            old: before.1.clone(),
            new: after.1.clone(),
        })
        .collect()
}
