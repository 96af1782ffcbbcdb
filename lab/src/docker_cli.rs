//! The `docker` command line, which the lab drives: what an operator would type, so every
//! step can be repeated by hand, and no client library to keep in step with the engine.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::lab_error::LabError;

/// Arguments longer than this are elided in error messages (a machine's boot script).
const LONGEST_SHOWN_ARGUMENT: usize = 48;

/// Runs `docker` (the one on `PATH`) against this computer's engine.
#[derive(Debug, Clone, Default)]
pub struct DockerCli;

impl DockerCli {
    /// `docker ARGUMENTS`: its standard output, trimmed, or an error naming the command
    /// and quoting the engine's message.
    pub fn run(&self, arguments: &[&str]) -> Result<String, LabError> {
        let output = self.output(arguments, None)?;
        Self::checked(arguments, output)
    }

    /// `docker ARGUMENTS` with `input` on its standard input (`docker cp -`).
    pub fn run_with_input(&self, arguments: &[&str], input: &[u8]) -> Result<String, LabError> {
        let output = self.output(arguments, Some(input))?;
        Self::checked(arguments, output)
    }

    /// Whether `docker ARGUMENTS` succeeds; its output is not kept (`docker image inspect`
    /// of an image that may be missing).
    pub fn succeeds(&self, arguments: &[&str]) -> Result<bool, LabError> {
        Ok(self.output(arguments, None)?.status.success())
    }

    /// The standard output of `docker ARGUMENTS`, `None` where it fails: an inspection of
    /// something that may not exist (its absence is the answer, not an error).
    pub fn inspect(&self, arguments: &[&str]) -> Result<Option<String>, LabError> {
        let output = self.output(arguments, None)?;
        Ok(output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string()))
    }

    /// Checks that the engine answers, before anything is made.
    pub fn check_engine(&self) -> Result<(), LabError> {
        let output = self.output(&["version", "--format", "{{.Server.Version}}"], None)?;
        if output.status.success() {
            return Ok(());
        }
        Err(LabError::EngineUnreachable {
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }

    fn output(&self, arguments: &[&str], input: Option<&[u8]>) -> Result<Output, LabError> {
        let mut command = Command::new("docker");
        command
            .args(arguments)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => LabError::ToolMissing {
                tool: "docker".to_string(),
                install: "Docker Engine (Debian's docker.io)".to_string(),
            },
            _ => LabError::Docker {
                command: describe(arguments),
                message: error.to_string(),
            },
        })?;
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            // Written before the output is read: docker reads its whole input (an archive
            // of a few kilobytes) before it answers.
            stdin.write_all(input).map_err(|error| LabError::Docker {
                command: describe(arguments),
                message: format!("writing its input: {error}"),
            })?;
        }
        child.wait_with_output().map_err(|error| LabError::Docker {
            command: describe(arguments),
            message: error.to_string(),
        })
    }

    fn checked(arguments: &[&str], output: Output) -> Result<String, LabError> {
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).trim().to_string());
        }
        Err(LabError::Docker {
            command: describe(arguments),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// `docker ARGUMENTS` as an error message shows it, long arguments elided.
fn describe(arguments: &[&str]) -> String {
    let shown: Vec<String> = arguments
        .iter()
        .map(|argument| {
            if argument.chars().count() > LONGEST_SHOWN_ARGUMENT || argument.contains('\n') {
                "'...'".to_string()
            } else {
                argument.to_string()
            }
        })
        .collect();
    format!("docker {}", shown.join(" "))
}
