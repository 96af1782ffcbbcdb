//! Lockfiles for the executor's unit tests, built from nodes as a compiler would hand
//! them over: each node by name, dependencies and fields, the hosts by name and roles.

use std::collections::BTreeMap;

use cairn_lockfiles::{
    ClusterInfo, FieldReader, HostEntry, Lockfile, NodeName, NodeSpec, TextSource, TransportKind,
    UnhashedNode, Value,
};

/// The node `name` (`HOST:KIND:KEY`) with `deps` and `fields`, its spec read from them.
pub fn node(name: &str, deps: &[&str], fields: Vec<(&str, Value)>) -> UnhashedNode {
    let name: NodeName = name.parse().unwrap();
    let fields = fields
        .into_iter()
        .map(|(field, value)| (field.to_string(), value))
        .collect();
    let mut deps: Vec<NodeName> = deps
        .iter()
        .map(|dependency| dependency.parse().unwrap())
        .collect();
    deps.sort_unstable();
    UnhashedNode {
        spec: NodeSpec::from_fields(name.kind, FieldReader::new(fields, TextSource::Inline))
            .unwrap(),
        name,
        deps,
        ordered_after: Vec::new(),
    }
}

/// The lockfile of cluster `test` with `nodes` on `hosts` (by name, with their roles),
/// each an SSH host at `10.0.0.1`.
pub fn lockfile(hosts: &[(&str, &[&str])], nodes: Vec<UnhashedNode>) -> Lockfile {
    let hosts = hosts
        .iter()
        .map(|(name, roles)| {
            let host = HostEntry {
                address: "10.0.0.1".into(),
                user: None,
                port: None,
                roles: roles.iter().map(|role| role.to_string()).collect(),
                transport: TransportKind::Ssh,
                root: None,
                become_method: None,
                become_password: None,
            };
            (name.to_string(), host)
        })
        .collect();
    Lockfile::from_unhashed(
        ClusterInfo {
            name: "test".into(),
            domain: "test.example".into(),
            fingerprint_key: None,
        },
        hosts,
        BTreeMap::new(),
        nodes,
    )
    .unwrap()
}
