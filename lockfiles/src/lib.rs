//! The cairn lockfile model: the contract between the compiler and the executor.
//!
//! Design notes:
//! - A lockfile is a set of [`Node`]s, each named `host:kind:key` ([`NodeName`]), each with
//!   typed inputs ([`NodeSpec`]), the names of the nodes it depends on, and the names of
//!   those it is only ordered after (`ordered_after`: waited for by apply, in no id).
//! - A node's [`NodeId`] is blake3 over the canonical encoding of its kind, its inputs and the
//!   ids of its dependencies (a Merkle DAG, like a Nix derivation hash). It deliberately leaves
//!   out the host name: the same work on two hosts is the same id. A change anywhere changes
//!   exactly the ids that depend on it.
//! - Only ordered collections (`BTreeMap`, `BTreeSet`, sorted `Vec`) are hashed or written.
//! - [`Lockfile::from_unhashed`] validates a graph (no dangling dependency, no cycle over
//!   dependencies and order-only ones, none both) and computes ids from the dependencies; the reader does the same and refuses a file whose recorded ids differ, so a
//!   [`Lockfile`] value always carries verified ids.
//! - What no id covers (the cluster's table, each host's and secret's, the set of nodes of
//!   each scope and what each is ordered after) is covered by digests the writer records and the reader recomputes
//!   (`integrity`), so a lockfile edited anywhere is refused, naming the table.
//! - A path a node writes has no `.` or `..` component (`nodes/written_path.rs`): joined to
//!   a host's root, it stays under it.
//! - The writer is hand-written so the bytes are stable and a one-line change in a template
//!   is a small `git diff` of the lock. Large text is stored once, keyed by content hash.
//! - This crate knows nothing about specs, modules, SSH or Docker. Being the crate every
//!   other one depends on, it also holds the few helpers they share: writing a file
//!   atomically ([`write_atomically`]), the folder a file is in ([`parent_folder`]), and a
//!   list of nodes put in a computed order, each moved once ([`place_in_order`]).

mod atomic_write;
mod canonical;
mod content;
mod diff;
mod error;
mod fingerprint_key;
mod graph;
mod host;
mod integrity;
mod lockfile;
mod name_list;
mod node;
mod node_id;
mod node_kind;
mod node_name;
mod nodes;
mod parent_folder;
mod place_in_order;
mod reader;
mod rollout;
mod rollouts;
mod secret;
mod sorted_node;
mod sorted_walk;
#[cfg(test)]
mod test_fixtures;
mod toml_text;
mod value;
mod writer;

pub use atomic_write::{write_atomically, write_atomically_with_mode};
pub use canonical::{CanonicalInputs, canonical_inputs};
pub use content::{ContentHash, ContentTable, Text};
pub use diff::{
    ChangedNode, FieldChange, FileChange, FileChangeKind, HostChange, HostImpact, InputChange,
    InputDifference, LockfileDiff, OrderChange, PackageChange, ReplicaRollout, RolloutChange,
    SecretChange, TextChange,
};
pub use error::{GraphError, LockError};
pub use fingerprint_key::FingerprintKey;
pub use graph::topological_order;
pub use host::{BecomeMethod, HostEntry, TransportKind};
pub use integrity::{Digest, LockfileDigests};
pub use lockfile::{ClusterInfo, FORMAT_VERSION, Lockfile, UnhashedNode};
pub use name_list::{NameList, Names};
pub use node::Node;
pub use node_id::NodeId;
pub use node_kind::NodeKind;
pub use node_name::{NodeName, Scope};
pub use nodes::{
    ArtifactPlacement, BarrierNode, CheckNode, CommandNode, ContainerNode, EnvValue, FieldError,
    FieldReader, FileNode, HealthNode, HostPackagePins, ImageArtifact, ImageDirectory, ImageFile,
    ImageHealthcheck, ImageLink, ImageNode, ImagePins, ImageSetup, ImageUser, LayerCompression,
    NodeSpec, PackageNode, PackagePin, PackageRequirement, PinSet, PinSetHash, Probe,
    RepositoryNode, ServiceNode, ServiceState, TextSource,
};
pub use parent_folder::parent_folder;
pub use place_in_order::place_in_order;
pub use rollout::{LastHosts, Parallelism, RolloutPolicy};
pub use secret::{SecretEntry, SecretSource, secret_placeholder, secret_placeholders_in};
pub use value::Value;
