use std::io::Read;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use ssh2::Session;

use crate::shell::quote;
use crate::transport::channel_pump::{PumpUntil, held_line_start, pump};
use crate::transport::hop_connection::connect_target;
use crate::transport::invocation::Invocation;
use crate::transport::ssh_route::resolve_target;
use crate::transport::{
    CommandOutput, HeldProcess, SshOptions, SshTarget, Transport, TransportError,
};

/// Runs scripts on a host over SSH, directly or through jump hosts, with key
/// authentication and verified host keys. Sessions are opened on demand and pooled, so
/// independent nodes of one host run on connections of their own.
pub struct SshTransport {
    target: SshTarget,
    pool: Mutex<Pool>,
    returned: Condvar,
}

/// Sessions of one host: a handshake costs far more than a command, so a few sessions are
/// reused rather than one opened per concurrent node.
#[derive(Default)]
struct Pool {
    idle: Vec<Session>,
    open: usize,
}

impl std::fmt::Debug for SshTransport {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SshTransport")
            .field("address", &self.address())
            .finish()
    }
}

impl SshTransport {
    /// A transport to `address` (an address, or an alias of the SSH client configuration),
    /// with the spec's `user` and `port` where it gives them. Fails when the configuration
    /// says to reach the host in a way cairn does not follow (see `ssh_route.rs`).
    pub fn new(
        address: &str,
        user: Option<&str>,
        port: Option<u16>,
        options: &SshOptions,
    ) -> Result<Self, TransportError> {
        let target = resolve_target(address, user, port, options).map_err(|message| {
            TransportError::Configuration {
                address: format!("ssh://{address}"),
                message,
            }
        })?;
        Ok(Self::from_target(&target))
    }

    /// A transport to a target already resolved.
    pub fn from_target(target: &SshTarget) -> Self {
        Self {
            target: target.clone(),
            pool: Mutex::new(Pool::default()),
            returned: Condvar::new(),
        }
    }

    /// What this transport connects to, and how.
    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    fn io_error(&self, error: impl std::fmt::Display) -> TransportError {
        TransportError::Io {
            address: self.address(),
            message: error.to_string(),
        }
    }

    /// An idle session, a new one while fewer than `sessions_per_host` are open, or else
    /// the next one given back; and whether it was idle (it may have died since: a host
    /// rebooted while the keeper held its connection).
    fn session(&self) -> Result<(Session, bool), TransportError> {
        let mut pool = self
            .pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            if let Some(session) = pool.idle.pop() {
                return Ok((session, true));
            }
            if pool.open < self.target.sessions_per_host.max(1) {
                pool.open += 1;
                drop(pool);
                let connected = connect_target(&self.target);
                if connected.is_err() {
                    self.discard();
                }
                return connected.map(|session| (session, false));
            }
            pool = self
                .returned
                .wait(pool)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn give_back(&self, session: Session) {
        self.pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .idle
            .push(session);
        self.returned.notify_one();
    }

    /// A session that failed (or never connected) is dropped, not pooled.
    fn discard(&self) {
        self.pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .open -= 1;
        self.returned.notify_one();
    }

    /// A new channel of `session` running `sh -c` with the invocation's command (the
    /// caller sends its stdin prefix).
    fn start(
        &self,
        session: &Session,
        invocation: &Invocation<'_>,
    ) -> Result<ssh2::Channel, TransportError> {
        let mut channel = session
            .channel_session()
            .map_err(|error| self.io_error(error))?;
        channel
            .exec(&format!("sh -c {}", quote(&invocation.command)))
            .map_err(|error| self.io_error(error))?;
        Ok(channel)
    }

    /// A session and a channel running the invocation on it. A session that was idle and
    /// fails before the script could start has died since it was last used: it is
    /// dropped and the next one tried, up to a fresh connection, whose failure is final.
    fn started(
        &self,
        invocation: &Invocation<'_>,
    ) -> Result<(Session, ssh2::Channel), TransportError> {
        loop {
            let (session, was_idle) = self.session()?;
            match self.start(&session, invocation) {
                Ok(channel) => return Ok((session, channel)),
                Err(_) if was_idle => self.discard(),
                Err(error) => {
                    self.discard();
                    return Err(error);
                }
            }
        }
    }

    fn run_on(
        &self,
        session: &Session,
        mut channel: ssh2::Channel,
        invocation: &Invocation<'_>,
        stdin: &[u8],
    ) -> Result<CommandOutput, TransportError> {
        session.set_blocking(false);
        let pumped = pump(
            session,
            &mut channel,
            &invocation.stdin_with(stdin),
            PumpUntil::Closed,
        );
        session.set_blocking(true);
        let (mut stdout, mut stderr) = pumped.map_err(|error| self.io_error(error))?;
        // The remote end has closed its output: what is left is buffered, and ends.
        channel
            .read_to_end(&mut stdout)
            .map_err(|error| self.io_error(error))?;
        channel
            .stderr()
            .read_to_end(&mut stderr)
            .map_err(|error| self.io_error(error))?;
        channel.wait_close().map_err(|error| self.io_error(error))?;
        let status = channel
            .exit_status()
            .map_err(|error| self.io_error(error))?;
        Ok(CommandOutput {
            status,
            stdout,
            stderr,
        })
    }

    /// The held channel rides on a pooled session (it only waits), so holding a lock costs
    /// no handshake of its own. Its stdin (a long script, the caller's bytes) is sent
    /// without blocking and left open: a script that ended before reading it all would
    /// leave a blocking write waiting for ever for window space.
    fn hold_on(
        &self,
        session: &Session,
        mut channel: ssh2::Channel,
        invocation: &Invocation<'_>,
        stdin: &[u8],
    ) -> Result<(String, Box<dyn HeldProcess>), TransportError> {
        session.set_blocking(false);
        let pumped = pump(
            session,
            &mut channel,
            &invocation.stdin_with(stdin),
            PumpUntil::Held,
        );
        session.set_blocking(true);
        let (stdout, mut stderr) = pumped.map_err(|error| self.io_error(error))?;
        let Some(marker) = held_line_start(&stdout) else {
            let _ = channel.stderr().read_to_end(&mut stderr);
            return Err(TransportError::HeldScriptEnded {
                address: self.address(),
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            });
        };
        let said = String::from_utf8_lossy(&stdout[..marker]).into_owned();
        let held = SshHeld {
            channel,
            _session: session.clone(),
        };
        Ok((said, Box::new(held)))
    }
}

struct SshHeld {
    channel: ssh2::Channel,
    // Keeps the session (and its TCP connection) alive as long as the channel.
    _session: Session,
}

impl std::fmt::Debug for SshHeld {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SshHeld")
    }
}

impl HeldProcess for SshHeld {}

impl Drop for SshHeld {
    /// Ends the held script by closing its stdin, and waits (5 s at most) for the channel to
    /// close, which it does when the script has exited. The session may be in non-blocking mode
    /// for another command at this moment (held channels share a pooled session), so a
    /// "would block" is retried: an end of file that is never sent would keep the host's
    /// lock for as long as the connection lives, and a kept connection lives on after
    /// the apply.
    fn drop(&mut self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let retry = |operation: &mut dyn FnMut() -> Result<(), ssh2::Error>| loop {
            match operation() {
                Err(error)
                    if error.code() == ssh2::ErrorCode::Session(-37)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
                _ => return,
            }
        };
        retry(&mut || self.channel.send_eof());
        retry(&mut || self.channel.close());
        // The script has ended (and with it the host's lock) once the channel is closed on
        // both sides: whoever drops a hold may count on the lock being free.
        retry(&mut || self.channel.wait_close());
    }
}

impl Transport for SshTransport {
    fn run(&self, script: &str, stdin: &[u8]) -> Result<CommandOutput, TransportError> {
        let invocation = Invocation::new(script);
        let (session, channel) = self.started(&invocation)?;
        match self.run_on(&session, channel, &invocation, stdin) {
            Ok(output) => {
                self.give_back(session);
                Ok(output)
            }
            Err(error) => {
                self.discard();
                Err(error)
            }
        }
    }

    fn hold(
        &self,
        script: &str,
        stdin: &[u8],
    ) -> Result<(String, Box<dyn HeldProcess>), TransportError> {
        let invocation = Invocation::new(script);
        let (session, channel) = self.started(&invocation)?;
        match self.hold_on(&session, channel, &invocation, stdin) {
            Ok(held) => {
                self.give_back(session);
                Ok(held)
            }
            Err(error) => {
                self.discard();
                Err(error)
            }
        }
    }

    fn address(&self) -> String {
        self.target.address()
    }
}
