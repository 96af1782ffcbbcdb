//! The connection keeper: SSH connections kept open between applies, as OpenSSH's
//! ControlPersist keeps them for Ansible.
//!
//! A handshake costs the host far more than a command (about 20 ms of sshd CPU against a
//! few ms on the benchmark machine), so an apply that finds nothing to do spends most of
//! its time connecting. The first apply starts a keeper, a background `cairn keeper`
//! process, and sends its commands through it; the keeper opens the connections (verifying
//! host keys, authenticating, exactly as an apply does) and keeps them for `persist`
//! after their last use, so the next apply pays commands, not handshakes.
//!
//! - One request per Unix connection (`protocol.rs`): a run answers with the script's
//!   output; a hold (the host lock) answers once the script is holding and lasts as long
//!   as the apply's connection. An apply that ends or is killed closes it, the keeper
//!   ends the held script, and the host's lock is released, as without a keeper.
//! - The socket lives in a folder only its user may enter (0700, checked), named by a hash
//!   of the protocol version, the cairn binary and the ssh-agent socket: an apply only
//!   ever talks to a keeper of its own binary, user and agent.
//! - Secrets pass through the keeper's memory on their way to stdin, as they pass through
//!   an apply's: never in an argument list, never in a log.
//! - A keeper that cannot be started leaves the apply to connect directly.

mod protocol;
mod server;

use std::io::{BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use server::serve;

use crate::transport::{
    CommandOutput, HeldProcess, HeldScript, SshTarget, SshTransport, Transport, TransportError,
};
use protocol::{
    Operation, PROTOCOL_VERSION, RequestHeader, ResponseHeader, read_header, read_payload,
    write_message,
};

/// How applies use a keeper.
#[derive(Debug, Clone)]
pub struct KeeperOptions {
    /// The program that runs `keeper` (the cairn binary).
    pub program: PathBuf,
    /// The folder of the keeper's socket.
    pub directory: PathBuf,
    /// How long connections are kept after their last use.
    pub persist: Duration,
}

impl KeeperOptions {
    /// The default folder: `$CAIRN_KEEPER_DIR`, else `$XDG_RUNTIME_DIR/cairn`, else
    /// `~/.cache/cairn`.
    pub fn default_directory() -> Option<PathBuf> {
        if let Some(directory) = std::env::var_os("CAIRN_KEEPER_DIR") {
            return Some(PathBuf::from(directory));
        }
        if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
            return Some(PathBuf::from(runtime).join("cairn"));
        }
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/cairn"))
    }

    /// The keeper's socket for this binary, user and ssh-agent.
    pub fn socket(&self) -> PathBuf {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&PROTOCOL_VERSION.to_le_bytes());
        hasher.update(self.program.as_os_str().as_encoded_bytes());
        if let Ok(metadata) = std::fs::metadata(&self.program) {
            hasher.update(&metadata.len().to_le_bytes());
            hasher.update(&metadata.mtime().to_le_bytes());
            hasher.update(&metadata.mtime_nsec().to_le_bytes());
        }
        if let Some(agent) = std::env::var_os("SSH_AUTH_SOCK") {
            hasher.update(agent.as_encoded_bytes());
        }
        self.directory
            .join(format!("keeper-{}.sock", &hasher.finalize().to_hex()[..16]))
    }

    /// Connects to the keeper, starting one if none answers. `None` when none can be
    /// started (the apply then connects directly).
    pub fn ensure_running(&self) -> Option<PathBuf> {
        if self.persist.is_zero() || !private_directory(&self.directory) {
            return None;
        }
        let socket = self.socket();
        if UnixStream::connect(&socket).is_ok() {
            return Some(socket);
        }
        // Two applies starting at once start one keeper: the second waits for the lock,
        // then finds the first one's keeper answering.
        let lock_path = socket.with_extension("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .ok()?;
        lock.lock().ok()?;
        if UnixStream::connect(&socket).is_ok() {
            return Some(socket);
        }
        let mut command = Command::new(&self.program);
        command
            .arg("keeper")
            .arg("--socket")
            .arg(&socket)
            .arg("--persist")
            .arg(self.persist.as_secs().max(1).to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group: a Ctrl-C meant for the apply does not end the keeper.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command.spawn().ok()?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if UnixStream::connect(&socket).is_ok() {
                return Some(socket);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

/// Creates `directory` (0700) if need be, and says whether only this user can enter it:
/// anyone who can reach the socket can run commands on the hosts.
fn private_directory(directory: &Path) -> bool {
    if std::fs::create_dir_all(directory).is_err() {
        return false;
    }
    let Ok(metadata) = std::fs::metadata(directory) else {
        return false;
    };
    let Ok(own) = std::fs::metadata("/proc/self") else {
        return false;
    };
    if metadata.uid() != own.uid() {
        return false;
    }
    if metadata.permissions().mode() & 0o077 != 0 {
        return std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o700)).is_ok();
    }
    true
}

/// An SSH transport whose connections live in the keeper.
#[derive(Debug)]
pub struct KeptTransport {
    socket: PathBuf,
    target: SshTarget,
    address: String,
}

impl KeptTransport {
    /// Sends `ssh`'s commands through the keeper at `socket`.
    pub fn new(socket: PathBuf, ssh: &SshTransport) -> Self {
        Self {
            socket,
            target: ssh.target().clone(),
            address: ssh.address(),
        }
    }

    fn keeper_error(&self, error: std::io::Error) -> TransportError {
        TransportError::Io {
            address: self.address.clone(),
            message: format!(
                "the connection keeper ({}) failed: {error}\nhint: run again; pass --persist 0 to connect without a keeper",
                self.socket.display()
            ),
        }
    }

    /// Sends a request; returns the connection, positioned at the response.
    fn request(
        &self,
        operation: Operation,
        script: &str,
        stdin: &[u8],
    ) -> Result<(UnixStream, ResponseHeader, BufReader<UnixStream>), TransportError> {
        let mut stream = UnixStream::connect(&self.socket).map_err(|e| self.keeper_error(e))?;
        let header = RequestHeader {
            operation,
            target: self.target.clone(),
            script_length: script.len() as u64,
            stdin_length: stdin.len() as u64,
        };
        write_message(&mut stream, &header, &[script.as_bytes(), stdin])
            .map_err(|e| self.keeper_error(e))?;
        let mut reader = BufReader::new(stream.try_clone().map_err(|e| self.keeper_error(e))?);
        let response = read_header::<ResponseHeader>(&mut reader)
            .map_err(|e| self.keeper_error(e))?
            .ok_or_else(|| {
                self.keeper_error(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "it closed the connection without answering",
                ))
            })?;
        Ok((stream, response, reader))
    }

    fn unexpected(&self, response: ResponseHeader) -> TransportError {
        self.keeper_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("an unexpected answer: {response:?}"),
        ))
    }
}

/// A held script in the keeper: it runs until this connection closes.
#[derive(Debug)]
struct KeptHold {
    stream: UnixStream,
}

impl HeldProcess for KeptHold {}

impl Drop for KeptHold {
    /// Says the hold is over (the write half shut), then waits, 10 s at most, for the
    /// keeper to close its end, which it does once the held script has ended: the host's
    /// lock is free when the apply returns, not some moment after. A killed apply skips
    /// this; the kernel closes the connection and the keeper ends the script all the same.
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let _ = self
            .stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut self.stream, &mut rest);
    }
}

impl Transport for KeptTransport {
    fn run(&self, script: &str, stdin: &[u8]) -> Result<CommandOutput, TransportError> {
        let (_stream, response, mut reader) = self.request(Operation::Run, script, stdin)?;
        match response {
            ResponseHeader::Output {
                status,
                stdout_length,
                stderr_length,
            } => {
                let stdout =
                    read_payload(&mut reader, stdout_length).map_err(|e| self.keeper_error(e))?;
                let stderr =
                    read_payload(&mut reader, stderr_length).map_err(|e| self.keeper_error(e))?;
                Ok(CommandOutput {
                    status,
                    stdout,
                    stderr,
                })
            }
            ResponseHeader::Failed { error } => Err(error),
            other => Err(self.unexpected(other)),
        }
    }

    fn hold(&self, script: &str, stdin: &[u8]) -> Result<HeldScript, TransportError> {
        let (mut stream, response, mut reader) = self.request(Operation::Hold, script, stdin)?;
        match response {
            ResponseHeader::Held { said_length } => {
                let said =
                    read_payload(&mut reader, said_length).map_err(|e| self.keeper_error(e))?;
                let _ = stream.flush();
                Ok((
                    String::from_utf8_lossy(&said).into_owned(),
                    Box::new(KeptHold { stream }),
                ))
            }
            ResponseHeader::Failed { error } => Err(error),
            other => Err(self.unexpected(other)),
        }
    }

    fn address(&self) -> String {
        self.address.clone()
    }
}
