//! An ed25519 key pair made by OpenSSH's `ssh-keygen`: the lab's client key, and each
//! machine's host key, made on this computer before the machine first boots so that its
//! public half is known (and written to known_hosts) before anyone connects.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::lab_error::LabError;

/// A key pair on disk: the private key at `private`, the public one beside it (`.pub`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshKeyPair {
    pub private: PathBuf,
}

impl SshKeyPair {
    /// The pair at `private`, made unless it exists already (a lab brought up again keeps
    /// its keys, so known_hosts and authorized_keys stay true).
    pub fn ensure(private: &Path, comment: &str) -> Result<Self, LabError> {
        let pair = Self {
            private: private.to_path_buf(),
        };
        if private.exists() && pair.public_path().exists() {
            return Ok(pair);
        }
        if let Some(parent) = private.parent() {
            std::fs::create_dir_all(parent).map_err(|error| LabError::Write {
                path: parent.to_path_buf(),
                error,
            })?;
        }
        for stale in [private.to_path_buf(), pair.public_path()] {
            if let Err(error) = std::fs::remove_file(&stale)
                && error.kind() != std::io::ErrorKind::NotFound
            {
                return Err(LabError::Write { path: stale, error });
            }
        }
        let output = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
            .arg(private)
            .stdin(Stdio::null())
            .output()
            .map_err(|error| match error.kind() {
                std::io::ErrorKind::NotFound => LabError::ToolMissing {
                    tool: "ssh-keygen".to_string(),
                    install: "OpenSSH's client (Debian's openssh-client)".to_string(),
                },
                _ => LabError::KeyGeneration {
                    path: private.to_path_buf(),
                    message: error.to_string(),
                },
            })?;
        if !output.status.success() {
            return Err(LabError::KeyGeneration {
                path: private.to_path_buf(),
                message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(pair)
    }

    pub fn public_path(&self) -> PathBuf {
        let mut path = self.private.clone().into_os_string();
        path.push(".pub");
        PathBuf::from(path)
    }

    /// The public key's line, `ssh-ed25519 AAAA... comment`.
    pub fn public_line(&self) -> Result<String, LabError> {
        let path = self.public_path();
        std::fs::read_to_string(&path)
            .map(|text| text.trim().to_string())
            .map_err(|error| LabError::Read { path, error })
    }

    /// The public key without its comment, `ssh-ed25519 AAAA...`: what known_hosts holds.
    pub fn public_key(&self) -> Result<String, LabError> {
        let line = self.public_line()?;
        Ok(line
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" "))
    }

    /// The private key's text.
    pub fn private_text(&self) -> Result<String, LabError> {
        std::fs::read_to_string(&self.private).map_err(|error| LabError::Read {
            path: self.private.clone(),
            error,
        })
    }
}
