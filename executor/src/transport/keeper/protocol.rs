//! What an apply and the keeper say to each other: one request per Unix connection, a
//! JSON header line followed by the raw bytes it announces (scripts, stdin, output are
//! bytes and may hold anything, so they are never embedded in JSON).

use std::io::{BufRead, Read, Write};

use serde::{Deserialize, Serialize};

use crate::transport::{SshTarget, TransportError};

/// Bumped when the messages change; it is part of the keeper's socket name, so an apply
/// never talks to a keeper of another version.
pub const PROTOCOL_VERSION: u32 = 2;

/// The largest header accepted: a header holds a target and lengths, never data.
const LONGEST_HEADER: u64 = 64 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Run a script to its end; the answer is its output.
    Run,
    /// Start a script, send it the request's stdin, and answer once it prints the held
    /// marker; the script then runs until the apply closes its connection.
    Hold,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestHeader {
    pub operation: Operation,
    pub target: SshTarget,
    pub script_length: u64,
    pub stdin_length: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum ResponseHeader {
    /// The script ran; its stdout and stderr follow.
    Output {
        status: i32,
        stdout_length: u64,
        stderr_length: u64,
    },
    /// The held script said this much (it follows) and runs on.
    Held { said_length: u64 },
    /// The host could not be reached, or the script not started.
    Failed { error: TransportError },
}

/// Writes a header line, then each payload.
pub fn write_message(
    writer: &mut impl Write,
    header: &impl Serialize,
    payloads: &[&[u8]],
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(header).map_err(std::io::Error::other)?;
    line.push(b'\n');
    writer.write_all(&line)?;
    for payload in payloads {
        writer.write_all(payload)?;
    }
    writer.flush()
}

/// Reads a header line; `None` at the end of the stream.
pub fn read_header<T: for<'de> Deserialize<'de>>(
    reader: &mut impl BufRead,
) -> std::io::Result<Option<T>> {
    let mut line = Vec::new();
    reader.take(LONGEST_HEADER).read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))
}

/// Reads exactly `length` bytes.
pub fn read_payload(reader: &mut impl Read, length: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(length.min(64 * 1024 * 1024) as usize);
    reader.take(length).read_to_end(&mut bytes)?;
    if bytes.len() as u64 != length {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the message was cut short",
        ));
    }
    Ok(bytes)
}
