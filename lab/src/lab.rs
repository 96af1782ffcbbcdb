//! A lab that exists: opened from its folder's state, it tells how its machines are
//! (`status`) and stops and starts one (to try failures by hand). Bringing a lab up and
//! down is in `lab_up.rs` and `lab_down.rs`.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::docker_cli::DockerCli;
use crate::lab_error::{LabError, SilentMachine};
use crate::lab_folder::LabFolder;
use crate::lab_state::{LabState, MachineRecord};
use crate::machine_container::{ContainerState, MachineContainer};
use crate::machine_status::MachineStatus;
use crate::sshd_probe::SshdProbe;

/// How often a booting machine's sshd is asked again.
const SSHD_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// A lab, as its folder records it.
#[derive(Debug, Clone)]
pub struct Lab {
    pub folder: LabFolder,
    pub state: LabState,
    pub(crate) docker: DockerCli,
}

impl Lab {
    /// The lab in `folder`; an error where there is none.
    pub fn open(folder: &Path) -> Result<Self, LabError> {
        let folder = LabFolder::new(folder)?;
        let state = LabState::read(&folder)?.ok_or_else(|| LabError::NoLab {
            folder: folder.root().to_path_buf(),
        })?;
        Ok(Self {
            folder,
            state,
            docker: DockerCli,
        })
    }

    /// Each machine: its container's state, and whether its sshd answers.
    pub fn status(&self) -> Result<Vec<MachineStatus>, LabError> {
        self.docker.check_engine()?;
        self.state
            .machines
            .iter()
            .map(|machine| {
                let container = MachineContainer {
                    machine,
                    state: &self.state,
                };
                let state = container.state(&self.docker)?;
                let probe = SshdProbe {
                    address: machine.address,
                    port: machine.port,
                };
                Ok(MachineStatus {
                    name: machine.name.clone(),
                    container: machine.container.clone(),
                    address: machine.address,
                    port: machine.port,
                    state,
                    sshd_answers: state == ContainerState::Running && probe.answers(),
                })
            })
            .collect()
    }

    /// Halts machine `name` (systemd shuts it down; its container stops and keeps its
    /// files): a machine gone, as a host that fails.
    pub fn stop(&self, name: &str) -> Result<(), LabError> {
        let (_lock, container, state) = self.locked_machine(name)?;
        match state {
            ContainerState::Running => container.stop(&self.docker),
            ContainerState::Stopped => Ok(()),
            ContainerState::Missing => Err(self.missing(name)),
        }
    }

    /// Starts machine `name` again and waits, at most `boot_timeout`, for its sshd.
    pub fn start(&self, name: &str, boot_timeout: Duration) -> Result<(), LabError> {
        let (_lock, container, state) = self.locked_machine(name)?;
        match state {
            ContainerState::Running => {}
            ContainerState::Stopped => container.start(&self.docker)?,
            ContainerState::Missing => return Err(self.missing(name)),
        }
        self.wait_for_sshd(&[name], boot_timeout)
    }

    /// Machine `name`'s container and the state it is in, as root and under the lab's
    /// lock (held while the returned `File` lives): stopping and starting a machine both
    /// begin here, so that neither races another `cairn lab` command on the same lab.
    fn locked_machine(
        &self,
        name: &str,
    ) -> Result<(File, MachineContainer<'_>, ContainerState), LabError> {
        require_root()?;
        let machine = self.state.machine(name)?;
        let lock = self.folder.lock()?;
        let container = MachineContainer {
            machine,
            state: &self.state,
        };
        let state = container.state(&self.docker)?;
        Ok((lock, container, state))
    }

    /// Waits until every machine of `names` greets over SSH, at most `timeout`; else an
    /// error naming each silent machine, with its container's and journal's last lines.
    pub(crate) fn wait_for_sshd(&self, names: &[&str], timeout: Duration) -> Result<(), LabError> {
        let started = Instant::now();
        let mut waiting: Vec<&MachineRecord> = Vec::new();
        for name in names {
            waiting.push(self.state.machine(name)?);
        }
        loop {
            waiting.retain(|machine| {
                let probe = SshdProbe {
                    address: machine.address,
                    port: machine.port,
                };
                !probe.answers()
            });
            if waiting.is_empty() {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                break;
            }
            std::thread::sleep(SSHD_POLL_INTERVAL);
        }
        let silent = waiting
            .into_iter()
            .map(|machine| SilentMachine {
                name: machine.name.clone(),
                container: machine.container.clone(),
                address: machine.address,
                port: machine.port,
                diagnostics: MachineContainer {
                    machine,
                    state: &self.state,
                }
                .diagnostics(&self.docker),
            })
            .collect();
        Err(LabError::SshdSilent {
            lab: self.state.name.clone(),
            seconds: timeout.as_secs(),
            silent,
        })
    }

    fn missing(&self, name: &str) -> LabError {
        LabError::MachineGone {
            machine: name.to_string(),
            container: MachineContainer::name_of(&self.state.name, name),
            spec: self.state.spec.clone(),
            folder: self.folder.root().to_path_buf(),
        }
    }
}

/// The lab's commands change containers, networks and root's files.
pub(crate) fn require_root() -> Result<(), LabError> {
    let owner = std::fs::metadata("/proc/self")
        .map(|metadata| metadata.uid())
        .map_err(|error| LabError::Read {
            path: "/proc/self".into(),
            error,
        })?;
    if owner == 0 {
        Ok(())
    } else {
        Err(LabError::NotRoot)
    }
}
