//! A jump host's `direct-tcpip` channel as a socket the next SSH session can run over.
//!
//! libssh2 runs a session over a file descriptor (`Session::set_tcp_stream`), not over
//! another session's channel. So the channel's bytes are relayed to one end of a Unix
//! socket pair by a thread of their own, and the next hop's session is handed the other
//! end. The thread owns the jump host's session outright (it carries this one channel, as
//! `ssh -J` opens one connection to the bastion per connection through it), so it can keep
//! that session non-blocking and wait on both descriptors with `poll(2)` rather than spin.
//!
//! Liveness, which the kernel's TCP keepalives give a direct connection but not a
//! connection two hops away: the thread sends SSH keepalives on the jump host's session,
//! and gives up on the channel when bytes went into it and nothing has come back within
//! the next hop's silence limit (its keepalive interval times the keepalives it may leave
//! unanswered: the next hop's own keepalives, sent while a command runs, are answered by a
//! live host within that). Giving up closes the socket pair, so the next
//! session's reads and writes fail at once instead of waiting for ever.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use ssh2::{BlockDirections, Channel, Session};

use crate::transport::SshHop;

/// Bytes buffered each way.
const BUFFER: usize = 256 * 1024;

/// Bytes read at once.
const CHUNK: usize = 64 * 1024;

/// A session to a jump host, with a duplicate of its socket to wait on.
pub(crate) struct HopSession {
    pub session: Session,
    pub socket: OwnedFd,
}

/// Opens a `direct-tcpip` channel from `upstream` (the session to `upstream_hop`) to
/// `next` (within `next`'s connect timeout), and returns the socket the next session runs
/// over. The relay lives until either side closes.
pub(crate) fn relay_to(
    upstream: HopSession,
    upstream_hop: &SshHop,
    next: &SshHop,
) -> Result<UnixStream, String> {
    let HopSession { session, socket } = upstream;
    let (host, port, timeout) = (next.host.as_str(), next.port, next.connect_timeout());
    session.set_timeout(u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX));
    let channel = session
        .channel_direct_tcpip(host, port, None)
        .map_err(|error| match error.code() {
            ssh2::ErrorCode::Session(-9) => format!(
                "it did not open a connection to {host}:{port} within {} s",
                timeout.as_secs_f64()
            ),
            _ => format!("it could not open a connection to {host}:{port}: {error}"),
        })?;
    let (ours, theirs) = UnixStream::pair().map_err(|error| error.to_string())?;
    ours.set_nonblocking(true)
        .map_err(|error| error.to_string())?;
    session.set_blocking(false);
    session.set_keepalive(true, upstream_hop.alive_interval_seconds);
    let relay = ChannelRelay {
        session,
        socket,
        channel,
        local: ours,
        to_channel: Vec::with_capacity(BUFFER),
        to_local: Vec::with_capacity(BUFFER),
        scratch: vec![0u8; CHUNK],
        awaiting_answer_since: None,
        silence_limit: next.silence_limit(),
    };
    std::thread::Builder::new()
        .name(format!("cairn-relay-{host}:{port}"))
        .spawn(move || relay.run())
        .map_err(|error| error.to_string())?;
    Ok(theirs)
}

struct ChannelRelay {
    session: Session,
    socket: OwnedFd,
    channel: Channel,
    local: UnixStream,
    to_channel: Vec<u8>,
    to_local: Vec<u8>,
    /// Where each read lands before it joins a buffer.
    scratch: Vec<u8>,
    /// Since when bytes sent into the channel have had no answer.
    awaiting_answer_since: Option<Instant>,
    /// How long that may last before the channel is given up.
    silence_limit: Duration,
}

/// What one pass over both sides did.
enum Pass {
    Progressed,
    Idle,
    Finished,
}

impl ChannelRelay {
    fn run(mut self) {
        loop {
            match self.pass() {
                Pass::Progressed => continue,
                Pass::Finished => break,
                Pass::Idle => {}
            }
            if let Some(since) = self.awaiting_answer_since
                && since.elapsed() > self.silence_limit
            {
                break;
            }
            if self.wait().is_err() {
                break;
            }
        }
        // Dropping the local end tells the next session its connection is gone; closing
        // the channel and the session frees the jump host's side.
        drop(self.local);
        let _ = self.channel.close();
    }

    /// Moves what can move without waiting; `Finished` when either side is gone.
    fn pass(&mut self) -> Pass {
        let mut progressed = false;
        match self.local_to_channel() {
            Some(moved) => progressed |= moved,
            None => return Pass::Finished,
        }
        match self.channel_to_local() {
            Some(moved) => progressed |= moved,
            None => return Pass::Finished,
        }
        match self.session.keepalive_send() {
            Ok(_) => {}
            Err(error) if error.code() == ssh2::ErrorCode::Session(-37) => {}
            Err(_) => return Pass::Finished,
        }
        if progressed {
            Pass::Progressed
        } else {
            Pass::Idle
        }
    }

    /// Reads from the next session and writes into the channel; `None` when the next
    /// session closed its end or the channel failed.
    fn local_to_channel(&mut self) -> Option<bool> {
        let mut progressed = false;
        if self.to_channel.len() < BUFFER {
            let room = CHUNK.min(BUFFER - self.to_channel.len());
            match self.local.read(&mut self.scratch[..room]) {
                Ok(0) => return None,
                Ok(count) => {
                    self.to_channel.extend_from_slice(&self.scratch[..count]);
                    progressed = true;
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return None,
            }
        }
        if !self.to_channel.is_empty() {
            match self.channel.write(&self.to_channel) {
                Ok(count) => {
                    self.to_channel.drain(..count);
                    self.awaiting_answer_since.get_or_insert_with(Instant::now);
                    progressed |= count > 0;
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return None,
            }
        }
        Some(progressed)
    }

    /// Reads from the channel and writes to the next session; `None` once the channel
    /// has ended and all it said is passed on, or on a failure.
    fn channel_to_local(&mut self) -> Option<bool> {
        let mut progressed = false;
        if self.to_local.len() < BUFFER {
            let room = CHUNK.min(BUFFER - self.to_local.len());
            match self.channel.read(&mut self.scratch[..room]) {
                Ok(0) => {}
                Ok(count) => {
                    self.to_local.extend_from_slice(&self.scratch[..count]);
                    self.awaiting_answer_since = None;
                    progressed = true;
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return None,
            }
        }
        if !self.to_local.is_empty() {
            match self.local.write(&self.to_local) {
                Ok(count) => {
                    self.to_local.drain(..count);
                    progressed |= count > 0;
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return None,
            }
        }
        if self.to_local.is_empty() && self.channel.eof() {
            return None;
        }
        Some(progressed)
    }

    /// Waits (a second at most, for the keepalives) until either side can move.
    fn wait(&self) -> rustix::io::Result<usize> {
        let mut session_events = PollFlags::IN;
        if matches!(
            self.session.block_directions(),
            BlockDirections::Outbound | BlockDirections::Both
        ) {
            session_events |= PollFlags::OUT;
        }
        let mut local_events = PollFlags::empty();
        if self.to_channel.len() < BUFFER {
            local_events |= PollFlags::IN;
        }
        if !self.to_local.is_empty() {
            local_events |= PollFlags::OUT;
        }
        let mut descriptors = [
            PollFd::new(&self.socket, session_events),
            PollFd::new(&self.local, local_events),
        ];
        let timeout = Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        };
        match poll(&mut descriptors, Some(&timeout)) {
            Err(rustix::io::Errno::INTR) => Ok(0),
            other => other,
        }
    }
}
