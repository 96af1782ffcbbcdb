//! The integrity of a lockfile beyond its nodes' inputs.
//!
//! A node's id covers its inputs and its dependencies' ids, and the reader recomputes every
//! one; what no id covers is recorded as digests the reader recomputes too:
//! - `[cluster]`'s `digest`: the cluster's name, domain and fingerprint key's source;
//!   its `nodes_digest`: the names and ids of the cluster-wide nodes (images);
//! - each `[hosts.NAME]`'s `digest`: how the host is reached and where its root is; its
//!   `nodes_digest`: the names and ids of the host's nodes (a leaf node deleted, a health
//!   check say, changes no other id, but changes this), and from format 5 each node's
//!   `ordered_after` (outside every id: an order-only dependency added or removed by hand
//!   changes this alone), and from format 7 each node's `deps` by name (an id covers the
//!   dependencies' ids, and two nodes may have one id: the same check on two hosts); the
//!   ids of a host written like another, which records none, are checked here alone;
//! - each `[secrets.NAME]`'s `digest`: where the secret is read and its fingerprint;
//! - each `[rollouts.NAME]`'s `digest`: the container's rollout policy (format 4 on; its
//!   `keep_releases` from format 5 on);
//! - the top-level `digest`: the format version and every digest above under its table's
//!   name, so a table added or removed is noticed too.
//!
//! A digest is the first 128 bits of blake3 over a length-prefixed encoding. It guards
//! against hand edits and damage, as the ids do; it is not a signature (anyone with cairn
//! can write a lockfile).

use crate::host::HostEntry;
use crate::lockfile::{
    ClusterInfo, FORMAT_VERSION, LIKE_HOSTS_VERSION, Lockfile, ORDERED_AFTER_VERSION,
};
use crate::name_list::Seen;
use crate::node::Node;
use crate::node_name::Scope;
use crate::rollout::RolloutPolicy;
use crate::secret::{SecretEntry, SecretSource};

/// A digest of one part of a lockfile: 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest([u8; 16]);

crate::node_id::hex_hash_text!(Digest);

/// Encodes fields for blake3, each prefixed by its length, so no two encodings collide.
/// The encoding is gathered and hashed at once: a host's nodes are a few thousand small
/// fields, and blake3 is fastest on one long input (the digest is the same either way).
struct Encoder(Vec<u8>);

impl Encoder {
    fn new(context: &str) -> Self {
        Self::reusing(context, Vec::with_capacity(1024))
    }

    /// An encoder writing into `buffer`, emptied first: ten thousand hosts' node digests
    /// share one, grown once.
    fn reusing(context: &str, mut buffer: Vec<u8>) -> Self {
        buffer.clear();
        let mut encoder = Self(buffer);
        encoder.text(context);
        encoder
    }

    fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0
            .extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    fn text(&mut self, text: &str) -> &mut Self {
        self.bytes(text.as_bytes())
    }

    /// A count, as the text of its decimal digits.
    fn count(&mut self, count: usize) -> &mut Self {
        // Most are a node's few dependencies: one digit, written without the loop.
        if count < 10 {
            return self.bytes(&[b'0' + count as u8]);
        }
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = count;
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.bytes(&digits[start..])
    }

    /// A node's name as a list's holder sees it, as the text `scope:kind:key`.
    fn name(&mut self, (scope, kind, key): Seen<'_>) -> &mut Self {
        let parts = [scope.as_str(), kind.as_str(), key];
        let length = parts.iter().map(|part| part.len()).sum::<usize>() + 2;
        self.0.extend_from_slice(&(length as u64).to_le_bytes());
        for (index, part) in parts.iter().enumerate() {
            if index > 0 {
                self.0.push(b':');
            }
            self.0.extend_from_slice(part.as_bytes());
        }
        self
    }

    fn optional(&mut self, text: Option<&str>) -> &mut Self {
        match text {
            None => self.bytes(b"\0none"),
            Some(text) => self.bytes(b"\0some").text(text),
        }
    }

    fn source(&mut self, source: Option<&SecretSource>) -> &mut Self {
        match source {
            None => self.bytes(b"none"),
            Some(SecretSource::Env(variable)) => self.bytes(b"env").text(variable),
            Some(SecretSource::File(path)) => self.bytes(b"file").text(path),
        }
    }

    fn digest(&mut self, digest: &Digest) -> &mut Self {
        self.bytes(&digest.0)
    }

    fn finish(&self) -> Digest {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&blake3::hash(&self.0).as_bytes()[..16]);
        Digest(bytes)
    }
}

/// Every digest of a lockfile, as the writer records them and the reader recomputes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockfileDigests {
    pub whole: Digest,
    pub cluster: Digest,
    pub cluster_nodes: Digest,
    /// By host name: its table's digest and its nodes' digest.
    pub hosts: std::collections::BTreeMap<String, (Digest, Digest)>,
    pub secrets: std::collections::BTreeMap<String, Digest>,
    /// By container name (empty for a format-3 lockfile, which has no rollout tables).
    pub rollouts: std::collections::BTreeMap<String, Digest>,
}

impl LockfileDigests {
    /// The digests the writer records: this format's.
    pub fn of(lockfile: &Lockfile) -> Self {
        Self::of_format(lockfile, FORMAT_VERSION)
    }

    /// The digests of a lockfile written in format `version` (3, 4 or this one).
    pub fn of_format(lockfile: &Lockfile, version: i64) -> Self {
        let covered = CoveredLists {
            ordered_after: version >= ORDERED_AFTER_VERSION,
            deps: version >= LIKE_HOSTS_VERSION,
        };
        let mut buffer = Vec::new();
        let mut nodes_digest = |nodes: &[Node]| nodes_digest(nodes, covered, &mut buffer);
        let cluster = cluster_digest(&lockfile.cluster);
        let cluster_nodes = nodes_digest(lockfile.nodes_of(&Scope::Cluster));
        let hosts: std::collections::BTreeMap<String, (Digest, Digest)> = lockfile
            .hosts
            .iter()
            .map(|(name, host)| {
                let nodes = lockfile.nodes_of(&Scope::Host(name.as_str().into()));
                (name.clone(), (host_digest(name, host), nodes_digest(nodes)))
            })
            .collect();
        let secrets: std::collections::BTreeMap<String, Digest> = lockfile
            .secrets
            .iter()
            .map(|(name, secret)| (name.clone(), secret_digest(name, secret)))
            .collect();
        let rollouts: std::collections::BTreeMap<String, Digest> = if version < 4 {
            Default::default()
        } else {
            lockfile
                .rollouts()
                .iter()
                .map(|(name, policy)| (name.clone(), rollout_digest(name, policy, version)))
                .collect()
        };
        let mut whole = Encoder::new("cairn lockfile");
        whole.text(&version.to_string());
        whole.digest(&cluster).digest(&cluster_nodes);
        for (name, (host, nodes)) in &hosts {
            whole.bytes(b"host").text(name).digest(host).digest(nodes);
        }
        for (name, secret) in &secrets {
            whole.bytes(b"secret").text(name).digest(secret);
        }
        for (name, rollout) in &rollouts {
            whole.bytes(b"rollout").text(name).digest(rollout);
        }
        Self {
            whole: whole.finish(),
            cluster,
            cluster_nodes,
            hosts,
            secrets,
            rollouts,
        }
    }
}

fn cluster_digest(cluster: &ClusterInfo) -> Digest {
    Encoder::new("cairn cluster")
        .text(&cluster.name)
        .text(&cluster.domain)
        .source(cluster.fingerprint_key.as_ref())
        .finish()
}

fn host_digest(name: &str, host: &HostEntry) -> Digest {
    let mut encoder = Encoder::new("cairn host");
    encoder
        .text(name)
        .text(&host.address)
        .optional(host.user.as_deref())
        .optional(host.port.map(|port| port.to_string()).as_deref())
        .text(&host.roles.len().to_string());
    for role in &host.roles {
        encoder.text(role);
    }
    encoder
        .text(host.transport.as_str())
        .optional(host.root.as_deref())
        .optional(host.become_method.map(|method| method.as_str()))
        .optional(host.become_password.as_deref())
        .finish()
}

/// Which of a node's lists a format's `nodes_digest` covers.
#[derive(Clone, Copy)]
struct CoveredLists {
    /// Format 5 on: no id covers them.
    ordered_after: bool,
    /// Format 7 on: an id covers its dependencies' ids, not which nodes they are, and a
    /// host written like another is renamed into its own (a dependency on another node
    /// with the same id would read as well).
    deps: bool,
}

/// The names and ids of some nodes, in order: a node added or removed changes it; and the
/// lists `covered` names.
fn nodes_digest(nodes: &[Node], covered: CoveredLists, buffer: &mut Vec<u8>) -> Digest {
    let mut encoder = Encoder::reusing("cairn nodes", std::mem::take(buffer));
    for node in nodes {
        encoder
            .text(node.name.kind.as_str())
            .text(&node.name.key)
            .bytes(node.id.as_bytes());
        if covered.ordered_after {
            encoder.count(node.ordered_after.len());
            for name in node.ordered_after.seen() {
                encoder.name(name);
            }
        }
        if covered.deps {
            encoder.count(node.deps.len());
            for name in node.deps.seen() {
                encoder.name(name);
            }
        }
    }
    let digest = encoder.finish();
    *buffer = encoder.0;
    digest
}

fn secret_digest(name: &str, secret: &SecretEntry) -> Digest {
    Encoder::new("cairn secret")
        .text(name)
        .source(Some(&secret.source))
        .text(&secret.fingerprint)
        .finish()
}

/// A rollout policy, every field (written in full, defaults too); `keep_releases` from
/// format 5 on, so a format-4 table's digest is the one format 4 recorded.
fn rollout_digest(name: &str, policy: &RolloutPolicy, version: i64) -> Digest {
    let mut encoder = Encoder::new("cairn rollout");
    encoder
        .text(name)
        .text(&policy.max_parallel.to_string())
        .optional(policy.last.as_ref().map(|last| last.run.as_str()))
        .optional(policy.last.as_ref().map(|last| last.are.as_str()))
        .optional(policy.drain.as_deref())
        .optional(policy.undrain.as_deref())
        .text(&policy.gates.len().to_string());
    for gate in &policy.gates {
        encoder.text(gate);
    }
    encoder
        .text(&policy.min_healthy_seconds.to_string())
        .text(&policy.deadline_seconds.to_string());
    if version >= 5 {
        encoder.text(&policy.keep_releases.to_string());
    }
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_reads_back_from_its_hex() {
        let digest = Encoder::new("test").text("x").finish();
        assert_eq!(digest.to_string().parse::<Digest>(), Ok(digest));
        assert!("xyz".parse::<Digest>().is_err());
    }

    #[test]
    fn fields_are_length_prefixed_so_moving_a_boundary_changes_the_digest() {
        let joined = Encoder::new("test").text("ab").text("c").finish();
        let moved = Encoder::new("test").text("a").text("bc").finish();
        assert_ne!(joined, moved);
    }

    #[test]
    fn a_count_and_a_name_encode_as_their_text() {
        let name: crate::NodeName = "h1:check:port-free:80".parse().unwrap();
        for count in [0, 7, 10, 1234567] {
            assert_eq!(
                Encoder::new("test")
                    .count(count)
                    .name(crate::name_list::seen(&name))
                    .finish(),
                Encoder::new("test")
                    .text(&count.to_string())
                    .text(&name.to_string())
                    .finish()
            );
        }
    }

    #[test]
    fn an_absent_value_differs_from_an_empty_one() {
        let absent = Encoder::new("test").optional(None).finish();
        let empty = Encoder::new("test").optional(Some("")).finish();
        assert_ne!(absent, empty);
    }
}
