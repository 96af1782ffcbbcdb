//! `up`: makes the lab of a spec, or brings an existing one back to it. Machines that run
//! are kept, stopped ones started, missing ones created; then it waits until every
//! machine's sshd answers. What it is about to make is recorded (`lab.json`) before it is
//! made, so `down` can remove it even when `up` stops half way.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::docker_cli::DockerCli;
use crate::lab::{Lab, require_root};
use crate::lab_error::LabError;
use crate::lab_folder::LabFolder;
use crate::lab_network::LabNetwork;
use crate::lab_spec::LabSpec;
use crate::lab_state::{LabState, MachineRecord, NetworkRecord};
use crate::machine_container::{ContainerState, MachineContainer};
use crate::machine_files::MachineFiles;
use crate::machine_image::MachineImage;
use crate::ssh_client_files::SshClientFiles;
use crate::ssh_key_pair::SshKeyPair;
use crate::subnet::Subnet;

/// How to bring a lab up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpOptions {
    /// The lab's folder.
    pub folder: PathBuf,
    /// The lab's network, instead of the one derived from the hosts' addresses.
    pub subnet: Option<Subnet>,
    /// How long the machines may take to boot until their sshd answers.
    pub boot_timeout: Duration,
}

/// What `up` did to a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineChange {
    Created,
    Started,
    /// It ran already.
    Kept,
}

/// What `up` did.
#[derive(Debug, Clone)]
pub struct LabUp {
    pub lab: Lab,
    /// The spec's machines, by name, and what was done to each.
    pub machines: Vec<(String, MachineChange)>,
    /// Machines of the lab the spec no longer has: left as they are (`down` removes them).
    pub not_in_spec: Vec<String>,
    pub network_created: bool,
    /// The machine image, where it had to be made.
    pub image_built_in: Option<Duration>,
}

impl Lab {
    /// Brings the lab of `spec` up in `options.folder`. `progress` hears of the long steps.
    pub fn up(
        spec: &LabSpec,
        options: &UpOptions,
        progress: &dyn Fn(&str),
    ) -> Result<LabUp, LabError> {
        require_root()?;
        let docker = DockerCli;
        docker.check_engine()?;
        let folder = LabFolder::new(&options.folder)?;
        if LabState::read(&folder)?.is_none() && folder.holds_foreign_files()? {
            return Err(LabError::ForeignFolder {
                folder: folder.root().to_path_buf(),
            });
        }
        let created = !folder.root().exists();
        let lock = folder.create_and_lock()?;
        let result = Self::up_locked(spec, options, progress, docker, folder.clone());
        // Refused before anything was recorded: a folder this call made goes again.
        if result.is_err() && created && !folder.state_file().exists() {
            drop(lock);
            let _ = std::fs::remove_dir_all(folder.root());
        }
        result
    }

    /// [`Lab::up`], holding the folder's lock.
    fn up_locked(
        spec: &LabSpec,
        options: &UpOptions,
        progress: &dyn Fn(&str),
        docker: DockerCli,
        folder: LabFolder,
    ) -> Result<LabUp, LabError> {
        let plan = UpPlan::make(spec, options.subnet, &docker, &folder)?;
        plan.state.write(&folder)?;
        write_keys(&plan.state, &folder)?;
        let lab = Lab {
            folder,
            state: plan.state,
            docker,
        };
        let missing = spec
            .machines
            .iter()
            .any(|machine| plan.containers[&machine.name] == ContainerState::Missing);
        let image_built_in = if missing {
            MachineImage::ensure(&lab.docker, progress)?.built_in
        } else {
            None
        };
        if !plan.network_exists {
            plan.network.create(&lab.docker, &lab.state.labels())?;
        }
        let machines = lab.converge_machines(spec, &plan.containers)?;
        let names: Vec<&str> = spec
            .machines
            .iter()
            .map(|machine| machine.name.as_str())
            .collect();
        progress(&format!("waiting for the sshd of {} machines", names.len()));
        lab.wait_for_sshd(&names, options.boot_timeout)?;
        let not_in_spec = lab
            .state
            .machines
            .iter()
            .filter(|record| !names.contains(&record.name.as_str()))
            .map(|record| record.name.clone())
            .collect();
        Ok(LabUp {
            lab,
            machines,
            not_in_spec,
            network_created: !plan.network_exists,
            image_built_in,
        })
    }

    /// Starts the spec's machines that are stopped and makes those that are missing.
    fn converge_machines(
        &self,
        spec: &LabSpec,
        containers: &BTreeMap<String, ContainerState>,
    ) -> Result<Vec<(String, MachineChange)>, LabError> {
        let mut changes = Vec::new();
        for machine in &spec.machines {
            let record = self.state.machine(&machine.name)?;
            let container = MachineContainer {
                machine: record,
                state: &self.state,
            };
            let change = match containers[&machine.name] {
                ContainerState::Running => MachineChange::Kept,
                ContainerState::Stopped => {
                    container.start(&self.docker)?;
                    MachineChange::Started
                }
                ContainerState::Missing => {
                    let files = self.machine_files(record)?.archive()?;
                    container.create(&self.docker, &self.folder, &files)?;
                    container.start(&self.docker)?;
                    MachineChange::Created
                }
            };
            changes.push((machine.name.clone(), change));
        }
        Ok(changes)
    }

    /// The files a new machine gets before its first boot.
    fn machine_files(&self, record: &MachineRecord) -> Result<MachineFiles, LabError> {
        let host_key = SshKeyPair {
            private: self.folder.host_key(&record.name),
        };
        let client_key = SshKeyPair {
            private: self.folder.client_key(),
        };
        Ok(MachineFiles {
            name: record.name.clone(),
            address: record.address,
            port: record.port,
            host_key: host_key.private_text()?,
            host_key_public: host_key.public_line()?,
            authorized_key: client_key.public_line()?,
            machine_id: MachineFiles::random_machine_id()?,
        })
    }
}

/// What `up` is about to do, decided before anything is made.
struct UpPlan {
    network: LabNetwork,
    network_exists: bool,
    /// What the lab is to be: recorded before anything is made.
    state: LabState,
    /// Each machine's container as it is now, by machine name.
    containers: BTreeMap<String, ContainerState>,
}

impl UpPlan {
    /// The plan for `spec` in `folder`, given what the folder records and the engine has.
    fn make(
        spec: &LabSpec,
        subnet: Option<Subnet>,
        docker: &DockerCli,
        folder: &LabFolder,
    ) -> Result<Self, LabError> {
        let previous = LabState::read(folder)?;
        if let Some(previous) = previous.as_ref().filter(|state| state.name != spec.name) {
            return Err(LabError::OtherLab {
                folder: folder.root().to_path_buf(),
                lab: previous.name.clone(),
                wanted: spec.name.clone(),
            });
        }
        let (network, network_exists) =
            choose_network(docker, spec, previous.as_ref(), subnet, folder)?;
        let state = merged_state(spec, previous, &network, folder)?;
        let mut containers = BTreeMap::new();
        for machine in &state.machines {
            let container = MachineContainer {
                machine,
                state: &state,
            };
            containers.insert(machine.name.clone(), container.state(docker)?);
        }
        Ok(Self {
            network,
            network_exists,
            state,
            containers,
        })
    }
}

/// The lab's network: the one that exists (it must be this lab's), else a new one for the
/// spec (the subnet asked for, the one recorded, or one derived from the addresses). Also
/// whether it exists.
fn choose_network(
    docker: &DockerCli,
    spec: &LabSpec,
    previous: Option<&LabState>,
    requested: Option<Subnet>,
    folder: &LabFolder,
) -> Result<(LabNetwork, bool), LabError> {
    let name = LabNetwork::name_of(&spec.name);
    let format = "{{index .Labels \"cairn.lab.folder\"}}\n{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{end}}";
    let Some(inspected) = docker.inspect(&["network", "inspect", "--format", format, &name])?
    else {
        let recorded = previous.and_then(|state| state.network.subnet.parse().ok());
        let taken = LabNetwork::taken_networks(docker)?;
        return Ok((
            LabNetwork::plan(spec, requested.or(recorded), &taken)?,
            false,
        ));
    };
    let mut lines = inspected.lines();
    let owner = lines.next().unwrap_or_default();
    let mut words = lines.next().unwrap_or_default().split_whitespace();
    let subnet = words.next().and_then(|word| word.parse::<Subnet>().ok());
    let gateway = words.next().and_then(|word| word.parse().ok());
    let (Some(subnet), Some(gateway), true) = (
        subnet,
        gateway,
        owner == folder.root().display().to_string(),
    ) else {
        return Err(LabError::NetworkNotTheLabs {
            network: name,
            owner: owner.to_string(),
            folder: folder.root().to_path_buf(),
        });
    };
    if let Some(requested) = requested.filter(|requested| *requested != subnet) {
        return Err(LabError::SubnetChanged {
            network: name,
            subnet,
            requested,
        });
    }
    let network = LabNetwork {
        name,
        subnet,
        gateway,
    };
    network.check_fits(spec)?;
    Ok((network, true))
}

/// The lab's state: the spec's machines (each at the address and port it had, if the lab
/// had it), and the machines the lab had that the spec no longer names.
fn merged_state(
    spec: &LabSpec,
    previous: Option<LabState>,
    network: &LabNetwork,
    folder: &LabFolder,
) -> Result<LabState, LabError> {
    let spec_path = std::path::absolute(&spec.spec_path).unwrap_or_else(|_| spec.spec_path.clone());
    let network_record = NetworkRecord {
        name: network.name.clone(),
        subnet: network.subnet.to_string(),
        gateway: network.gateway,
    };
    let mut state = LabState::new(
        &spec.name,
        folder,
        &spec_path,
        network_record,
        &MachineImage::tag(),
    );
    let mut previous_machines = previous.map(|state| state.machines).unwrap_or_default();
    for machine in &spec.machines {
        if let Some(record) = previous_machines
            .iter()
            .find(|record| record.name == machine.name)
            && (record.address, record.port) != (machine.address, machine.port)
        {
            return Err(LabError::MachineMoved {
                machine: machine.name.clone(),
                recorded: format!("{}:{}", record.address, record.port),
                wanted: format!("{}:{}", machine.address, machine.port),
                folder: folder.root().to_path_buf(),
            });
        }
        previous_machines.retain(|record| record.name != machine.name);
        state.machines.push(MachineRecord {
            name: machine.name.clone(),
            container: MachineContainer::name_of(&spec.name, &machine.name),
            address: machine.address,
            port: machine.port,
        });
    }
    state.machines.extend(previous_machines);
    state
        .machines
        .sort_by(|first, second| first.name.cmp(&second.name));
    Ok(state)
}

/// The client key, each machine's host key (made unless they exist), and the SSH client
/// files that name them.
fn write_keys(state: &LabState, folder: &LabFolder) -> Result<(), LabError> {
    SshKeyPair::ensure(&folder.client_key(), &format!("cairn-lab-{}", state.name))?;
    for machine in &state.machines {
        SshKeyPair::ensure(
            &folder.host_key(&machine.name),
            &format!("root@{}", machine.name),
        )?;
    }
    SshClientFiles::render(state, folder)?.write(folder)
}
