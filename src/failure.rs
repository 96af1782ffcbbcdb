use std::fmt;
use std::process::ExitCode;

/// How a command failed, which decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or bad input (a malformed spec, an unreadable lockfile): exit 2.
    Input(String),
    /// The command ran and did not succeed (a stale lockfile, a failed write): exit 1.
    Failed(String),
    /// The command found a difference (`cairn diff`, as `diff` does): exit 1, with nothing
    /// on standard error, since the report already said it.
    Different,
}

impl Failure {
    pub fn report(self) -> ExitCode {
        let (text, code) = match &self {
            Failure::Input(text) => (text, 2),
            Failure::Failed(text) => (text, 1),
            Failure::Different => return ExitCode::from(1),
        };
        let text = text.trim_end();
        if text.starts_with("error") {
            eprintln!("{text}");
        } else {
            eprintln!("error: {text}");
        }
        ExitCode::from(code)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Input(text) | Failure::Failed(text) => formatter.write_str(text),
            Failure::Different => formatter.write_str("the two differ"),
        }
    }
}

impl From<cairn_lockfiles::LockError> for Failure {
    fn from(error: cairn_lockfiles::LockError) -> Self {
        match error {
            cairn_lockfiles::LockError::Write { .. } => Failure::Failed(error.to_string()),
            _ => Failure::Input(error.to_string()),
        }
    }
}

impl From<cairn_compiler::CompileError> for Failure {
    fn from(error: cairn_compiler::CompileError) -> Self {
        Failure::Input(error.to_string())
    }
}
