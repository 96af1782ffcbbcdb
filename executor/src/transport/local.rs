use std::io::{BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

use crate::transport::invocation::Invocation;
use crate::transport::{
    CommandOutput, HeldProcess, HeldScript, Transport, TransportError, read_until_held,
};

/// Runs scripts on the machine running cairn.
#[derive(Debug, Default, Clone)]
pub struct LocalTransport;

impl LocalTransport {
    /// `sh -c` running the invocation's command, with every stream piped.
    fn spawn(invocation: &Invocation<'_>) -> Result<Child, TransportError> {
        Command::new("sh")
            .arg("-c")
            .arg(invocation.command.as_ref())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(Self::io_error)
    }

    fn io_error(error: std::io::Error) -> TransportError {
        TransportError::Io {
            address: "local://".to_string(),
            message: error.to_string(),
        }
    }
}

#[derive(Debug)]
struct LocalHeld {
    child: Child,
}

impl HeldProcess for LocalHeld {}

impl Drop for LocalHeld {
    fn drop(&mut self) {
        // Closing stdin ends the held script; wait so no zombie is left.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

impl Transport for LocalTransport {
    fn run(&self, script: &str, stdin: &[u8]) -> Result<CommandOutput, TransportError> {
        let invocation = Invocation::new(script);
        let mut child = Self::spawn(&invocation)?;
        let mut input = child.stdin.take().expect("stdin is piped");
        let stdin_bytes = invocation.stdin_with(stdin).into_owned();
        // Feed stdin from a thread: a script may print a lot before it reads.
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&stdin_bytes);
        });
        let output = child.wait_with_output().map_err(Self::io_error)?;
        let _ = writer.join();
        let status = output.status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + output.status.signal().unwrap_or(0)
        });
        Ok(CommandOutput {
            status,
            stdout: output.stdout,
            stderr: output.stderr,
        })
    }

    fn hold(&self, script: &str, stdin: &[u8]) -> Result<HeldScript, TransportError> {
        let invocation = Invocation::new(script);
        let mut child = Self::spawn(&invocation)?;
        if let Some(input) = child.stdin.as_mut() {
            // A long script and a few bytes (a password), read before it prints anything,
            // so this cannot wait on its output. A script that ended early refuses them:
            // what it said comes below.
            let _ = input.write_all(&invocation.stdin_with(stdin));
        }
        let stdout = child.stdout.take().expect("stdout is piped");
        let (said, held) = read_until_held(&mut BufReader::new(stdout)).map_err(Self::io_error)?;
        if !held {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            let _ = child.wait();
            return Err(TransportError::HeldScriptEnded {
                address: self.address(),
                stdout: said,
                stderr,
            });
        }
        Ok((said, Box::new(LocalHeld { child })))
    }

    fn address(&self) -> String {
        "local://".to_string()
    }
}
