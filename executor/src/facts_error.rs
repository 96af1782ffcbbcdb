//! Why a host's facts could not be read: the host, and what failed. `plan` marks such a
//! host unreachable (its nodes cannot run), `applied_diff` reports it, the scheduler does
//! not reach it, and the CLI exits with the code documented for an unreachable host.

use std::collections::BTreeMap;

use crate::facts::HostFacts;
use crate::transport::TransportError;

/// Every host's facts, or why they could not be read, by host name (the control host
/// under `cluster`).
pub type HostsFacts = BTreeMap<String, Result<HostFacts, FactsError>>;

/// Why a host could not be read. The texts are those `cairn plan`, `cairn apply` and
/// `cairn diff --applied` print after the host's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactsError {
    /// The host could not be reached or a script not run: its SSH configuration, the
    /// connection, its host key (the transport's error says the fix).
    #[error("{cause}")]
    Transport {
        host: String,
        cause: Box<TransportError>,
    },
    /// The sudo password of a host that says `become = "sudo"` cannot be used.
    #[error("the sudo password: {problem}")]
    SudoPassword { host: String, problem: String },
    /// Another apply holds the host's lock.
    #[error(
        "another cairn apply holds the lock of host `{host}` ({lock_file}); wait for it to finish"
    )]
    Locked { host: String, lock_file: String },
    /// The lock script answered something other than locked or busy.
    #[error("unexpected answer from the lock script: {answer}")]
    UnexpectedLockAnswer { host: String, answer: String },
    /// The script that lists the host's state failed on the host.
    #[error("host `{host}`: cannot read cairn's state: {output}")]
    StateUnreadable { host: String, output: String },
    /// The state listing ended before all its parts (the connection dropped, say).
    #[error("host `{host}`: the state listing is cut short")]
    ListingCutShort { host: String },
}

impl FactsError {
    /// The transport's failure to reach `host`.
    pub fn transport(host: &str, cause: TransportError) -> Self {
        FactsError::Transport {
            host: host.to_string(),
            cause: Box::new(cause),
        }
    }

    /// The host that could not be read.
    pub fn host(&self) -> &str {
        match self {
            FactsError::Transport { host, .. }
            | FactsError::SudoPassword { host, .. }
            | FactsError::Locked { host, .. }
            | FactsError::UnexpectedLockAnswer { host, .. }
            | FactsError::StateUnreadable { host, .. }
            | FactsError::ListingCutShort { host } => host,
        }
    }
}
