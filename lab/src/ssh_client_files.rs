//! What an SSH client needs to reach the lab's machines, written into the lab's folder:
//! `known_hosts`, every machine's host key at its address and port (written before the
//! machines boot, never learnt on first use), and `ssh_config`, one `Host <name>` block
//! per machine, so `ssh -F DIR/ssh_config master1` logs in as root with the lab's key.

use std::fmt::Write as _;

use crate::lab_error::LabError;
use crate::lab_folder::LabFolder;
use crate::lab_state::LabState;
use crate::ssh_key_pair::SshKeyPair;

/// The client files of a lab, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshClientFiles {
    pub known_hosts: String,
    pub ssh_config: String,
}

impl SshClientFiles {
    /// The files for `state`'s machines, whose host keys lie in `folder`.
    pub fn render(state: &LabState, folder: &LabFolder) -> Result<Self, LabError> {
        let mut known_hosts = format!(
            "# Written by `cairn lab up`: the host keys of lab {}'s machines.\n",
            state.name
        );
        let mut ssh_config = format!(
            "# Written by `cairn lab up`: lab {}'s machines (`ssh -F {} NAME`).\n",
            state.name,
            quoted(&folder.ssh_config().display().to_string()),
        );
        for machine in &state.machines {
            let host_key = SshKeyPair {
                private: folder.host_key(&machine.name),
            };
            // As OpenSSH names a host: the address alone on port 22, `[address]:port` else.
            let host = if machine.port == 22 {
                machine.address.to_string()
            } else {
                format!("[{}]:{}", machine.address, machine.port)
            };
            let _ = writeln!(known_hosts, "{host} {}", host_key.public_key()?);
            let _ = write!(
                ssh_config,
                "\nHost {name}\n    HostName {address}\n    Port {port}\n    User root\n    \
                 IdentityFile {identity}\n    IdentitiesOnly yes\n    UserKnownHostsFile {known_hosts}\n    \
                 StrictHostKeyChecking yes\n",
                name = machine.name,
                address = machine.address,
                port = machine.port,
                identity = quoted(&folder.client_key().display().to_string()),
                known_hosts = quoted(&folder.known_hosts().display().to_string()),
            );
        }
        Ok(Self {
            known_hosts,
            ssh_config,
        })
    }

    /// Writes both into `folder`.
    pub fn write(&self, folder: &LabFolder) -> Result<(), LabError> {
        for (path, text) in [
            (folder.known_hosts(), &self.known_hosts),
            (folder.ssh_config(), &self.ssh_config),
        ] {
            std::fs::write(&path, text).map_err(|error| LabError::Write { path, error })?;
        }
        Ok(())
    }
}

/// A path as ssh_config takes it: in double quotes where it holds a space.
fn quoted(path: &str) -> String {
    if path.contains(char::is_whitespace) {
        format!("\"{path}\"")
    } else {
        path.to_string()
    }
}
