//! Whether a machine's sshd answers: a TCP connection from this computer to its address and
//! port, and the server's `SSH-2.0-...` greeting. No login: the greeting is what tells an
//! sshd that runs from a port that merely accepts.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// How long one probe waits for the connection, and then for the greeting.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// An sshd's address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SshdProbe {
    pub address: Ipv4Addr,
    pub port: u16,
}

impl SshdProbe {
    /// Whether an SSH server greets at the address and port now.
    pub fn answers(&self) -> bool {
        let target = SocketAddr::from((self.address, self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&target, PROBE_TIMEOUT) else {
            return false;
        };
        if stream.set_read_timeout(Some(PROBE_TIMEOUT)).is_err() {
            return false;
        }
        let mut greeting = [0u8; 8];
        let mut read = 0;
        while read < greeting.len() {
            match stream.read(&mut greeting[read..]) {
                Ok(0) | Err(_) => return false,
                Ok(count) => read += count,
            }
        }
        greeting.starts_with(b"SSH-")
    }
}
