//! The lab's folder on this computer, and what lies where in it:
//!
//! ```text
//! lab.json                            what the lab made (LabState): all `down` reads
//! lock                                held while a lab command changes the lab
//! id_ed25519, id_ed25519.pub          the client key, root's on every machine
//! known_hosts                         every machine's host key, at its address and port
//! ssh_config                          one `Host <name>` block per machine
//! machines/<name>/ssh_host_ed25519_key[.pub]   the machine's host key, made before its first boot
//! machines/<name>/docker/             the machine's /var/lib/docker (its own engine's data)
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::lab_error::LabError;

/// The names a lab folder holds at its top, and nothing else.
const MADE_NAMES: [&str; 7] = [
    "lab.json",
    "lock",
    "id_ed25519",
    "id_ed25519.pub",
    "known_hosts",
    "ssh_config",
    "machines",
];

/// A lab's folder (an absolute path once the folder exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabFolder {
    root: PathBuf,
}

impl LabFolder {
    /// The folder at `path`, made absolute against the current folder.
    pub fn new(path: &Path) -> Result<Self, LabError> {
        let root = std::path::absolute(path).map_err(|error| LabError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn state_file(&self) -> PathBuf {
        self.root.join("lab.json")
    }

    pub fn client_key(&self) -> PathBuf {
        self.root.join("id_ed25519")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.root.join("known_hosts")
    }

    pub fn ssh_config(&self) -> PathBuf {
        self.root.join("ssh_config")
    }

    pub fn machine(&self, name: &str) -> PathBuf {
        self.root.join("machines").join(name)
    }

    pub fn host_key(&self, name: &str) -> PathBuf {
        self.machine(name).join("ssh_host_ed25519_key")
    }

    /// What the machine mounts as `/var/lib/docker`: on this computer's disk, so the
    /// machine's own Docker engine stores images with overlay2 (which cannot stack on the
    /// overlay filesystem of the machine's own root).
    pub fn docker_data(&self, name: &str) -> PathBuf {
        self.machine(name).join("docker")
    }

    /// Whether the folder holds anything other than what a lab makes: such a folder is
    /// not a lab's, and a lab command neither uses nor removes it.
    pub fn holds_foreign_files(&self) -> Result<bool, LabError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(error) => {
                return Err(LabError::Read {
                    path: self.root.clone(),
                    error,
                });
            }
        };
        for entry in entries {
            let entry = entry.map_err(|error| LabError::Read {
                path: self.root.clone(),
                error,
            })?;
            let name = entry.file_name();
            let made = MADE_NAMES.iter().any(|made| name == *made)
                || name.to_string_lossy().starts_with("lab.json.");
            if !made {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Makes the folder (and its parents) and holds its lock until the returned file is
    /// dropped: two lab commands do not change one lab at once.
    pub fn create_and_lock(&self) -> Result<File, LabError> {
        std::fs::create_dir_all(&self.root).map_err(|error| LabError::Write {
            path: self.root.clone(),
            error,
        })?;
        self.lock()
    }

    /// Holds the lock of an existing folder until the returned file is dropped.
    pub fn lock(&self) -> Result<File, LabError> {
        let path = self.root.join("lock");
        let file = File::create(&path).map_err(|error| LabError::Write {
            path: path.clone(),
            error,
        })?;
        file.lock()
            .map_err(|error| LabError::Write { path, error })?;
        Ok(file)
    }
}
