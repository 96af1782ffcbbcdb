//! `become = "sudo"`: every script of a host run as root through `sudo`, over the host's
//! own transport, for sites where cairn logs in as an unprivileged user.
//!
//! Each script becomes `exec sudo -n -- sh -c 'echo MARKER; SCRIPT'`: non-interactive,
//! so a sudo that wants a password fails at once instead of waiting for one. The marker
//! line, printed by the script's shell once sudo has let it run, is how a refusal by sudo
//! (no rights, a wrong password, no sudo at all) is told apart from the script's own
//! failure: without it, the error names the host, the user and the fix.
//!
//! With a password, it travels first on the script's stdin, one line ahead of the script's
//! own bytes (a long script, file contents, secrets), and never in an argument list, a log
//! or an error. The remote shell reads that line with its `read` builtin (which reads a
//! pipe a byte at a time, so it never takes a byte past the line) into a variable exported
//! to sudo alone, and sudo asks for the password through `SUDO_ASKPASS=printenv` with the
//! variable's name as its prompt (`sudo -A -p CAIRN_BECOME_PASSWORD`): askpass prints the
//! password to sudo on a pipe. sudo's `env_reset` keeps the variable out of the script's
//! environment. Unlike `sudo -S`, which reads the password from the same stdin, this never
//! lets the password reach the script's stdin when sudo does not ask for it (`NOPASSWD`, a
//! cached login), never feeds the script's bytes to sudo as further attempts after a wrong
//! password, and never leaves sudo waiting on the open stdin of a held script (the host
//! lock) for attempts that will not come: askpass answers each attempt, and three wrong
//! ones end sudo.

use std::fmt;
use std::sync::Arc;

use crate::shell::quote;
use crate::transport::invocation::Invocation;
use crate::transport::{CommandOutput, HeldScript, Transport, TransportError};

/// The first line of stdout of every script sudo let run.
const MARKER: &str = "@@cairn-become@@";

/// A host's sudo password, resolved where cairn runs; never printed.
#[derive(Clone)]
pub struct SudoPassword(Arc<String>);

impl SudoPassword {
    /// The password; refused when it spans lines (it travels as one line).
    pub fn new(value: Arc<String>) -> Result<Self, String> {
        if value.contains(['\n', '\r']) {
            return Err("the sudo password holds a line break".to_string());
        }
        Ok(Self(value))
    }
}

impl fmt::Debug for SudoPassword {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SudoPassword(..)")
    }
}

/// Runs every script of `inner` through sudo.
#[derive(Debug)]
pub struct BecomeTransport {
    inner: Arc<dyn Transport>,
    /// The spec's name of the host, and the user sudo runs for: for errors.
    host: String,
    user: String,
    password: Option<SudoPassword>,
}

impl BecomeTransport {
    pub fn new(
        inner: Arc<dyn Transport>,
        host: &str,
        user: &str,
        password: Option<SudoPassword>,
    ) -> Self {
        Self {
            inner,
            host: host.to_string(),
            user: user.to_string(),
            password,
        }
    }

    /// The command the host's shell runs: sudo running `command` after the marker.
    fn wrap(&self, command: &str) -> String {
        let inner = quote(&format!("echo {MARKER}\n{command}"));
        match &self.password {
            None => format!("exec sudo -n -- sh -c {inner}\n"),
            Some(_) => format!(
                "IFS= read -r CAIRN_BECOME_PASSWORD || {{ echo 'cairn: the sudo password did not arrive' >&2; exit 1; }}\n\
                 SUDO_ASKPASS=$(command -v printenv) || {{ echo 'cairn: sudo -A needs printenv, which the host lacks' >&2; exit 1; }}\n\
                 export CAIRN_BECOME_PASSWORD SUDO_ASKPASS\n\
                 exec sudo -A -p CAIRN_BECOME_PASSWORD -- sh -c {inner}\n"
            ),
        }
    }

    /// What the wrapped command reads on stdin: the password line, then the script's
    /// own stdin (a long script ahead of the caller's bytes).
    fn input(&self, invocation: &Invocation<'_>, stdin: &[u8]) -> Vec<u8> {
        let password = self
            .password
            .as_ref()
            .map_or("", |password| password.0.as_str());
        let mut input =
            Vec::with_capacity(password.len() + 1 + invocation.stdin_prefix.len() + stdin.len());
        if self.password.is_some() {
            input.extend_from_slice(password.as_bytes());
            input.push(b'\n');
        }
        input.extend_from_slice(invocation.stdin_prefix);
        input.extend_from_slice(stdin);
        input
    }

    /// sudo's refusal, with the fix its words point to.
    fn refused(&self, stdout: &[u8], stderr: &[u8]) -> TransportError {
        let text = if stderr.iter().any(|byte| !byte.is_ascii_whitespace()) {
            String::from_utf8_lossy(stderr)
        } else {
            String::from_utf8_lossy(stdout)
        };
        let lines: Vec<&str> = text.trim().lines().collect();
        let message = match lines[lines.len().saturating_sub(4)..].join(" / ") {
            empty if empty.is_empty() => "sudo said nothing".to_string(),
            words => words,
        };
        TransportError::Become {
            host: self.host.clone(),
            address: self.inner.address(),
            user: self.user.clone(),
            hint: self.hint(&message),
            message,
        }
    }

    fn hint(&self, message: &str) -> String {
        let (host, user) = (&self.host, &self.user);
        if message.contains("incorrect password") {
            format!(
                "the `become_password` of [hosts.{host}] is not `{user}`'s password on the host: correct the secret it names"
            )
        } else if message.contains("password is required") {
            format!(
                "give `{user}` passwordless sudo on the host (`{user} ALL=(ALL) NOPASSWD: ALL` in /etc/sudoers.d/cairn), or its password as `become_password = {{ file = \"...\" }}` in [hosts.{host}]"
            )
        } else if message.contains("sudoers") || message.contains("not allowed") {
            format!(
                "give `{user}` the right to run commands as root with sudo on the host (`{user} ALL=(ALL) ALL` in /etc/sudoers.d/cairn), or log in as root: `user = \"root\"` without `become` in [hosts.{host}]"
            )
        } else if message.contains("not found") {
            format!(
                "install sudo on the host, or log in as root: `user = \"root\"` without `become` in [hosts.{host}]"
            )
        } else {
            format!(
                "check that `sudo -n true` (or, with a password, `sudo -v`) succeeds for `{user}` on the host"
            )
        }
    }
}

/// Where the script's own stdout starts, after the marker line; `None` when sudo did not
/// let the script run.
fn after_marker(stdout: &[u8]) -> Option<usize> {
    let line = format!("{MARKER}\n");
    stdout.starts_with(line.as_bytes()).then_some(line.len())
}

impl Transport for BecomeTransport {
    fn run(&self, script: &str, stdin: &[u8]) -> Result<CommandOutput, TransportError> {
        let invocation = Invocation::new(script);
        let command = self.wrap(&invocation.command);
        let mut output = self.inner.run(&command, &self.input(&invocation, stdin))?;
        match after_marker(&output.stdout) {
            Some(start) => {
                output.stdout.drain(..start);
                Ok(output)
            }
            None => Err(self.refused(&output.stdout, &output.stderr)),
        }
    }

    fn hold(&self, script: &str, stdin: &[u8]) -> Result<HeldScript, TransportError> {
        let invocation = Invocation::new(script);
        let command = self.wrap(&invocation.command);
        match self.inner.hold(&command, &self.input(&invocation, stdin)) {
            Ok((said, held)) => match after_marker(said.as_bytes()) {
                Some(start) => Ok((said[start..].to_string(), held)),
                None => Err(self.refused(said.as_bytes(), b"")),
            },
            Err(TransportError::HeldScriptEnded {
                address,
                stdout,
                stderr,
            }) => match after_marker(stdout.as_bytes()) {
                Some(start) => Err(TransportError::HeldScriptEnded {
                    address,
                    stdout: stdout[start..].to_string(),
                    stderr,
                }),
                None => Err(self.refused(stdout.as_bytes(), stderr.as_bytes())),
            },
            Err(error) => Err(error),
        }
    }

    fn address(&self) -> String {
        self.inner.address()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;

    /// A stand-in `sudo` on PATH that runs the command as it is, after reading the
    /// password through askpass as the real one would: what it read is kept in a file.
    fn fake_sudo(folder: &std::path::Path) -> String {
        let sudo = folder.join("sudo");
        std::fs::write(
            &sudo,
            format!(
                "#!/bin/sh\nwhile [ \"$1\" != -- ]; do\n  case \"$1\" in -A) \"$SUDO_ASKPASS\" CAIRN_BECOME_PASSWORD > {}/asked;; esac\n  shift\ndone\nshift\nexec \"$@\"\n",
                folder.display()
            ),
        )
        .unwrap();
        std::process::Command::new("chmod")
            .args(["755"])
            .arg(&sudo)
            .status()
            .unwrap();
        format!("PATH={}:$PATH\nexport PATH\n", folder.display())
    }

    #[test]
    fn the_password_reaches_askpass_and_the_script_gets_exactly_its_own_stdin() {
        let folder = tempfile::tempdir().unwrap();
        let path = fake_sudo(folder.path());
        let password = SudoPassword::new(Arc::new("pass word $x".to_string())).unwrap();
        // The PATH is the local transport's: set it around the wrapped command.
        let inner: Arc<dyn Transport> = Arc::new(PathTransport(path));
        let sudo = BecomeTransport::new(inner, "web1", "deploy", Some(password));
        let stdin: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        let output = sudo.run("cat", &stdin).unwrap();
        assert!(
            output.stdout == stdin,
            "stdin arrives byte for byte, the marker removed"
        );
        assert_eq!(
            std::fs::read_to_string(folder.path().join("asked")).unwrap(),
            "pass word $x\n"
        );
        let long = format!("# {}\ncat", "x".repeat(100 * 1024));
        assert!(sudo.run(&long, b"data").unwrap().stdout == b"data");
        assert!(
            !format!("{sudo:?}").contains("pass word"),
            "Debug never shows it"
        );
    }

    #[test]
    fn a_refusal_by_sudo_names_the_host_and_the_fix() {
        let refusing = tempfile::tempdir().unwrap();
        let sudo = refusing.path().join("sudo");
        std::fs::write(
            &sudo,
            "#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n",
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("755")
            .arg(&sudo)
            .status()
            .unwrap();
        let inner: Arc<dyn Transport> = Arc::new(PathTransport(format!(
            "PATH={}:$PATH\n",
            refusing.path().display()
        )));
        let sudo = BecomeTransport::new(inner, "web1", "deploy", None);
        let error = sudo.run("true", b"").unwrap_err().to_string();
        assert!(error.starts_with("host `web1`"), "{error}");
        assert!(error.contains("a password is required"), "{error}");
        assert!(error.contains("NOPASSWD"), "{error}");
        assert!(error.contains("become_password"), "{error}");
        // A script that fails under sudo is the script's failure, not sudo's.
        let folder = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Transport> = Arc::new(PathTransport(fake_sudo(folder.path())));
        let sudo = BecomeTransport::new(inner, "web1", "deploy", None);
        let output = sudo.run("echo out; exit 3", b"").unwrap();
        assert_eq!((output.status, output.stdout_text().as_str()), (3, "out\n"));
    }

    /// The local transport, with a prelude (a PATH, a function) before every command.
    #[derive(Debug)]
    struct PathTransport(String);

    impl Transport for PathTransport {
        fn run(&self, script: &str, stdin: &[u8]) -> Result<CommandOutput, TransportError> {
            LocalTransport.run(&format!("{}{script}", self.0), stdin)
        }

        fn hold(&self, script: &str, stdin: &[u8]) -> Result<HeldScript, TransportError> {
            LocalTransport.hold(&format!("{}{script}", self.0), stdin)
        }

        fn address(&self) -> String {
            "local://".to_string()
        }
    }
}
