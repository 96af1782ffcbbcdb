//! The keeper process: `cairn keeper --socket PATH --persist SECONDS`. It serves runs and
//! holds over SSH transports it keeps between applies, and ends once nothing has used it
//! for `persist`.

use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::transport::keeper::protocol::{
    Operation, RequestHeader, ResponseHeader, read_header, read_payload, write_message,
};
use crate::transport::{SshTarget, SshTransport, Transport, TransportError};

/// A transport kept for a target, and when it was last used.
struct Kept {
    transport: Arc<SshTransport>,
    last_used: Instant,
}

struct Keeper {
    transports: Mutex<HashMap<SshTarget, Kept>>,
    /// Connections being served (a held lock counts until its apply lets go).
    active: AtomicUsize,
    last_activity: Mutex<Instant>,
    persist: Duration,
    socket: PathBuf,
}

/// Serves on `socket` until idle for `persist`; then removes the socket and returns.
pub fn serve(socket: &Path, persist: Duration) -> std::io::Result<()> {
    // A socket file left by a keeper that was killed refuses connections: replace it.
    if UnixStream::connect(socket).is_err() {
        let _ = std::fs::remove_file(socket);
    }
    let listener = UnixListener::bind(socket)?;
    let keeper = Arc::new(Keeper {
        transports: Mutex::new(HashMap::new()),
        active: AtomicUsize::new(0),
        last_activity: Mutex::new(Instant::now()),
        persist,
        socket: socket.to_path_buf(),
    });
    {
        let keeper = Arc::clone(&keeper);
        std::thread::spawn(move || keeper.watch());
    }
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let keeper = Arc::clone(&keeper);
        keeper.active.fetch_add(1, Ordering::SeqCst);
        std::thread::spawn(move || {
            let _ = keeper.serve_one(stream);
            keeper.touch();
            keeper.active.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

impl Keeper {
    fn touch(&self) {
        *self
            .last_activity
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
    }

    /// Drops transports unused for `persist`, and ends the process once nothing is
    /// served and nothing was for `persist`.
    fn watch(&self) {
        let period = (self.persist / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            std::thread::sleep(period);
            let now = Instant::now();
            self.transports
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .retain(|_, kept| {
                    Arc::strong_count(&kept.transport) > 1
                        || now.duration_since(kept.last_used) < self.persist
                });
            let idle_since = *self
                .last_activity
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if self.active.load(Ordering::SeqCst) == 0
                && now.duration_since(idle_since) >= self.persist
            {
                let _ = std::fs::remove_file(&self.socket);
                std::process::exit(0);
            }
        }
    }

    fn transport(&self, target: &SshTarget) -> Arc<SshTransport> {
        let mut transports = self
            .transports
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let kept = transports.entry(target.clone()).or_insert_with(|| Kept {
            transport: Arc::new(SshTransport::from_target(target)),
            last_used: Instant::now(),
        });
        kept.last_used = Instant::now();
        Arc::clone(&kept.transport)
    }

    fn serve_one(&self, stream: UnixStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let Some(header) = read_header::<RequestHeader>(&mut reader)? else {
            return Ok(());
        };
        let script = read_payload(&mut reader, header.script_length)?;
        let stdin = read_payload(&mut reader, header.stdin_length)?;
        let script = String::from_utf8(script)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
        let transport = self.transport(&header.target);
        let mut writer = stream;
        match header.operation {
            Operation::Run => match transport.run(&script, &stdin) {
                Ok(output) => write_message(
                    &mut writer,
                    &ResponseHeader::Output {
                        status: output.status,
                        stdout_length: output.stdout.len() as u64,
                        stderr_length: output.stderr.len() as u64,
                    },
                    &[&output.stdout, &output.stderr],
                ),
                Err(error) => failed(&mut writer, error),
            },
            Operation::Hold => match transport.hold(&script, &stdin) {
                Ok((said, held)) => {
                    write_message(
                        &mut writer,
                        &ResponseHeader::Held {
                            said_length: said.len() as u64,
                        },
                        &[said.as_bytes()],
                    )?;
                    // The script runs until the apply closes its end (it ended, or was
                    // killed: the kernel closes the connection either way).
                    let mut rest = Vec::new();
                    let _ = reader.read_to_end(&mut rest);
                    drop(held);
                    Ok(())
                }
                Err(error) => failed(&mut writer, error),
            },
        }
    }
}

fn failed(writer: &mut UnixStream, error: TransportError) -> std::io::Result<()> {
    write_message(writer, &ResponseHeader::Failed { error }, &[])
}
