//! Connecting to a host through its jump hosts: each hop dialled (the first) or reached
//! through a channel of the one before (`channel_relay.rs`), its host key verified against
//! known_hosts and its user authenticated exactly as a host dialled directly, while it
//! holds a [`StartupPermit`] of its server.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use ssh2::Session;

use crate::transport::channel_relay::{HopSession, relay_to};
use crate::transport::startup_limit::StartupPermit;
use crate::transport::{SshHop, SshTarget, TransportError};

/// How long a protocol exchange (opening a channel, starting a command, closing one) may
/// wait on a connected host. Scripts themselves run without a limit (their output is
/// read without blocking); a host that vanishes mid-exchange fails after this.
const PROTOCOL_TIMEOUT: Duration = Duration::from_secs(60);

/// One hop being connected: which, on the way to what, and how errors name it.
#[derive(Debug)]
pub(crate) struct HopConnection<'a> {
    pub hop: &'a SshHop,
    pub target: &'a SshTarget,
    /// The target's address for the destination; for a jump host, its own and what it
    /// leads to.
    pub address: String,
}

/// Attempts at a connection that a server closes before its greeting.
const GREETING_ATTEMPTS: u32 = 3;

/// Why an attempt at connecting failed.
enum AttemptFailure {
    /// A server closed the connection before its greeting: sshd drops connections at
    /// random once more than `MaxStartups` are being started (by other clients too), and
    /// means them to be tried again. Nothing ran.
    DroppedBeforeGreeting(TransportError),
    Failed(TransportError),
}

impl From<TransportError> for AttemptFailure {
    fn from(error: TransportError) -> Self {
        AttemptFailure::Failed(error)
    }
}

/// The destination's session, authenticated, through every jump host; a connection a
/// server dropped before its greeting is tried again, after a pause.
pub(crate) fn connect_target(target: &SshTarget) -> Result<Session, TransportError> {
    let mut attempt = 1;
    loop {
        match connect_once(target) {
            Ok(session) => return Ok(session),
            Err(AttemptFailure::DroppedBeforeGreeting(_)) if attempt < GREETING_ATTEMPTS => {
                std::thread::sleep(pause_before(attempt));
                attempt += 1;
            }
            Err(AttemptFailure::DroppedBeforeGreeting(error) | AttemptFailure::Failed(error)) => {
                return Err(error);
            }
        }
    }
}

/// 100 to 300 ms times the attempt, spread so that connections dropped together do not
/// come back together.
fn pause_before(attempt: u32) -> Duration {
    let spread = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.subsec_nanos() % 200);
    Duration::from_millis(u64::from(attempt) * (100 + u64::from(spread)))
}

fn connect_once(target: &SshTarget) -> Result<Session, AttemptFailure> {
    let mut upstream: Option<(HopSession, &SshHop)> = None;
    for (position, hop) in target.hops().enumerate() {
        let connection = HopConnection::new(target, position);
        let _permit = StartupPermit::acquire(&hop.host, hop.port, target.max_startups);
        let hop_session = match upstream.take() {
            None => {
                let tcp = connection.dial()?;
                let socket = duplicate(&tcp, &connection)?;
                HopSession {
                    session: connection.open_session(tcp)?,
                    socket,
                }
            }
            Some((previous, previous_hop)) => {
                let stream = relay_to(previous, previous_hop, hop).map_err(|problem| {
                    connection
                        .connect_error(format!("jump host {}: {problem}", previous_hop.address()))
                })?;
                let socket = duplicate(&stream, &connection)?;
                HopSession {
                    session: connection.open_session(stream)?,
                    socket,
                }
            }
        };
        upstream = Some((hop_session, hop));
    }
    let (destination, _) = upstream.expect("a target has a destination");
    let session = destination.session;
    session.set_keepalive(true, target.destination.alive_interval_seconds);
    session.set_timeout(milliseconds(PROTOCOL_TIMEOUT));
    Ok(session)
}

/// A second descriptor of the socket a session runs over, to wait on it.
fn duplicate<S>(stream: &S, connection: &HopConnection<'_>) -> Result<OwnedFd, TransportError>
where
    S: std::os::fd::AsFd,
{
    stream
        .as_fd()
        .try_clone_to_owned()
        .map_err(|error| connection.connect_error(error.to_string()))
}

fn milliseconds(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}

impl<'a> HopConnection<'a> {
    pub fn new(target: &'a SshTarget, position: usize) -> Self {
        let (hop, address) = match target.jumps.get(position) {
            Some(jump) => (
                jump,
                format!(
                    "{} (jump host on the way to {})",
                    jump.address(),
                    target.destination.address()
                ),
            ),
            None => (&target.destination, target.address()),
        };
        Self {
            hop,
            target,
            address,
        }
    }

    pub fn connect_error(&self, message: impl Into<String>) -> TransportError {
        TransportError::Connect {
            address: self.address.clone(),
            message: message.into(),
        }
    }

    pub fn io_error(&self, error: impl std::fmt::Display) -> TransportError {
        TransportError::Io {
            address: self.address.clone(),
            message: error.to_string(),
        }
    }

    /// A TCP connection to the hop, within its connect timeout, with keepalives: a host
    /// whose network vanishes sends nothing, not even a reset, and without them a read
    /// would wait for ever.
    fn dial(&self) -> Result<TcpStream, TransportError> {
        let timeout = self.hop.connect_timeout();
        let addresses: Vec<SocketAddr> = (self.hop.host.as_str(), self.hop.port)
            .to_socket_addrs()
            .map_err(|error| self.connect_error(error.to_string()))?
            .collect();
        let mut last_problem = "the address resolves to nothing".to_string();
        for address in addresses {
            match TcpStream::connect_timeout(&address, timeout) {
                Ok(tcp) => {
                    configure_keepalives(&tcp, self.hop);
                    return Ok(tcp);
                }
                Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {
                    last_problem = self.timeout_problem("no answer");
                }
                Err(error) => last_problem = error.to_string(),
            }
        }
        Err(self.connect_error(last_problem))
    }

    /// "no answer within 10 s (...)": what a silent host gets.
    fn timeout_problem(&self, what: &str) -> String {
        format!(
            "{what} within {} s (--connect-timeout, or ConnectTimeout in the SSH configuration)",
            self.hop.connect_timeout().as_secs_f64()
        )
    }

    /// The SSH session over `stream`: handshake, host key, authentication, each within
    /// the connect timeout.
    fn open_session<S: AsRawFd + 'static>(&self, stream: S) -> Result<Session, AttemptFailure> {
        let mut session = Session::new().map_err(|error| self.connect_error(error.to_string()))?;
        session.set_tcp_stream(stream);
        session.set_timeout(milliseconds(self.hop.connect_timeout()));
        session.handshake().map_err(|error| match error.code() {
            ssh2::ErrorCode::Session(-9) => {
                AttemptFailure::Failed(self.connect_error(self.timeout_problem("no SSH handshake")))
            }
            // The banner not received, the socket closed or reset: dropped at the door.
            ssh2::ErrorCode::Session(-2 | -13 | -43) => AttemptFailure::DroppedBeforeGreeting(
                self.connect_error(format!("SSH handshake failed: {error}")),
            ),
            _ => {
                AttemptFailure::Failed(self.connect_error(format!("SSH handshake failed: {error}")))
            }
        })?;
        self.verify_host_key(&session)?;
        self.authenticate(&session)?;
        Ok(session)
    }
}

/// The kernel's part of the hop's liveness: probes after its keepalive interval of
/// silence, a third of that apart, as many unanswered as its keepalives may be; and data
/// sent and not acknowledged within its silence limit fails the connection. By default:
/// probes after 10 s, 3 s apart, 3 unanswered (a dead idle connection fails in about
/// 20 s), and unacknowledged data fails it after 30 s.
fn configure_keepalives(tcp: &TcpStream, hop: &SshHop) {
    let _ = tcp.set_nodelay(true);
    let interval = hop.alive_interval();
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(interval)
        .with_interval((interval / 3).max(Duration::from_secs(1)))
        .with_retries(hop.alive_count_max);
    let socket = socket2::SockRef::from(tcp);
    let _ = socket.set_tcp_keepalive(&keepalive);
    let _ = socket.set_tcp_user_timeout(Some(hop.silence_limit()));
}
