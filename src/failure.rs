use std::fmt;
use std::process::ExitCode;

use cairn_executor::FactsError;

/// How a command failed, which decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or bad input (a malformed spec, an unreadable lockfile): exit 2.
    Input(String),
    /// The command ran and did not succeed (a stale lockfile, a failed write): exit 1.
    Failed(String),
    /// A spec's problems, each already rendered as `error: ...` with its place: exit 2.
    Diagnostics(cairn_compiler::CompileError),
    /// Hosts whose state could not be read (unreachable, their host key refused, sudo
    /// refused): exit 2, as README documents for `plan` and `diff --applied`, so that a
    /// pipeline gated on them stops.
    Unreachable(Vec<FactsError>),
    /// The command found a difference (`cairn diff`, as `diff` does): exit 1, with nothing
    /// on standard error, since the report already said it.
    Different,
}

impl Failure {
    /// `Ok` when no host is unreachable, else the failure naming each.
    pub fn unreachable(problems: impl Iterator<Item = FactsError>) -> Result<(), Failure> {
        let problems: Vec<FactsError> = problems.collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Failure::Unreachable(problems))
        }
    }

    /// The exit code of each kind of failure.
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Input(_) | Failure::Diagnostics(_) | Failure::Unreachable(_) => 2,
            Failure::Failed(_) | Failure::Different => 1,
        }
    }

    pub fn report(self) -> ExitCode {
        let code = ExitCode::from(self.exit_code());
        if let Failure::Different = self {
            return code;
        }
        let text = self.to_string();
        let text = text.trim_end();
        match self {
            Failure::Diagnostics(_) => eprintln!("{text}"),
            _ => eprintln!("error: {text}"),
        }
        code
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Input(text) | Failure::Failed(text) => formatter.write_str(text),
            Failure::Diagnostics(error) => write!(formatter, "{error}"),
            Failure::Unreachable(problems) => {
                for (position, problem) in problems.iter().enumerate() {
                    if position > 0 {
                        formatter.write_str("\nerror: ")?;
                    }
                    write!(
                        formatter,
                        "cannot read the state of host `{}`: {problem}",
                        problem.host()
                    )?;
                }
                Ok(())
            }
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
        Failure::Diagnostics(error)
    }
}
