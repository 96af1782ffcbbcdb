//! Feeding a command's stdin and draining its stdout and stderr together, without
//! blocking on any one of them: a script that fills stderr while cairn waits on stdout, or
//! that exits before reading all its stdin, would otherwise hang the apply. The session is
//! non-blocking while this runs, so no protocol timeout limits how long a script may take;
//! SSH keepalives go out while it waits, which a connection through jump hosts needs to
//! notice a host gone silent (`channel_relay.rs`).

use std::io::{Read, Write};
use std::time::Duration;

use ssh2::{Channel, Session};

use crate::transport::HELD_MARKER;

/// When pumping ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PumpUntil {
    /// stdin is closed once sent; pumping ends when the command has closed its output.
    Closed,
    /// stdin stays open; pumping ends once stdout holds a line [`HELD_MARKER`] (or the
    /// command closed its output first).
    Held,
}

/// Pumps `channel` (its session non-blocking) until `until`; returns stdout and stderr so
/// far.
pub(crate) fn pump(
    session: &Session,
    channel: &mut Channel,
    stdin: &[u8],
    until: PumpUntil,
) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
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
        } else if until == PumpUntil::Closed && !eof_sent {
            match channel.send_eof() {
                Ok(()) => {
                    eof_sent = true;
                    progressed = true;
                }
                Err(error) if error.code() == ssh2::ErrorCode::Session(-37) => {}
                Err(_) => eof_sent = true,
            }
        }
        progressed |= drain(channel, &mut buffer, &mut stdout, false)?;
        progressed |= drain(channel, &mut buffer, &mut stderr, true)?;
        if channel.eof() || (until == PumpUntil::Held && held_line_start(&stdout).is_some()) {
            return Ok((stdout, stderr));
        }
        let _ = session.keepalive_send();
        if progressed {
            idle = Duration::from_micros(200);
        } else {
            std::thread::sleep(idle);
            idle = (idle * 2).min(Duration::from_millis(20));
        }
    }
}

/// Where the line [`HELD_MARKER`] starts in `stdout`, once it is there whole.
pub(crate) fn held_line_start(stdout: &[u8]) -> Option<usize> {
    let marker = HELD_MARKER.as_bytes();
    let mut start = 0;
    for line in stdout.split_inclusive(|byte| *byte == b'\n') {
        if line.ends_with(b"\n") && line.trim_ascii_end() == marker {
            return Some(start);
        }
        start += line.len();
    }
    None
}

/// Reads what is there now (stdout, or stderr) without waiting; says whether anything came.
fn drain(
    channel: &mut Channel,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_held_line_is_found_whole_and_only_as_a_line_of_its_own() {
        let said = format!("cairn-locked\nfacts\n{HELD_MARKER}\n");
        assert_eq!(held_line_start(said.as_bytes()), Some(19));
        assert_eq!(
            held_line_start(format!("{HELD_MARKER}\n").as_bytes()),
            Some(0)
        );
        assert_eq!(
            held_line_start(format!("x\n{HELD_MARKER}").as_bytes()),
            None
        );
        assert_eq!(
            held_line_start(format!("x {HELD_MARKER}\n").as_bytes()),
            None
        );
    }
}
