use cairn_lockfiles::HostEntry;

/// Where things live on a host: its paths under its `root` prefix (if it has one), and
/// cairn's own state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostPaths {
    root: String,
}

impl HostPaths {
    pub fn of(host: &HostEntry) -> Self {
        Self {
            root: host.root.clone().unwrap_or_default(),
        }
    }

    /// The host path for an absolute path of the lockfile.
    pub fn path(&self, absolute: &str) -> String {
        format!("{}{absolute}", self.root)
    }

    /// The root prefix, empty for the host's own `/`.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The folder holding one entry per applied node.
    pub fn state_directory(&self) -> String {
        self.path("/var/lib/cairn/state")
    }

    /// The file whose `flock` keeps two applies off one host.
    pub fn lock_file(&self) -> String {
        self.path("/var/lib/cairn/lock")
    }
}
