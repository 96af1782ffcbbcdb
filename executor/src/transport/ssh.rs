use std::io::{BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use base64::Engine;
use ssh2::{CheckResult, HashType, KnownHostFileKind, Session};

use crate::shell::quote;
use crate::transport::invocation::Invocation;
use crate::transport::known_hosts::{LockedKnownHosts, entry_line};
use crate::transport::{CommandOutput, HeldProcess, Transport, TransportError, read_until_held};

/// How to reach and trust SSH hosts.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// Private keys to try after the agent, in order. Empty: `~/.ssh/id_ed25519`,
    /// `id_ecdsa`, `id_rsa`, those that exist.
    pub identities: Vec<PathBuf>,
    /// The known_hosts file host keys are verified against.
    pub known_hosts: PathBuf,
    /// Trust and record the key of a host not yet in known_hosts (never a changed key).
    pub accept_new_host_keys: bool,
    pub connect_timeout: Duration,
    /// Sessions open to one host at most; more nodes in flight wait for one.
    pub sessions_per_host: usize,
    /// The SSH client configuration whose aliases and identity files apply.
    pub config: Option<std::sync::Arc<crate::transport::SshConfig>>,
}

impl Default for SshOptions {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root"));
        Self {
            identities: Vec::new(),
            known_hosts: home.join(".ssh/known_hosts"),
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            sessions_per_host: 2,
            config: None,
        }
    }
}

/// Runs scripts on a host over SSH, with key authentication and verified host keys.
/// Sessions are opened on demand and pooled, so independent nodes of one host run on
/// connections of their own.
pub struct SshTransport {
    host: String,
    port: u16,
    user: String,
    options: SshOptions,
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

/// Everything that decides how a host is reached and trusted, with the SSH client
/// configuration's aliases already resolved: two transports of equal targets are
/// interchangeable, which is what lets the connection keeper share one between applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SshTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub identities: Vec<PathBuf>,
    pub known_hosts: PathBuf,
    pub accept_new_host_keys: bool,
    pub connect_timeout_milliseconds: u64,
    pub sessions_per_host: usize,
}

/// Serialises the recording of host keys by concurrent first connections of this process
/// (the file's `flock` serialises processes).
static KNOWN_HOSTS_WRITE: Mutex<()> = Mutex::new(());

impl SshTransport {
    /// A transport to `host` (an address, or an alias of the SSH client configuration).
    pub fn new(host: &str, port: u16, user: &str, mut options: SshOptions) -> Self {
        let mut target = host.to_string();
        if let Some(config) = &options.config {
            let resolved = config.resolve(host);
            if let Some(hostname) = resolved.hostname {
                target = hostname;
            }
            options.identities.extend(
                resolved
                    .identity_files
                    .into_iter()
                    .filter(|path| path.exists()),
            );
        }
        Self {
            host: target,
            port,
            user: user.to_string(),
            options,
            pool: Mutex::new(Pool::default()),
            returned: Condvar::new(),
        }
    }

    /// What this transport connects to, and how.
    pub fn target(&self) -> SshTarget {
        SshTarget {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            identities: self.options.identities.clone(),
            known_hosts: self.options.known_hosts.clone(),
            accept_new_host_keys: self.options.accept_new_host_keys,
            connect_timeout_milliseconds: self.options.connect_timeout.as_millis() as u64,
            sessions_per_host: self.options.sessions_per_host,
        }
    }

    /// A transport to a target already resolved.
    pub fn from_target(target: &SshTarget) -> Self {
        let options = SshOptions {
            identities: target.identities.clone(),
            known_hosts: target.known_hosts.clone(),
            accept_new_host_keys: target.accept_new_host_keys,
            connect_timeout: Duration::from_millis(target.connect_timeout_milliseconds),
            sessions_per_host: target.sessions_per_host,
            config: None,
        };
        Self {
            host: target.host.clone(),
            port: target.port,
            user: target.user.clone(),
            options,
            pool: Mutex::new(Pool::default()),
            returned: Condvar::new(),
        }
    }

    fn connect_error(&self, message: impl Into<String>) -> TransportError {
        TransportError::Connect {
            address: self.address(),
            message: message.into(),
        }
    }

    fn io_error(&self, error: impl std::fmt::Display) -> TransportError {
        TransportError::Io {
            address: self.address(),
            message: error.to_string(),
        }
    }

    fn connect(&self) -> Result<Session, TransportError> {
        let socket_address = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|error| self.connect_error(error.to_string()))?
            .next()
            .ok_or_else(|| self.connect_error("the address resolves to nothing"))?;
        let tcp = TcpStream::connect_timeout(&socket_address, self.options.connect_timeout)
            .map_err(|error| self.connect_error(error.to_string()))?;
        let _ = tcp.set_nodelay(true);
        // A host whose network vanishes sends nothing, not even a reset: without
        // keepalives a read would wait for ever. Probes after 10 s of silence, 3 s apart,
        // 3 unanswered: the connection fails in about 20 s.
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(10))
            .with_interval(Duration::from_secs(3))
            .with_retries(3);
        let socket = socket2::SockRef::from(&tcp);
        let _ = socket.set_tcp_keepalive(&keepalive);
        // Data sent and never acknowledged fails the connection after 30 s too.
        let _ = socket.set_tcp_user_timeout(Some(Duration::from_secs(30)));
        let mut session = Session::new().map_err(|error| self.connect_error(error.to_string()))?;
        session.set_tcp_stream(tcp);
        session.set_timeout(self.options.connect_timeout.as_millis() as u32);
        session
            .handshake()
            .map_err(|error| self.connect_error(format!("SSH handshake failed: {error}")))?;
        self.verify_host_key(&session)?;
        self.authenticate(&session)?;
        // Scripts (a health check's retries, a package install) may run long.
        session.set_timeout(0);
        Ok(session)
    }

    /// The known_hosts file, as libssh2 holds it (empty when the file does not exist).
    fn read_known_hosts(&self, session: &Session) -> Result<ssh2::KnownHosts, TransportError> {
        let path = &self.options.known_hosts;
        let mut known_hosts = session
            .known_hosts()
            .map_err(|error| self.io_error(error))?;
        if path.exists() {
            known_hosts
                .read_file(path, KnownHostFileKind::OpenSSH)
                .map_err(|error| {
                    self.io_error(format!("cannot read {}: {error}", path.display()))
                })?;
        }
        Ok(known_hosts)
    }

    fn verify_host_key(&self, session: &Session) -> Result<(), TransportError> {
        let (key, key_type) = session
            .host_key()
            .ok_or_else(|| self.connect_error("the host offered no host key"))?;
        let known_hosts = self.read_known_hosts(session)?;
        match known_hosts.check_port(&self.host, self.port, key) {
            CheckResult::NotFound if self.options.accept_new_host_keys => {
                self.record_host_key(session, key, key_type)
            }
            checked => self.judge_host_key(session, checked),
        }
    }

    /// What a check of the host key against known_hosts means for the connection.
    fn judge_host_key(
        &self,
        session: &Session,
        checked: CheckResult,
    ) -> Result<(), TransportError> {
        let known_hosts_path = &self.options.known_hosts;
        match checked {
            CheckResult::Match => Ok(()),
            CheckResult::Mismatch => Err(TransportError::ChangedHostKey {
                address: self.address(),
                host: self.host.clone(),
                port: self.port,
                known_hosts: known_hosts_path.display().to_string(),
            }),
            CheckResult::NotFound => Err(TransportError::UnknownHostKey {
                address: self.address(),
                host: self.host.clone(),
                port: self.port,
                fingerprint: session
                    .host_key_hash(HashType::Sha256)
                    .map(|hash| {
                        format!(
                            "SHA256:{}",
                            base64::engine::general_purpose::STANDARD_NO_PAD.encode(hash)
                        )
                    })
                    .unwrap_or_default(),
                known_hosts: known_hosts_path.display().to_string(),
            }),
            CheckResult::Failure => Err(self.connect_error("the host key could not be checked")),
        }
    }

    /// Trusts a host key on first use: appends its line to known_hosts, leaving every
    /// other line as it was (see `known_hosts.rs`).
    fn record_host_key(
        &self,
        session: &Session,
        key: &[u8],
        key_type: ssh2::HostKeyType,
    ) -> Result<(), TransportError> {
        let known_hosts_path = &self.options.known_hosts;
        let cannot_write = |error: std::io::Error| {
            self.io_error(format!(
                "cannot record the host key in {}: {error}\nhint: make the file and its folder writable, or add the key yourself with `ssh-keyscan -p {} {} >> {}`",
                known_hosts_path.display(),
                self.port,
                self.host,
                known_hosts_path.display()
            ))
        };
        let _guard = KNOWN_HOSTS_WRITE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut locked = LockedKnownHosts::open(known_hosts_path).map_err(cannot_write)?;
        // Check again under the lock: another connection or another cairn may have
        // recorded this host since (its key, or another: a changed key is never accepted).
        match self
            .read_known_hosts(session)?
            .check_port(&self.host, self.port, key)
        {
            CheckResult::NotFound => {}
            checked => return self.judge_host_key(session, checked),
        }
        let line = entry_line(&self.host, self.port, key_type, key).ok_or_else(|| {
            self.connect_error(format!(
                "cannot record a host key of type {key_type:?} for host `{}` in {}\nhint: add the host's key yourself with `ssh-keyscan -p {} {} >> {}`",
                self.host,
                known_hosts_path.display(),
                self.port,
                self.host,
                known_hosts_path.display()
            ))
        })?;
        locked.append(&line).map_err(cannot_write)
    }

    fn authenticate(&self, session: &Session) -> Result<(), TransportError> {
        let mut problems = Vec::new();
        if std::env::var_os("SSH_AUTH_SOCK").is_some() {
            match self.authenticate_with_agent(session) {
                Ok(true) => return Ok(()),
                Ok(false) => problems.push("ssh-agent: no key accepted".to_string()),
                Err(error) => problems.push(format!("ssh-agent: {error}")),
            }
        }
        // The options' identities, then the defaults OpenSSH would offer.
        let identities = if self.options.identities.is_empty() {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/root"));
            ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .map(|name| home.join(".ssh").join(name))
                .filter(|path| path.exists())
                .collect()
        } else {
            self.options.identities.clone()
        };
        for identity in &identities {
            match session.userauth_pubkey_file(&self.user, None, identity, None) {
                Ok(()) if session.authenticated() => return Ok(()),
                Ok(()) => problems.push(format!("{}: not accepted", identity.display())),
                Err(error) => problems.push(format!("{}: {error}", identity.display())),
            }
        }
        if problems.is_empty() {
            problems.push("no ssh-agent and no private key to offer".to_string());
        }
        Err(TransportError::Authentication {
            address: self.address(),
            user: self.user.clone(),
            message: problems.join("; "),
        })
    }

    /// Offers every key the agent holds, in turn (libssh2's own helper offers the first
    /// only).
    fn authenticate_with_agent(&self, session: &Session) -> Result<bool, ssh2::Error> {
        let mut agent = session.agent()?;
        agent.connect()?;
        agent.list_identities()?;
        for identity in agent.identities()? {
            if agent.userauth(&self.user, &identity).is_ok() && session.authenticated() {
                let _ = agent.disconnect();
                return Ok(true);
            }
        }
        let _ = agent.disconnect();
        Ok(false)
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
            if pool.open < self.options.sessions_per_host.max(1) {
                pool.open += 1;
                drop(pool);
                let connected = self.connect();
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
        let pumped = self.pump(&mut channel, &invocation.stdin_with(stdin), true);
        session.set_blocking(true);
        let (mut stdout, mut stderr) = pumped?;
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

    /// Feeds stdin and drains stdout and stderr together, without blocking on any one of
    /// them: a script that fills stderr while cairn waits on stdout, or that exits before
    /// reading all its stdin, would otherwise hang the apply. Returns once the remote end
    /// has closed its output; or, when `close_stdin` is false (a held script), as soon as
    /// all of `stdin` is sent, leaving stdin open.
    fn pump(
        &self,
        channel: &mut ssh2::Channel,
        stdin: &[u8],
        close_stdin: bool,
    ) -> Result<(Vec<u8>, Vec<u8>), TransportError> {
        let mut written = 0;
        let mut eof_sent = false;
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut idle = Duration::from_micros(200);
        loop {
            let mut progressed = false;
            if written < stdin.len() {
                match channel.write(&stdin[written..]) {
                    Ok(count) if count > 0 => {
                        written += count;
                        progressed = true;
                    }
                    Ok(_) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                    // The script stopped reading (it exited): nothing more to send.
                    Err(_) => written = stdin.len(),
                }
            } else if !close_stdin {
                return Ok((stdout, stderr));
            } else if !eof_sent {
                match channel.send_eof() {
                    Ok(()) => {
                        eof_sent = true;
                        progressed = true;
                    }
                    Err(error) if error.code() == ssh2::ErrorCode::Session(-37) => {}
                    Err(_) => eof_sent = true,
                }
            }
            progressed |= drain(channel, &mut buffer, &mut stdout, false)
                .map_err(|error| self.io_error(error))?;
            progressed |= drain(channel, &mut buffer, &mut stderr, true)
                .map_err(|error| self.io_error(error))?;
            if channel.eof() {
                return Ok((stdout, stderr));
            }
            if progressed {
                idle = Duration::from_micros(200);
            } else {
                std::thread::sleep(idle);
                idle = (idle * 2).min(Duration::from_millis(20));
            }
        }
    }

    /// The held channel rides on a pooled session (it only waits), so holding a lock costs
    /// no handshake of its own.
    fn hold_on(
        &self,
        session: &Session,
        mut channel: ssh2::Channel,
        invocation: &Invocation<'_>,
    ) -> Result<(String, Box<dyn HeldProcess>), TransportError> {
        // A long script goes first, and not by a blocking write: a script that ended
        // before reading it all would leave that write waiting for ever for window space.
        let (early_stdout, early_stderr) = if invocation.stdin_prefix.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            session.set_blocking(false);
            let pumped = self.pump(&mut channel, invocation.stdin_prefix, false);
            session.set_blocking(true);
            pumped?
        };
        let said = {
            let mut reader = BufReader::new(std::io::Cursor::new(early_stdout).chain(&mut channel));
            read_until_held(&mut reader).map_err(|error| self.io_error(error))?
        };
        let Some(said) = said else {
            let mut stderr = String::from_utf8_lossy(&early_stderr).into_owned();
            let _ = channel.stderr().read_to_string(&mut stderr);
            return Err(self.io_error(format!("the held script ended early: {}", stderr.trim())));
        };
        let held = SshHeld {
            channel,
            _session: session.clone(),
        };
        Ok((said, Box::new(held)))
    }
}

/// Reads what is there now (stdout, or stderr) without waiting; says whether anything came.
fn drain(
    channel: &mut ssh2::Channel,
    buffer: &mut [u8],
    into: &mut Vec<u8>,
    standard_error: bool,
) -> std::io::Result<bool> {
    let mut progressed = false;
    loop {
        let read = if standard_error {
            channel.stderr().read(buffer)
        } else {
            channel.read(buffer)
        };
        match read {
            Ok(0) => return Ok(progressed),
            Ok(count) => {
                into.extend_from_slice(&buffer[..count]);
                progressed = true;
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return Ok(progressed),
            Err(error) => return Err(error),
        }
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

    fn hold(&self, script: &str) -> Result<(String, Box<dyn HeldProcess>), TransportError> {
        let invocation = Invocation::new(script);
        let (session, channel) = self.started(&invocation)?;
        match self.hold_on(&session, channel, &invocation) {
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
        format!("ssh://{}@{}:{}", self.user, self.host, self.port)
    }
}
