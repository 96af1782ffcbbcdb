//! What the crate's tests build lockfiles from: a host, a node from its fields, and a
//! cluster of them.

use std::collections::BTreeMap;

use crate::host::{HostEntry, TransportKind};
use crate::lockfile::{ClusterInfo, Lockfile, UnhashedNode};
use crate::node_name::NodeName;
use crate::nodes::{FieldReader, NodeSpec, TextSource};
use crate::value::Value;

/// A host reached over SSH at `address`, of one role.
pub(crate) fn host(address: &str, role: &str) -> HostEntry {
    HostEntry {
        address: address.into(),
        user: None,
        port: None,
        roles: vec![role.into()],
        transport: TransportKind::Ssh,
        root: None,
        become_method: None,
        become_password: None,
    }
}

/// The node `name` (`host:kind:key`) with these dependencies and fields (its key added).
pub(crate) fn node(name: &str, deps: &[&str], fields: &[(&str, Value)]) -> UnhashedNode {
    let name: NodeName = name.parse().unwrap();
    let mut entries: BTreeMap<String, Value> = fields
        .iter()
        .map(|(field, value)| (field.to_string(), value.clone()))
        .collect();
    entries.insert(
        NodeSpec::key_field(name.kind).to_string(),
        Value::String(name.key.to_string()),
    );
    let mut deps: Vec<NodeName> = deps
        .iter()
        .map(|dependency| dependency.parse().unwrap())
        .collect();
    deps.sort_unstable();
    UnhashedNode {
        spec: NodeSpec::from_fields(name.kind, FieldReader::new(entries, TextSource::Inline))
            .unwrap(),
        name,
        deps,
        ordered_after: Vec::new(),
    }
}

/// The lockfile of cluster `test` with these hosts and nodes, and no secret.
pub(crate) fn lockfile(hosts: BTreeMap<String, HostEntry>, nodes: Vec<UnhashedNode>) -> Lockfile {
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
