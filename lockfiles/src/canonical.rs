//! The canonical encoding behind every node id.
//!
//! Each value is written as a one-byte tag, then its payload; strings and sequences carry
//! their length (u64, little endian) first, so no two different values share an encoding.
//! Table keys come in `BTreeMap` order. Text is encoded by its content hash, a secret by its
//! name and fingerprint; a text holding secret placeholders (a config file with a password)
//! also by the name and fingerprint of each secret it references, which apply fills in, so
//! rotating one changes the id of the file that receives it. The id hashes, in order: a
//! domain string with the format version, the kind, the input table, and the sorted
//! dependency ids.

use std::collections::BTreeMap;

use serde_json::json;

use crate::node_id::NodeId;
use crate::node_kind::NodeKind;
use crate::secret::SecretEntry;
use crate::value::Value;

const ID_DOMAIN: &str = "cairn node id v1";

/// A hasher in the ids' key-derivation mode, its context hashed once: `new_derive_key`
/// hashes the context again on every call, a compression more for each of half a million ids.
fn id_hasher() -> blake3::Hasher {
    static HASHER: std::sync::LazyLock<blake3::Hasher> =
        std::sync::LazyLock::new(|| blake3::Hasher::new_derive_key(ID_DOMAIN));
    HASHER.clone()
}

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

/// Appends to `out` the canonical encoding of one value without secrets (a package node's
/// pin set, whose hash addresses it in the lockfile's `[package_pins]` tables).
pub(crate) fn encode_value(value: &Value, out: &mut Vec<u8>) {
    let no_secrets = BTreeMap::new();
    let mut encoder = Encoder {
        out,
        secrets: &no_secrets,
    };
    encoder.value(value);
}

/// The id of a node whose kind and inputs [`encode_inputs`] encoded, with the ids of its
/// dependencies (sorted here, in place; a repeated id counts once).
pub(crate) fn id_of_encoded(encoded_inputs: &[u8], dependency_ids: &mut [NodeId]) -> NodeId {
    id_from_inputs_hashed(inputs_hashed(encoded_inputs), dependency_ids)
}

/// An id's hasher with the encoded kind and inputs fed: the part of an id that the nodes of
/// one class share, whatever they depend on.
pub(crate) fn inputs_hashed(encoded_inputs: &[u8]) -> blake3::Hasher {
    let mut hasher = id_hasher();
    hasher.update(encoded_inputs);
    hasher
}

/// The id of the node whose inputs `hasher` was fed ([`inputs_hashed`]), with the ids of
/// its dependencies (sorted here, in place; a repeated id counts once).
pub(crate) fn id_from_inputs_hashed(
    mut hasher: blake3::Hasher,
    dependency_ids: &mut [NodeId],
) -> NodeId {
    dependency_ids.sort_unstable();
    let mut unique = dependency_ids.len();
    for pair in dependency_ids.windows(2) {
        if pair[0] == pair[1] {
            unique -= 1;
        }
    }
    // The bytes go to the hasher a block at a time: a call to `update` costs more than the
    // sixteen bytes of one id, and most ids are computed from the dependencies alone (the
    // inputs' part shared by a class).
    let mut block = IdBlock::default();
    block.push(&mut hasher, b"d");
    block.push(&mut hasher, &(unique as u64).to_le_bytes());
    let mut previous: Option<&NodeId> = None;
    for id in dependency_ids.iter() {
        if previous != Some(id) {
            block.push(&mut hasher, id.as_bytes());
        }
        previous = Some(id);
    }
    block.flush(&mut hasher);
    NodeId::from_hash(&hasher.finalize())
}

/// Bytes gathered on the stack for one `update` of a hasher: the same bytes, in the same
/// order, as an `update` each.
struct IdBlock {
    bytes: [u8; Self::CAPACITY],
    length: usize,
}

impl IdBlock {
    /// Room for the tag, the count and fifteen ids: most nodes' dependencies in one update.
    const CAPACITY: usize = 256;

    fn push(&mut self, hasher: &mut blake3::Hasher, bytes: &[u8]) {
        if self.length + bytes.len() > Self::CAPACITY {
            self.flush(hasher);
        }
        self.bytes[self.length..self.length + bytes.len()].copy_from_slice(bytes);
        self.length += bytes.len();
    }

    fn flush(&mut self, hasher: &mut blake3::Hasher) {
        hasher.update(&self.bytes[..self.length]);
        self.length = 0;
    }
}

impl Default for IdBlock {
    fn default() -> Self {
        Self {
            bytes: [0; Self::CAPACITY],
            length: 0,
        }
    }
}

/// Writes the canonical encoding of values: the bytes a node's id hashes.
struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    secrets: &'a BTreeMap<String, SecretEntry>,
}

impl<'a> Encoder<'a> {
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
                // The names are found once per text (`Text` keeps them), not once per node.
                let secret_names = text.secret_names();
                if secret_names.is_empty() {
                    self.tag(b't');
                    self.out.extend_from_slice(text.hash().as_bytes());
                } else {
                    // Its own tag: a text without placeholders keeps the encoding (and the
                    // ids) it always had.
                    self.tag(b'T');
                    self.out.extend_from_slice(text.hash().as_bytes());
                    self.length(secret_names.len());
                    for name in secret_names {
                        self.string(name);
                        self.string(self.fingerprint(name));
                    }
                }
            }
            Value::Secret(name) => {
                self.tag(b'x');
                self.string(name);
                self.string(self.fingerprint(name));
            }
        }
    }

    /// A secret's fingerprint; empty for a name that does not resolve.
    fn fingerprint(&self, name: &str) -> &'a str {
        self.secrets
            .get(name)
            .map(|entry| entry.fingerprint.as_str())
            .unwrap_or_default()
    }
}

/// What `cairn explain` shows: everything that went into a node's id, as JSON.
#[derive(Debug, Clone)]
pub struct CanonicalInputs(pub serde_json::Value);

/// The canonical inputs of a node as a JSON document: kind, inputs (text by hash and size,
/// with the secrets its placeholders reference; secrets by name and fingerprint, never by
/// value), and dependencies with their ids.
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
        Value::Text(text) => {
            let mut explained = json!({
                "text": text.hash().to_string(),
                "bytes": text.as_str().len(),
            });
            if !text.secret_names().is_empty() {
                explained["secrets"] = text
                    .secret_names()
                    .iter()
                    .map(|name| explain_secret(name, secrets))
                    .collect();
            }
            explained
        }
        Value::Secret(name) => explain_secret(name, secrets),
    }
}

fn explain_secret(name: &str, secrets: &BTreeMap<String, SecretEntry>) -> serde_json::Value {
    json!({
        "secret": name,
        "fingerprint": secrets.get(name).map(|entry| entry.fingerprint.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Text;
    use crate::secret::{SecretSource, secret_placeholder};

    fn secrets(entries: &[(&str, &str)]) -> BTreeMap<String, SecretEntry> {
        entries
            .iter()
            .map(|(name, fingerprint)| {
                (
                    name.to_string(),
                    SecretEntry {
                        source: SecretSource::Env("UNUSED".into()),
                        fingerprint: fingerprint.to_string(),
                    },
                )
            })
            .collect()
    }

    fn id_of_text(text: &Text, secrets: &BTreeMap<String, SecretEntry>) -> NodeId {
        node_id(
            NodeKind::File,
            &[("content", Value::Text(text.clone()))],
            &[],
            secrets,
        )
    }

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

    #[test]
    fn the_dependency_ids_are_hashed_sorted_and_once_each_however_many_there_are() {
        // Forty ids fill more than one of the blocks they are fed to the hasher in; the
        // id must be what feeding them one by one gives.
        let dependencies: Vec<NodeId> = (0..40i64)
            .map(|number| id_of(&[("n", Value::Integer(number))], &[]))
            .collect();
        let mut given: Vec<NodeId> = dependencies.iter().rev().copied().collect();
        given.extend_from_slice(&dependencies[..5]);
        let mut encoded = Vec::new();
        encode_inputs(NodeKind::File, &[], &BTreeMap::new(), &mut encoded);
        let mut expected = id_hasher();
        expected.update(&encoded);
        expected.update(b"d");
        expected.update(&40u64.to_le_bytes());
        let mut sorted = dependencies.clone();
        sorted.sort();
        for id in &sorted {
            expected.update(id.as_bytes());
        }
        assert_eq!(
            id_of_encoded(&encoded, &mut given),
            NodeId::from_hash(&expected.finalize())
        );
    }

    /// How the encoder writes a string.
    fn encoded_string(text: &str) -> Vec<u8> {
        let mut bytes = vec![b's'];
        bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
        bytes
    }

    /// The encoding of a file node whose one input is `content`, up to the text's own.
    fn encoded_file_content(text: &Text, secrets: &BTreeMap<String, SecretEntry>) -> Vec<u8> {
        let mut encoded = Vec::new();
        encode_inputs(
            NodeKind::File,
            &[("content", Value::Text(text.clone()))],
            secrets,
            &mut encoded,
        );
        let mut prefix = encoded_string("file");
        prefix.push(b'm');
        prefix.extend_from_slice(&1u64.to_le_bytes());
        prefix.extend(encoded_string("content"));
        assert!(encoded.starts_with(&prefix));
        encoded.split_off(prefix.len())
    }

    #[test]
    fn a_text_without_placeholders_is_encoded_by_its_hash_alone() {
        let text = Text::new("plain = true\n");
        let mut expected = vec![b't'];
        expected.extend_from_slice(text.hash().as_bytes());
        assert_eq!(
            encoded_file_content(&text, &secrets(&[("a", "00")])),
            expected
        );
    }

    #[test]
    fn a_text_with_placeholders_is_encoded_with_each_secret_once_sorted_by_name() {
        let text = Text::new(format!(
            "{}{}{}",
            secret_placeholder("b"),
            secret_placeholder("a"),
            secret_placeholder("b")
        ));
        let mut expected = vec![b'T'];
        expected.extend_from_slice(text.hash().as_bytes());
        expected.extend_from_slice(&2u64.to_le_bytes());
        for part in ["a", "0a", "b", "0b"] {
            expected.extend(encoded_string(part));
        }
        assert_eq!(
            encoded_file_content(&text, &secrets(&[("a", "0a"), ("b", "0b"), ("c", "0c")])),
            expected
        );
    }

    #[test]
    fn a_text_with_placeholders_changes_its_id_when_a_secret_it_references_rotates() {
        let text = Text::new(format!(
            "password = {}\nagain = {}\nauth = {}\n",
            secret_placeholder("b.password"),
            secret_placeholder("b.password"),
            secret_placeholder("a.auth"),
        ));
        let before = secrets(&[("a.auth", "01"), ("b.password", "02"), ("c.other", "03")]);
        let rotated = secrets(&[("a.auth", "01"), ("b.password", "12"), ("c.other", "03")]);
        let unrelated = secrets(&[("a.auth", "01"), ("b.password", "02"), ("c.other", "13")]);
        assert_ne!(id_of_text(&text, &before), id_of_text(&text, &rotated));
        assert_eq!(id_of_text(&text, &before), id_of_text(&text, &unrelated));
        let plain = Text::new("password = x\n");
        assert_eq!(
            id_of_text(&plain, &before),
            id_of_text(&plain, &rotated),
            "a text without placeholders does not depend on secrets"
        );
    }

    #[test]
    fn explain_names_the_secrets_a_text_references_with_their_fingerprints() {
        let text = Text::new(format!("auth_pass {}\n", secret_placeholder("k.auth_pass")));
        let explained = canonical_inputs(
            NodeKind::File,
            &[
                ("content", Value::Text(text)),
                ("owner", Value::Text(Text::new("root"))),
            ],
            &[],
            &secrets(&[("k.auth_pass", "0123")]),
        );
        let inputs = &explained.0["inputs"];
        assert_eq!(
            inputs["content"]["secrets"],
            json!([{ "secret": "k.auth_pass", "fingerprint": "0123" }])
        );
        assert!(inputs["owner"].get("secrets").is_none(), "{inputs}");
    }
}
