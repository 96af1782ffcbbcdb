//! The digests a lockfile records beside its tables, compared with the ones its contents
//! hash to (`crate::integrity`): the first that differs names the table that was edited.

use std::collections::BTreeMap;

use crate::error::LockError;
use crate::integrity::{Digest, LockfileDigests};
use crate::lockfile::Lockfile;
use crate::toml_text::key;

/// The digests as written, before they are checked.
#[derive(Debug, Default)]
pub(super) struct RecordedDigests {
    /// The format the lockfile was written in, whose digests these are.
    pub(super) version: i64,
    pub(super) whole: String,
    pub(super) cluster: String,
    pub(super) cluster_nodes: String,
    /// By host: its table's digest and its nodes' digest.
    pub(super) hosts: BTreeMap<String, (String, String)>,
    pub(super) secrets: BTreeMap<String, String>,
    pub(super) rollouts: BTreeMap<String, String>,
    /// Host to model, for each host written like another: its nodes record no id, so its
    /// `nodes_digest` is what an edit of one of them changes.
    pub(super) models: BTreeMap<String, String>,
}

impl RecordedDigests {
    /// Refuses the lockfile where a recorded digest is not the one its part hashes to, most
    /// precise part first: a table's own fields, the nodes of a scope, then the set of
    /// tables as a whole.
    pub(super) fn check(&self, lockfile: &Lockfile, origin: &str) -> Result<(), LockError> {
        let computed = LockfileDigests::of_format(lockfile, self.version);
        // `part` is only written out for a digest that differs: a large lockfile has twenty
        // thousand that do not.
        let compare = |recorded: &str, computed: &Digest, part: &dyn Fn() -> String| {
            if recorded
                .parse::<Digest>()
                .is_ok_and(|recorded| recorded == *computed)
            {
                Ok(())
            } else {
                Err(LockError::Edited {
                    origin: origin.to_string(),
                    part: part(),
                    recorded: recorded.to_string(),
                    computed: *computed,
                })
            }
        };
        compare(&self.cluster, &computed.cluster, &|| {
            "[cluster] (the cluster's name, domain or fingerprint key)".into()
        })?;
        compare(&self.cluster_nodes, &computed.cluster_nodes, &|| {
            "the set of cluster-wide nodes ([cluster]'s `nodes_digest`: a node added or removed)"
                .into()
        })?;
        for (name, (digest, nodes_digest)) in &computed.hosts {
            let (recorded, recorded_nodes) = &self.hosts[name];
            compare(recorded, digest, &|| format!("[hosts.{}]", key(name)))?;
            let part = || match self.models.get(name) {
                None => format!(
                    "the set of host `{name}`'s nodes ([hosts.{name}]'s `nodes_digest`: a node added or removed, or what one depends on or is ordered after)"
                ),
                Some(model) => format!(
                    "host `{name}`'s nodes, written like `{model}`'s ([hosts.{name}]'s `nodes_digest`, which covers the ids they do not record: one of their tables, or `like`, edited)"
                ),
            };
            compare(recorded_nodes, nodes_digest, &part)?;
        }
        for (name, digest) in &computed.secrets {
            compare(&self.secrets[name], digest, &|| {
                format!("[secrets.{}]", key(name))
            })?;
        }
        for (name, digest) in &computed.rollouts {
            let part = || format!("[rollouts.{}]", key(name));
            match self.rollouts.get(name) {
                Some(recorded) => compare(recorded, digest, &part)?,
                None => {
                    return Err(LockError::Edited {
                        origin: origin.to_string(),
                        part: format!("{} (removed)", part()),
                        recorded: "nothing".to_string(),
                        computed: *digest,
                    });
                }
            }
        }
        compare(&self.whole, &computed.whole, &|| {
            "the set of [hosts], [secrets] and [rollouts] tables (the top-level `digest`: a table added or removed)"
                    .into()
        })
    }
}
