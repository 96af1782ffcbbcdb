//! How cairn runs things on a host: one trait, two implementations.
//!
//! Everything the executor does on a host is a POSIX shell script with bytes on its
//! standard input: reading state, writing a file (content on stdin, never in the command
//! line, so secrets stay out of every process's arguments), probing, starting a container.
//! `hold` keeps a script running until its guard is dropped: the per-host lock is an
//! `flock` held by such a script, released by the kernel whenever the script ends, even if
//! cairn is killed.
//!
//! A script too long for a command line (a host's facts, with every file path in it) is
//! sent on stdin ahead of the caller's bytes instead, by both transports alike
//! (`invocation.rs`).

mod authentication;
mod become_transport;
mod channel_pump;
mod channel_relay;
mod hop_connection;
mod host_key_check;
mod invocation;
pub mod keeper;
mod known_hosts;
mod local;
mod metered_transport;
mod ssh;
pub mod ssh_config;
mod ssh_options;
mod ssh_route;
mod ssh_target;
mod startup_limit;

use std::fmt;

pub use become_transport::{BecomeTransport, SudoPassword};
pub use keeper::{KeeperOptions, KeptTransport};
pub use local::LocalTransport;
pub use metered_transport::{MeteredTransport, TransferCounts, TransferTotals};
pub use ssh::SshTransport;
pub use ssh_config::{ResolvedHost, SshConfig, SshConfigError};
pub use ssh_options::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_STARTUPS, SshOptions};
pub use ssh_target::{SshHop, SshTarget};

/// What a script printed and how it ended.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    /// The exit status; 128 + n when killed by signal n.
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl CommandOutput {
    pub fn success(&self) -> bool {
        self.status == 0
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The last lines of stderr (or stdout when stderr is empty), for an error message.
    pub fn failure_text(&self) -> String {
        let text = if self.stderr.iter().any(|byte| !byte.is_ascii_whitespace()) {
            String::from_utf8_lossy(&self.stderr).into_owned()
        } else {
            String::from_utf8_lossy(&self.stdout).into_owned()
        };
        let lines: Vec<&str> = text.trim_end().lines().collect();
        let tail = &lines[lines.len().saturating_sub(8)..];
        format!("exit status {}: {}", self.status, tail.join("\n"))
    }
}

/// Why a host could not be reached or a script not run (not: the script failed).
/// Serializable: the connection keeper hands it to the apply that asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum TransportError {
    #[error("cannot connect to {address}: {message}")]
    Connect { address: String, message: String },
    #[error(
        "{address}: the host key is not in {known_hosts}\nhint: verify the host's key fingerprint ({fingerprint}) and add it with `ssh-keyscan -p {port} {host} >> {known_hosts}`, or pass --accept-new-host-keys to trust it on first use"
    )]
    UnknownHostKey {
        address: String,
        host: String,
        port: u16,
        fingerprint: String,
        known_hosts: String,
    },
    #[error(
        "{address}: the host key does not match the one in {known_hosts}: someone may be intercepting the connection, or the host was reinstalled\nhint: if the host was reinstalled, remove its old key with `ssh-keygen -R '[{host}]:{port}' -f {known_hosts}` and connect again"
    )]
    ChangedHostKey {
        address: String,
        host: String,
        port: u16,
        known_hosts: String,
    },
    #[error(
        "{address}: authentication as `{user}` failed: {message}\nhint: load a key into ssh-agent, or pass --identity with a key the host's authorized_keys accepts"
    )]
    Authentication {
        address: String,
        user: String,
        message: String,
    },
    #[error("{address}: {message}")]
    Io { address: String, message: String },
    /// A held script ended before it said it holds (the host lock's script could not take
    /// the lock, or the shell refused to run it).
    #[error("{address}: the held script ended early: {}", stderr.trim())]
    HeldScriptEnded {
        address: String,
        stdout: String,
        stderr: String,
    },
    /// The SSH client configuration says to reach the host in a way cairn does not follow
    /// (`ProxyCommand`, a loop of `ProxyJump`s); the message names the line.
    #[error("{address}: {message}")]
    Configuration { address: String, message: String },
    /// The host was reached, but `sudo` refused to run cairn's scripts.
    #[error(
        "host `{host}` ({address}): sudo refused to run cairn's commands as root for `{user}`: {message}\nhint: {hint}"
    )]
    Become {
        host: String,
        address: String,
        user: String,
        message: String,
        hint: String,
    },
}

/// The line a held script prints when it has said all it will say.
pub const HELD_MARKER: &str = "@@cairn-held@@";

/// Reads lines up to [`HELD_MARKER`]: what came before it, and whether it came (or the
/// stream ended first).
pub(crate) fn read_until_held(
    reader: &mut impl std::io::BufRead,
) -> std::io::Result<(String, bool)> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok((text, false));
        }
        if line.trim_end() == HELD_MARKER {
            return Ok((text, true));
        }
        text.push_str(&line);
    }
}

/// A script kept running (the holder of a lock). Dropping it ends the script.
pub trait HeldProcess: Send + fmt::Debug {}

/// What [`Transport::hold`] gives back: what the script printed before [`HELD_MARKER`],
/// and the guard that keeps it running. Named once so that each transport's `hold` and
/// the wrappers around them read the same.
pub type HeldScript = (String, Box<dyn HeldProcess>);

/// A way to run scripts on one host.
pub trait Transport: Send + Sync + fmt::Debug {
    /// Runs `script` with `sh`, feeding it `stdin`, and waits for it. A script of any
    /// length: one too long for `sh -c` is read from stdin ahead of `stdin`.
    fn run(&self, script: &str, stdin: &[u8]) -> Result<CommandOutput, TransportError>;

    /// Starts `script`, sends it `stdin`, and returns once it printed a line
    /// [`HELD_MARKER`]: what it printed before that, and the guard that keeps the script
    /// running. The script's stdin stays open until the guard is dropped.
    fn hold(&self, script: &str, stdin: &[u8]) -> Result<HeldScript, TransportError>;

    /// How errors name the host's address: `ssh://root@10.0.0.1:22`, `local://`.
    fn address(&self) -> String;
}
