use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::transport::SshConfig;

/// How long a host may stay silent while cairn connects, when neither
/// `--connect-timeout` nor the SSH configuration's `ConnectTimeout` says.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connected host may say nothing before cairn sends it an SSH keepalive,
/// when the SSH configuration's `ServerAliveInterval` does not say (OpenSSH sends none by
/// default; cairn always does, so that a host whose network vanishes fails instead of
/// hanging the apply).
pub const DEFAULT_ALIVE_INTERVAL_SECONDS: u32 = 10;

/// Keepalives a host may leave unanswered before its connection is given up, when the
/// SSH configuration's `ServerAliveCountMax` does not say: OpenSSH's default.
pub const DEFAULT_ALIVE_COUNT_MAX: u32 = 3;

/// Connections started at once to one SSH server, by default: below the 10 that OpenSSH's
/// default `MaxStartups 10:30:100` lets start before it drops some at random, with room
/// for the moment sshd takes to count a connection as authenticated once it is (at 8, a
/// bastion of 40 hosts still dropped one connection in four runs), so that hundreds of
/// hosts behind one bastion are not refused there.
pub const DEFAULT_MAX_STARTUPS: usize = 6;

/// How to reach and trust SSH hosts: the command line's options and the SSH client
/// configuration they are followed with.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// Private keys to try after the agent, in order, before the configuration's
    /// `IdentityFile`s. None at all: `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`, those that
    /// exist.
    pub identities: Vec<PathBuf>,
    /// The known_hosts file host keys are verified against.
    pub known_hosts: PathBuf,
    /// Trust and record the key of a host not yet in known_hosts (never a changed key).
    pub accept_new_host_keys: bool,
    /// `--connect-timeout`, which wins over the configuration's `ConnectTimeout`; `None`:
    /// that, else [`DEFAULT_CONNECT_TIMEOUT`].
    pub connect_timeout: Option<Duration>,
    /// Sessions open to one host at most; more nodes in flight wait for one.
    pub sessions_per_host: usize,
    /// Connections being started at once to any one SSH server at most (a bastion every
    /// host is reached through, above all).
    pub max_startups: usize,
    /// The SSH client configuration followed (aliases, ports, users, jump hosts, keys).
    pub config: Option<Arc<SshConfig>>,
}

impl Default for SshOptions {
    fn default() -> Self {
        Self {
            identities: Vec::new(),
            known_hosts: crate::transport::ssh_config::home_folder().join(".ssh/known_hosts"),
            accept_new_host_keys: false,
            connect_timeout: None,
            sessions_per_host: 2,
            max_startups: DEFAULT_MAX_STARTUPS,
            config: None,
        }
    }
}
