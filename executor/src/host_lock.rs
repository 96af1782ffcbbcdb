//! One apply per host at a time: an `flock` on `/var/lib/cairn/lock`, held by a script that
//! lives as long as the lock guard. The kernel drops the lock when that script ends, however
//! cairn ends (even by SIGKILL, which closes the connection and so the script's stdin). The
//! same script, once it holds the lock, prints the host's facts: one round trip for both.
//! A killed apply's scripts can outlive it (a command still running on the host), so the
//! lock script then waits for an exclusive hold of the actions lock, which every running
//! action holds shared: no action of the old apply runs beside the new one.

use crate::confined_folder::{make_confined_folder, refuse_linked_file};
use crate::host_paths::HostPaths;
use crate::shell::quote;
use crate::transport::{HELD_MARKER, HeldProcess, Transport, TransportError};

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
    /// The lock script answered something else (this line).
    UnexpectedAnswer(String),
}

const LOCKED: &str = "cairn-locked";

/// cairn's folder on a host, and the lock files in it, as paths of the lockfile: made and
/// opened under the host's root without following a link.
const CAIRN_FOLDER: &str = "/var/lib/cairn";
const LOCK_FILE: &str = "/var/lib/cairn/lock";
const ACTIONS_FILE: &str = "/var/lib/cairn/actions";

/// How long a new apply waits for the actions of a killed one to end.
const ACTIONS_WAIT_SECONDS: u32 = 600;
const BUSY: &str = "cairn-busy";

/// How long apply waits for the host's lock before it calls the host busy: long enough
/// for a `cairn plan` that looks whether an apply runs (it takes the lock for an instant),
/// far shorter than any apply.
const BUSY_WAIT_SECONDS: u32 = 3;

/// Takes the host's lock, then runs `then` (its output is returned) while holding it.
pub fn acquire(
    transport: &dyn Transport,
    paths: &HostPaths,
    then: &str,
) -> Result<(HostLock, String), LockFailure> {
    let script = format!(
        "{make_folder}\
         {refuse_links}\
         exec 9>>{file}\n\
         if ! flock -x -w {BUSY_WAIT_SECONDS} 9; then echo {BUSY}; echo '{HELD_MARKER}'; exit 0; fi\n\
         exec 8>>{actions}\n\
         if ! flock -x -w {ACTIONS_WAIT_SECONDS} 8; then echo 'actions of an earlier apply are still running' >&2; exit 1; fi\n\
         exec 8>&-\n\
         echo {LOCKED}\n\
         {then}\n\
         echo '{HELD_MARKER}'\n\
         exec cat >/dev/null\n",
        make_folder = make_confined_folder(paths, CAIRN_FOLDER, None, "exit 1"),
        refuse_links = [LOCK_FILE, ACTIONS_FILE]
            .map(|file| refuse_linked_file(paths, file))
            .concat(),
        file = quote(&paths.lock_file()),
        actions = quote(&paths.actions_lock_file()),
    );
    let (said, held) = transport
        .hold(&script, b"")
        .map_err(LockFailure::Transport)?;
    let (first_line, rest) = said.split_once('\n').unwrap_or((said.as_str(), ""));
    match first_line {
        LOCKED => Ok((HostLock { _held: held }, rest.to_string())),
        BUSY => Err(LockFailure::Busy),
        other => Err(LockFailure::UnexpectedAnswer(other.to_string())),
    }
}
