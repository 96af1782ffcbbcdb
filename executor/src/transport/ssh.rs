use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ssh2::Session;

use crate::shell::quote;
use crate::transport::channel_pump::{PumpUntil, held_line_start, pump};
use crate::transport::hop_connection::connect_target;
use crate::transport::invocation::Invocation;
use crate::transport::ssh_route::resolve_target;
use crate::transport::{
    CommandOutput, HeldProcess, HeldScript, SshOptions, SshTarget, Transport, TransportError,
};

/// Runs scripts on a host over SSH, directly or through jump hosts, with key
/// authentication and verified host keys. Sessions are opened on demand and pooled, so
/// independent nodes of one host run on connections of their own.
///
/// A held script (the host's lock) has a session to itself, apart from the pool: libssh2
/// is not made for two threads driving one session's channels at once (a packet another
/// thread left half sent makes the end of file of the held channel fail, and a thread in
/// a blocking call keeps the session from everyone else), and the end of a hold must
/// never wait on a command: a killed apply's commands run on in the keeper, and the lock
/// must be free for the next apply at once.
pub struct SshTransport {
    target: SshTarget,
    pool: Mutex<Pool>,
    returned: Condvar,
    hold_sessions: HoldSessions,
}

/// Sessions that carried a hold and let go of it cleanly, for the next hold.
type HoldSessions = Arc<Mutex<Vec<Session>>>;

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
            hold_sessions: HoldSessions::default(),
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

    /// A session for a hold: one whose last hold ended cleanly, else a new connection.
    /// An idle one that fails before the script could start has died since (the host
    /// restarted under the keeper): it is dropped and the next tried.
    fn started_for_hold(
        &self,
        invocation: &Invocation<'_>,
    ) -> Result<(Session, ssh2::Channel), TransportError> {
        loop {
            let idle = self
                .hold_sessions
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .pop();
            let Some(session) = idle else {
                let session = connect_target(&self.target)?;
                let channel = self.start(&session, invocation)?;
                return Ok((session, channel));
            };
            if let Ok(channel) = self.start(&session, invocation) {
                return Ok((session, channel));
            }
        }
    }

    /// Its stdin (a long script, the caller's bytes) is sent without blocking and left
    /// open: a script that ended before reading it all would leave a blocking write
    /// waiting for ever for window space.
    fn hold_on(
        &self,
        session: Session,
        mut channel: ssh2::Channel,
        invocation: &Invocation<'_>,
        stdin: &[u8],
    ) -> Result<HeldScript, TransportError> {
        session.set_blocking(false);
        let pumped = pump(
            &session,
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
            channel: Some(channel),
            session: Some(session),
            home: Arc::clone(&self.hold_sessions),
        };
        Ok((said, Box::new(held)))
    }
}

struct SshHeld {
    channel: Option<ssh2::Channel>,
    /// The session carries this channel alone.
    session: Option<Session>,
    /// Where the session goes once the hold ended cleanly.
    home: HoldSessions,
}

impl std::fmt::Debug for SshHeld {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SshHeld")
    }
}

impl HeldProcess for SshHeld {}

/// How long the end of a hold may take before its connection is closed instead.
const RELEASE_LIMIT: Duration = Duration::from_secs(5);

impl Drop for SshHeld {
    /// Ends the held script by closing its stdin and waits for the channel to close, which
    /// it does when the script has exited: whoever drops a hold may count on the host's
    /// lock being free. The session is then kept for the next hold. If the script has not
    /// ended within [`RELEASE_LIMIT`], the connection is closed instead, and sshd ends
    /// the script: an end of file never sent would keep the lock for as long as the
    /// connection lives, and a kept connection outlives the apply.
    fn drop(&mut self) {
        let (Some(mut channel), Some(session)) = (self.channel.take(), self.session.take()) else {
            return;
        };
        if release(&session, &mut channel) {
            drop(channel);
            self.home
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(session);
        } else {
            session.set_blocking(false);
            drop(channel);
            drop(session);
        }
    }
}

/// Sends the held channel's end of file and waits, [`RELEASE_LIMIT`] at most, for the
/// channel to close; whether it did. A script that ended on its own (a busy lock) closed
/// its side already: the end of file and the close may then fail, and it is enough that
/// the channel is closed.
fn release(session: &Session, channel: &mut ssh2::Channel) -> bool {
    session.set_blocking(false);
    let deadline = Instant::now() + RELEASE_LIMIT;
    let sent = within(deadline, || channel.send_eof()) != Attempt::TimedOut
        && within(deadline, || channel.close()) != Attempt::TimedOut;
    let closed = sent && within(deadline, || channel.wait_close()) == Attempt::Done;
    session.set_blocking(true);
    closed
}

#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    Done,
    Failed,
    TimedOut,
}

/// Retries a non-blocking `operation` while libssh2 says it would block, until `deadline`.
fn within(deadline: Instant, mut operation: impl FnMut() -> Result<(), ssh2::Error>) -> Attempt {
    loop {
        match operation() {
            Ok(()) => return Attempt::Done,
            Err(error) if error.code() == ssh2::ErrorCode::Session(-37) => {
                if Instant::now() >= deadline {
                    return Attempt::TimedOut;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => return Attempt::Failed,
        }
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

    fn hold(&self, script: &str, stdin: &[u8]) -> Result<HeldScript, TransportError> {
        let invocation = Invocation::new(script);
        let (session, channel) = self.started_for_hold(&invocation)?;
        self.hold_on(session, channel, &invocation, stdin)
    }

    fn address(&self) -> String {
        self.target.address()
    }
}
