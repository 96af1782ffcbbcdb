use cairn_lockfiles::HostEntry;

/// The folder of previous contents, as a path of the lockfile (under the host's root).
pub const PREVIOUS_FOLDER: &str = "/var/lib/cairn/previous";

/// Where things live on a host: its paths under its `root` prefix (if it has one), and
/// cairn's own state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostPaths {
    root: String,
}

impl HostPaths {
    /// The host's paths, its root as the lockfile writes it (a relative root stays
    /// relative: enough to tell a sandbox, not to reach it; see [`HostPaths::resolve`]).
    pub fn of(host: &HostEntry) -> Self {
        Self {
            root: host.root.clone().unwrap_or_default(),
        }
    }

    /// The host's paths with a relative root (a local sandbox beside the lockfile) made
    /// absolute against `lockfile_directory`, for scripts that run in any folder.
    pub fn resolve(host: &HostEntry, lockfile_directory: &std::path::Path) -> Self {
        match &host.root {
            Some(root) if !root.starts_with('/') => {
                let joined = lockfile_directory.join(root);
                let absolute = std::path::absolute(&joined).unwrap_or(joined);
                Self {
                    root: absolute.to_string_lossy().trim_end_matches('/').to_string(),
                }
            }
            _ => Self::of(host),
        }
    }

    /// The paths of a sandbox host whose root is `root`, for tests.
    #[cfg(test)]
    pub fn under_root(root: &std::path::Path) -> Self {
        Self {
            root: root.display().to_string().trim_end_matches('/').to_string(),
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

    /// The folder holding, while a replacement's turn runs, the previous content of each
    /// file written in that turn (`kinds/previous_file.rs`).
    pub fn previous_directory(&self) -> String {
        self.path(PREVIOUS_FOLDER)
    }

    /// The file whose `flock` keeps two applies off one host.
    pub fn lock_file(&self) -> String {
        self.path("/var/lib/cairn/lock")
    }

    /// The file every running action holds a shared `flock` on, so that an apply waits
    /// for the actions of one that was killed before it starts its own.
    pub fn actions_lock_file(&self) -> String {
        self.path("/var/lib/cairn/actions")
    }

    /// The first line of every action script: hold the actions lock, shared, until the
    /// script ends.
    pub fn action_prelude(&self) -> String {
        format!(
            "exec 8>>{} && flock -s 8 || {{ echo 'cannot take the actions lock' >&2; exit 1; }}\n",
            crate::shell::quote(&self.actions_lock_file())
        )
    }
}
