//! What cairn sends a host: every script and every byte of stdin its actions hand the
//! host's transport (the lock and facts scripts included), counted as they are sent. The
//! figures are what cairn asked to send, before SSH's framing, compression and encryption,
//! and before sudo's few bytes; what a host pulls itself (an image from the registry) is
//! not cairn's to count.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::transport::{CommandOutput, HeldScript, Transport, TransportError};

/// Running counts of one host, shared with whoever reports them.
#[derive(Debug, Default)]
pub struct TransferCounts {
    commands: AtomicU64,
    script_bytes: AtomicU64,
    stdin_bytes: AtomicU64,
}

/// The counts at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferTotals {
    /// Scripts run (and held).
    pub commands: u64,
    /// Their text.
    pub script_bytes: u64,
    /// What their stdin carried: file contents, images, secrets.
    pub stdin_bytes: u64,
}

impl TransferCounts {
    fn add(&self, script: &str, stdin: &[u8]) {
        self.commands.fetch_add(1, Ordering::Relaxed);
        self.script_bytes
            .fetch_add(script.len() as u64, Ordering::Relaxed);
        self.stdin_bytes
            .fetch_add(stdin.len() as u64, Ordering::Relaxed);
    }

    pub fn totals(&self) -> TransferTotals {
        TransferTotals {
            commands: self.commands.load(Ordering::Relaxed),
            script_bytes: self.script_bytes.load(Ordering::Relaxed),
            stdin_bytes: self.stdin_bytes.load(Ordering::Relaxed),
        }
    }
}

/// A host's transport that counts what goes through it.
#[derive(Debug)]
pub struct MeteredTransport {
    inner: Arc<dyn Transport>,
    counts: Arc<TransferCounts>,
}

impl MeteredTransport {
    pub fn new(inner: Arc<dyn Transport>) -> Self {
        Self {
            inner,
            counts: Arc::new(TransferCounts::default()),
        }
    }

    pub fn counts(&self) -> Arc<TransferCounts> {
        Arc::clone(&self.counts)
    }
}

impl Transport for MeteredTransport {
    fn run(&self, script: &str, stdin: &[u8]) -> Result<CommandOutput, TransportError> {
        self.counts.add(script, stdin);
        self.inner.run(script, stdin)
    }

    fn hold(&self, script: &str, stdin: &[u8]) -> Result<HeldScript, TransportError> {
        self.counts.add(script, stdin);
        self.inner.hold(script, stdin)
    }

    fn address(&self) -> String {
        self.inner.address()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;

    #[test]
    fn scripts_and_stdin_are_counted_as_sent() {
        let metered = MeteredTransport::new(Arc::new(LocalTransport));
        metered.run("cat >/dev/null", &[7u8; 1000]).unwrap();
        let held = metered
            .hold(
                &format!(
                    "echo '{}'; exec cat >/dev/null",
                    crate::transport::HELD_MARKER
                ),
                b"",
            )
            .unwrap();
        drop(held);
        let totals = metered.counts().totals();
        assert_eq!(totals.commands, 2);
        assert_eq!(totals.stdin_bytes, 1000);
        assert_eq!(
            totals.script_bytes,
            ("cat >/dev/null".len()
                + format!(
                    "echo '{}'; exec cat >/dev/null",
                    crate::transport::HELD_MARKER
                )
                .len()) as u64
        );
    }
}
