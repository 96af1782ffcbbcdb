//! What a lab made, recorded in its folder (`lab.json`) before anything is made, so that
//! `down` needs nothing else, even after an `up` that stopped half way.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::lab_error::LabError;
use crate::lab_folder::LabFolder;

/// The version of `lab.json` this cairn writes.
const STATE_VERSION: u32 = 1;

/// A lab: its network and machines, as `up` made (or is making) them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    pub version: u32,
    /// The cluster's name, which the network, containers and labels carry.
    pub name: String,
    /// The lab's folder, absolute: the value of every container's `cairn.lab.folder` label.
    pub folder: PathBuf,
    /// The cluster spec the lab was brought up from.
    pub spec: PathBuf,
    pub network: NetworkRecord,
    /// The image the machines were created from.
    pub image: String,
    /// Sorted by name.
    pub machines: Vec<MachineRecord>,
}

/// The lab's Docker network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    pub name: String,
    /// `address/prefix`.
    pub subnet: String,
    /// This computer's address on the network.
    pub gateway: Ipv4Addr,
}

/// One machine: its container and where its sshd answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineRecord {
    pub name: String,
    pub container: String,
    pub address: Ipv4Addr,
    pub port: u16,
}

impl LabState {
    pub fn new(
        name: &str,
        folder: &LabFolder,
        spec: &Path,
        network: NetworkRecord,
        image: &str,
    ) -> Self {
        Self {
            version: STATE_VERSION,
            name: name.to_string(),
            folder: folder.root().to_path_buf(),
            spec: spec.to_path_buf(),
            network,
            image: image.to_string(),
            machines: Vec::new(),
        }
    }

    /// The state in `folder`, `None` where the folder has none.
    pub fn read(folder: &LabFolder) -> Result<Option<Self>, LabError> {
        let path = folder.state_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(LabError::Read { path, error }),
        };
        let state: Self = serde_json::from_str(&text).map_err(|error| LabError::BadState {
            path: path.clone(),
            message: error.to_string(),
        })?;
        if state.version > STATE_VERSION {
            return Err(LabError::BadState {
                path,
                message: format!(
                    "it is version {} of the format, and this cairn reads version {STATE_VERSION} at most",
                    state.version
                ),
            });
        }
        Ok(Some(state))
    }

    /// Writes the state into `folder`: a temporary file, then a rename, so a reader never
    /// sees half of it.
    pub fn write(&self, folder: &LabFolder) -> Result<(), LabError> {
        let path = folder.state_file();
        let temporary = path.with_extension("json.partial");
        let mut text = serde_json::to_string_pretty(self).map_err(|error| LabError::BadState {
            path: path.clone(),
            message: error.to_string(),
        })?;
        text.push('\n');
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|error| LabError::Write { path, error })
    }

    /// The machine named `name`, or an error listing the lab's machines.
    pub fn machine(&self, name: &str) -> Result<&MachineRecord, LabError> {
        self.machines
            .iter()
            .find(|machine| machine.name == name)
            .ok_or_else(|| LabError::UnknownMachine {
                machine: name.to_string(),
                lab: self.name.clone(),
                known: self
                    .machines
                    .iter()
                    .map(|machine| machine.name.clone())
                    .collect(),
            })
    }

    /// The labels of everything the lab makes: its name (to find leftovers of any lab:
    /// `docker ps -a --filter label=cairn.lab`) and its folder (whose lab it is).
    pub fn labels(&self) -> Vec<String> {
        labels_of(&self.name, &self.folder)
    }
}

/// The labels of what lab `name` in `folder` makes.
pub fn labels_of(name: &str, folder: &Path) -> Vec<String> {
    vec![
        format!("cairn.lab={name}"),
        format!("cairn.lab.folder={}", folder.display()),
    ]
}
