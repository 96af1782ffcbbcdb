use std::fmt;
use std::path::PathBuf;

/// A line of an SSH client configuration file: where a value came from, for errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    pub file: PathBuf,
    /// From 1.
    pub line: usize,
}

impl fmt::Display for ConfigLocation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.file.display(), self.line)
    }
}

/// Why an SSH client configuration cannot be followed. Each names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum SshConfigError {
    /// The file (or one it includes) cannot be read.
    #[error("cannot read the SSH configuration {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A `Match` block with criteria other than `all`: cairn cannot tell which hosts it
    /// applies to, and following the file without it could reach a host another way than
    /// `ssh` does.
    #[error(
        "{location}: cairn does not follow `Match {criteria}`\nhint: write the hosts it applies to as a `Host` block, or give cairn a configuration without it with --ssh-config (`--ssh-config /dev/null` follows none)"
    )]
    UnsupportedMatch {
        location: ConfigLocation,
        criteria: String,
    },
    /// A value cairn follows that is not of its keyword's form.
    #[error("{location}: `{keyword} {value}`: {problem}")]
    InvalidValue {
        location: ConfigLocation,
        keyword: String,
        value: String,
        problem: String,
    },
    /// `Include` nested deeper than OpenSSH allows (a file including itself, say).
    #[error("{location}: `Include` nested more than 16 deep; does a file include itself?")]
    IncludeDepth { location: ConfigLocation },
    /// An `Include` path with a wildcard before its last part.
    #[error(
        "{location}: cairn expands `*` and `?` in the last part of an `Include` path only (`{path}`)\nhint: name the folder without wildcards, as in `Include ~/.ssh/config.d/*`"
    )]
    IncludePattern {
        location: ConfigLocation,
        path: String,
    },
}
