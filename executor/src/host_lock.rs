//! One apply per host at a time: an `flock` on `/var/lib/cairn/lock`, held by a script that
//! lives as long as the lock guard. The kernel drops the lock when that script ends, however
//! cairn ends (even by SIGKILL, which closes the connection and so the script's stdin).

use crate::host_paths::HostPaths;
use crate::shell::quote;
use crate::transport::{HeldProcess, Transport, TransportError};

/// The held lock of one host.
#[derive(Debug)]
pub struct HostLock {
    _held: Box<dyn HeldProcess>,
}

/// Why the lock was not taken.
#[derive(Debug)]
pub enum LockFailure {
    /// Another apply holds it.
    Busy,
    Transport(TransportError),
    Other(String),
}

const LOCKED: &str = "cairn-locked";
const BUSY: &str = "cairn-busy";

pub fn acquire(transport: &dyn Transport, paths: &HostPaths) -> Result<HostLock, LockFailure> {
    let lock_file = paths.lock_file();
    let script = format!(
        "mkdir -p \"$(dirname {file})\" || exit 1\n\
         exec 9>>{file}\n\
         if flock -n 9; then echo {LOCKED}; else echo {BUSY}; exit 0; fi\n\
         cat >/dev/null\n",
        file = quote(&lock_file),
    );
    let (first_line, held) = transport.hold(&script).map_err(LockFailure::Transport)?;
    match first_line.as_str() {
        LOCKED => Ok(HostLock { _held: held }),
        BUSY => Err(LockFailure::Busy),
        other => Err(LockFailure::Other(format!(
            "unexpected answer from the lock script: {other}"
        ))),
    }
}
