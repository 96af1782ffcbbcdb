use std::time::Duration;

use crate::transport::ssh_config::{ConfigLocation, JumpHost};

/// A value of the configuration with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub location: ConfigLocation,
}

/// How the configuration says a host is reached: `ProxyJump` or `ProxyCommand`, whichever
/// the configuration gives first (OpenSSH takes one of the two), or `none`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxySetting {
    /// `ProxyJump none` or `ProxyCommand none`: directly, whatever later lines say.
    Direct,
    /// Through these jump hosts, the first dialled directly.
    Jump(Vec<JumpHost>),
    /// A command cairn does not run.
    Command(String),
}

/// What the configuration says about one host: the first value of each keyword among the
/// blocks that match it; identity files add up, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedHost {
    /// `HostName`, with `%h` replaced by the name asked for.
    pub hostname: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// `IdentityFile` values as written: `~` and `%` tokens are expanded once the user
    /// and port are known (`ssh_route.rs`).
    pub identity_files: Vec<Located<String>>,
    pub identities_only: Option<bool>,
    pub connect_timeout: Option<Duration>,
    /// `ServerAliveInterval`: how long a connected host may say nothing before cairn asks
    /// whether it is alive.
    pub server_alive_interval: Option<Duration>,
    /// `ServerAliveCountMax`: how many such questions may go unanswered.
    pub server_alive_count_max: Option<u32>,
    pub proxy: Option<Located<ProxySetting>>,
}
