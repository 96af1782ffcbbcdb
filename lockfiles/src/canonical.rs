//! The canonical encoding behind every node id.
//!
//! Each value is written as a one-byte tag, then its payload; strings and sequences carry
//! their length (u64, little endian) first, so no two different values share an encoding.
//! Table keys come in `BTreeMap` order. Text is encoded by its content hash, a secret by its
//! name and fingerprint. The id hashes, in order: a domain string with the format version,
//! the kind, the input table, and the sorted dependency ids.

use std::collections::BTreeMap;

use serde_json::json;

use crate::node_id::NodeId;
use crate::node_kind::NodeKind;
use crate::secret::SecretEntry;
use crate::value::Value;

const ID_DOMAIN: &str = "cairn node id v1";

/// Computes a node's id. `secrets` resolves a secret name to its entry; a name that does not
/// resolve is encoded with an empty fingerprint (graph validation refuses such nodes first).
pub(crate) fn node_id(
    kind: NodeKind,
    inputs: &[(&'static str, Value)],
    dependency_ids: &[NodeId],
    secrets: &BTreeMap<String, SecretEntry>,
) -> NodeId {
    let mut encoded = Vec::new();
    encode_inputs(kind, inputs, secrets, &mut encoded);
    id_of_encoded(&encoded, &mut dependency_ids.to_vec())
}

/// Appends to `out` what a node's id hashes before its dependencies: the kind and the input
/// table. Graph validation encodes every node once, before their dependencies are hashed.
pub(crate) fn encode_inputs(
    kind: NodeKind,
    inputs: &[(&'static str, Value)],
    secrets: &BTreeMap<String, SecretEntry>,
    out: &mut Vec<u8>,
) {
    let mut encoder = Encoder { out, secrets };
    encoder.string(kind.as_str());
    let mut sorted_inputs: Vec<&(&'static str, Value)> = inputs.iter().collect();
    sorted_inputs.sort_by_key(|(key, _)| *key);
    encoder.tag(b'm');
    encoder.length(sorted_inputs.len());
    for (key, value) in sorted_inputs {
        encoder.string(key);
        encoder.value(value);
    }
}

/// The id of a node whose kind and inputs [`encode_inputs`] encoded, with the ids of its
/// dependencies (sorted here, in place; a repeated id counts once).
pub(crate) fn id_of_encoded(encoded_inputs: &[u8], dependency_ids: &mut [NodeId]) -> NodeId {
    dependency_ids.sort_unstable();
    let mut unique = dependency_ids.len();
    for pair in dependency_ids.windows(2) {
        if pair[0] == pair[1] {
            unique -= 1;
        }
    }
    let mut hasher = blake3::Hasher::new_derive_key(ID_DOMAIN);
    hasher.update(encoded_inputs);
    hasher.update(b"d");
    hasher.update(&(unique as u64).to_le_bytes());
    let mut previous: Option<&NodeId> = None;
    for id in dependency_ids.iter() {
        if previous != Some(id) {
            hasher.update(id.as_bytes());
        }
        previous = Some(id);
    }
    NodeId::from_hash(&hasher.finalize())
}

/// Writes the canonical encoding of values: the bytes a node's id hashes.
struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    secrets: &'a BTreeMap<String, SecretEntry>,
}

impl Encoder<'_> {
    fn tag(&mut self, tag: u8) {
        self.out.push(tag);
    }

    fn length(&mut self, length: usize) {
        self.out.extend_from_slice(&(length as u64).to_le_bytes());
    }

    fn string(&mut self, text: &str) {
        self.tag(b's');
        self.length(text.len());
        self.out.extend_from_slice(text.as_bytes());
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::String(text) => self.string(text),
            Value::Integer(number) => {
                self.tag(b'i');
                self.out.extend_from_slice(&number.to_le_bytes());
            }
            Value::Bool(flag) => {
                self.tag(b'b');
                self.out.push(u8::from(*flag));
            }
            Value::List(items) => {
                self.tag(b'l');
                self.length(items.len());
                for item in items {
                    self.value(item);
                }
            }
            Value::Table(entries) => {
                self.tag(b'm');
                self.length(entries.len());
                for (key, item) in entries {
                    self.string(key);
                    self.value(item);
                }
            }
            Value::Text(text) => {
                self.tag(b't');
                self.out.extend_from_slice(text.hash().as_bytes());
            }
            Value::Secret(name) => {
                self.tag(b'x');
                self.string(name);
                let fingerprint = self
                    .secrets
                    .get(name)
                    .map(|entry| entry.fingerprint.as_str())
                    .unwrap_or_default();
                self.string(fingerprint);
            }
        }
    }
}

/// What `cairn explain` shows: everything that went into a node's id, as JSON.
#[derive(Debug, Clone)]
pub struct CanonicalInputs(pub serde_json::Value);

/// The canonical inputs of a node as a JSON document: kind, inputs (text by hash and size,
/// secrets by name and fingerprint, never by value), and dependencies with their ids.
pub fn canonical_inputs(
    kind: NodeKind,
    inputs: &[(&'static str, Value)],
    dependencies: &[(String, NodeId)],
    secrets: &BTreeMap<String, SecretEntry>,
) -> CanonicalInputs {
    let mut table = serde_json::Map::new();
    let mut sorted_inputs: Vec<&(&'static str, Value)> = inputs.iter().collect();
    sorted_inputs.sort_by_key(|(key, _)| *key);
    for (key, value) in sorted_inputs {
        table.insert((*key).to_string(), explain_value(value, secrets));
    }
    let mut dependency_list: Vec<serde_json::Value> = dependencies
        .iter()
        .map(|(name, id)| json!({ "name": name, "id": id.to_string() }))
        .collect();
    dependency_list.sort_by(|left, right| left["id"].as_str().cmp(&right["id"].as_str()));
    CanonicalInputs(json!({
        "domain": ID_DOMAIN,
        "kind": kind.as_str(),
        "inputs": table,
        "dependencies": dependency_list,
    }))
}

fn explain_value(value: &Value, secrets: &BTreeMap<String, SecretEntry>) -> serde_json::Value {
    match value {
        Value::String(text) => json!(text),
        Value::Integer(number) => json!(number),
        Value::Bool(flag) => json!(flag),
        Value::List(items) => items
            .iter()
            .map(|item| explain_value(item, secrets))
            .collect(),
        Value::Table(entries) => entries
            .iter()
            .map(|(key, item)| (key.clone(), explain_value(item, secrets)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Value::Text(text) => json!({
            "text": text.hash().to_string(),
            "bytes": text.as_str().len(),
        }),
        Value::Secret(name) => json!({
            "secret": name,
            "fingerprint": secrets.get(name).map(|entry| entry.fingerprint.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(inputs: &[(&'static str, Value)], dependencies: &[NodeId]) -> NodeId {
        node_id(NodeKind::File, inputs, dependencies, &BTreeMap::new())
    }

    #[test]
    fn the_id_does_not_depend_on_the_order_inputs_or_dependencies_are_given_in() {
        let first = id_of(&[], &[]);
        let second = id_of(&[("a", Value::Integer(1))], &[]);
        assert_eq!(
            id_of(&[("a", "x".into()), ("b", "y".into())], &[first, second]),
            id_of(&[("b", "y".into()), ("a", "x".into())], &[second, first]),
        );
    }

    #[test]
    fn values_of_different_shapes_never_collide() {
        let joined = id_of(&[("a", Value::strings(&["ab".into()]))], &[]);
        let split = id_of(&[("a", Value::strings(&["a".into(), "b".into()]))], &[]);
        assert_ne!(joined, split);
        assert_ne!(
            id_of(&[("a", Value::Integer(1))], &[]),
            id_of(&[("a", Value::Bool(true))], &[])
        );
    }

    #[test]
    fn a_dependency_id_change_changes_the_id() {
        let dependency_before = id_of(&[("a", "1".into())], &[]);
        let dependency_after = id_of(&[("a", "2".into())], &[]);
        assert_ne!(
            id_of(&[], &[dependency_before]),
            id_of(&[], &[dependency_after])
        );
    }
}
