//! What stops an import: each names the file and line, and what to write instead.

/// An input cairn cannot read as an inventory, a config file or a role mapping.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A host pattern whose range does not read.
    #[error("inventory line {line}: `{pattern}` is not a host range: {reason}")]
    HostRange {
        line: usize,
        pattern: String,
        reason: String,
    },
    /// A line of the inventory that is neither a section, a host nor a variable.
    #[error("inventory line {line}: {reason}\nhint: {hint}")]
    Inventory {
        line: usize,
        reason: String,
        hint: String,
    },
    /// A line of the config file that is not `KEY=value`.
    #[error(
        "config file line {line}: {reason}, so it is not `KEY=value` (the line is not shown: it may hold a password)\nhint: write one `KEY=value` a line, KEY of letters, digits and `_`; `#` starts a comment"
    )]
    ConfigLine { line: usize, reason: String },
    /// A variables file beside the inventory (`group_vars/`, `host_vars/`) that is not
    /// YAML, or not a mapping.
    #[error(
        "{path}:{line}:{column}: {reason}\nhint: a variables file holds `name: value` lines, as Ansible reads it"
    )]
    VarsFile {
        path: String,
        line: usize,
        column: usize,
        reason: String,
    },
    /// A variables folder or file that cannot be read.
    #[error("cannot read {path}: {source}")]
    VarsFolder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The role mapping file.
    #[error(
        "role mapping: {reason}\nhint: write `[roles]` with one `group = \"role\"` a line (`\"\"` leaves the group out)"
    )]
    RoleMapping { reason: String },
    /// The kernel's random numbers, for the fingerprint key and generated passwords.
    #[error("cannot make a random secret: {0}")]
    Random(String),
    /// Two inventory hosts that become one spec host.
    #[error(
        "inventory hosts `{first}` and `{second}` would both be host `{name}` of the spec\nhint: rename one of them in the inventory"
    )]
    HostNameClash {
        first: String,
        second: String,
        name: String,
    },
}

/// What stops writing the imported spec and its secrets.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A secret file that exists with other content: a real secret is never overwritten.
    #[error(
        "{path} exists and holds another secret\nhint: move it away, or import into another folder with -o"
    )]
    SecretExists { path: String },
    /// The spec exists: an import never overwrites one.
    #[error("{path} exists\nhint: import into another file with -o, or remove it first")]
    SpecExists { path: String },
}
