//! `cairn lab`: each subcommand is one call into the `cairn-lab` crate, and its report.
//! The spec's hosts are read with the compiler's own spec parser, so the lab sees the hosts
//! `cairn compile` sees (the same defaults, the same errors at file:line:column).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cairn_compiler::spec::parse_spec;
use cairn_lab::{
    ContainerState, HostEntry, Lab, LabError, LabSpec, LabUp, MachineChange, UpOptions,
};
use cairn_lockfiles::TransportKind;

use crate::cli::LabCommand;
use crate::failure::Failure;
use crate::output::{counted, print};

pub fn run(command: LabCommand) -> Result<(), Failure> {
    match command {
        LabCommand::Up {
            spec,
            dir,
            subnet,
            boot_timeout,
        } => {
            let options = UpOptions {
                folder: dir.unwrap_or_else(|| default_folder(&spec)),
                subnet,
                boot_timeout: Duration::from_secs(boot_timeout),
            };
            let lab_spec = lab_spec(&spec)?;
            let up = Lab::up(&lab_spec, &options, &|note| eprintln!("{note}"))?;
            print(&up_report(&up, &spec))
        }
        LabCommand::Down { folder } => {
            let down = Lab::down(&folder.dir)?;
            print(&if down.found {
                format!(
                    "removed {}, {} and {}\n",
                    counted(down.containers.len(), "container"),
                    counted(down.networks.len(), "network"),
                    down.folder.display()
                )
            } else {
                format!("no lab in {}: nothing to remove\n", down.folder.display())
            })
        }
        LabCommand::Status { folder } => status(&folder.dir),
        LabCommand::Stop { machine, folder } => {
            Lab::open(&folder.dir)?.stop(&machine)?;
            print(&format!("stopped machine {machine}\n"))
        }
        LabCommand::Start {
            machine,
            folder,
            boot_timeout,
        } => {
            Lab::open(&folder.dir)?.start(&machine, Duration::from_secs(boot_timeout))?;
            print(&format!("started machine {machine}: its sshd answers\n"))
        }
    }
}

/// `lab/` beside the spec.
fn default_folder(spec: &Path) -> PathBuf {
    match spec.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join("lab"),
        _ => PathBuf::from("lab"),
    }
}

/// The lab's machines: the spec's hosts, as the compiler reads them.
fn lab_spec(spec_path: &Path) -> Result<LabSpec, Failure> {
    let source = cairn_compiler::spec_reading::read_spec(spec_path)
        .map_err(cairn_compiler::CompileError::from)?;
    let directory = match spec_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let spec = parse_spec(source, &directory)?;
    let hosts = spec
        .hosts
        .values()
        .map(|host| HostEntry {
            name: host.name.clone(),
            address: host.address.clone(),
            // The machine's sshd listens on the spec's port, root logs in: what cairn
            // reaches a host by when neither the spec nor an ssh config says otherwise.
            port: host.port.unwrap_or(22),
            user: host.user.clone().unwrap_or_else(|| "root".to_string()),
            local: host.transport == TransportKind::Local,
            root: host.root.clone(),
        })
        .collect();
    Ok(LabSpec::new(&spec.name, spec_path, hosts)?)
}

/// What `up` made, and the commands that use the lab.
fn up_report(up: &LabUp, spec: &Path) -> String {
    let state = &up.lab.state;
    let folder = &up.lab.folder;
    let mut text = format!(
        "lab {}: {} on Docker network {} ({}; this computer is {}), in {}\n",
        state.name,
        counted(up.machines.len(), "machine"),
        state.network.name,
        state.network.subnet,
        state.network.gateway,
        folder.root().display()
    );
    for (name, change) in &up.machines {
        let machine = state.machine(name).expect("up's machines are the lab's");
        let change = match change {
            MachineChange::Created => "created",
            MachineChange::Started => "started",
            MachineChange::Kept => "running already",
        };
        let address = format!("{}:{}", machine.address, machine.port);
        let _ = writeln!(text, "  {name:<16} {address:<22} {change}");
    }
    if let Some(took) = up.image_built_in {
        let _ = writeln!(text, "made the machine image in {} s", took.as_secs());
    }
    if !up.not_in_spec.is_empty() {
        let _ = writeln!(
            text,
            "not in the spec any more, left as they are (down removes them): {}",
            up.not_in_spec.join(", ")
        );
    }
    let _ = write!(
        text,
        "\nLog into a machine:\n  ssh -F {ssh_config} {first}\nApply the spec to the machines:\n  \
         cairn apply {spec} --identity {identity} --known-hosts {known_hosts}\n\
         Bring the lab down:\n  cairn lab down --dir {folder}\n",
        ssh_config = shell_word(&folder.ssh_config()),
        first = state
            .machines
            .first()
            .map_or("MACHINE", |machine| machine.name.as_str()),
        spec = shell_word(spec),
        identity = shell_word(&folder.client_key()),
        known_hosts = shell_word(&folder.known_hosts()),
        folder = shell_word(folder.root()),
    );
    text
}

/// `cairn lab status`: one line per machine.
fn status(folder: &Path) -> Result<(), Failure> {
    let lab = Lab::open(folder)?;
    let machines = lab.status()?;
    let state = &lab.state;
    let mut text = format!(
        "lab {} in {}: Docker network {} ({}; this computer is {})\n",
        state.name,
        lab.folder.root().display(),
        state.network.name,
        state.network.subnet,
        state.network.gateway
    );
    let _ = writeln!(
        text,
        "{:<16} {:<22} {:<10} sshd",
        "machine", "address", "container"
    );
    for machine in machines {
        let container = match machine.state {
            ContainerState::Running => "running",
            ContainerState::Stopped => "stopped",
            ContainerState::Missing => "missing",
        };
        let sshd = if machine.sshd_answers {
            "answers"
        } else {
            "silent"
        };
        let address = format!("{}:{}", machine.address, machine.port);
        let _ = writeln!(
            text,
            "{:<16} {address:<22} {container:<10} {sshd}",
            machine.name
        );
    }
    print(&text)
}

/// A path as one shell word: quoted where the shell would split or expand it.
fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = text
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || "/._-+=:,@".contains(character));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

impl From<LabError> for Failure {
    fn from(error: LabError) -> Self {
        match error {
            LabError::NotRoot
            | LabError::HostsRefused { .. }
            | LabError::AddressesApart { .. }
            | LabError::SubnetTaken { .. }
            | LabError::SubnetFull { .. }
            | LabError::AddressesDoNotFit { .. }
            | LabError::SubnetChanged { .. }
            | LabError::MachineMoved { .. }
            | LabError::OtherLab { .. }
            | LabError::ForeignFolder { .. }
            | LabError::NoLab { .. }
            | LabError::UnknownMachine { .. }
            | LabError::BadState { .. } => Failure::Input(error.to_string()),
            _ => Failure::Failed(error.to_string()),
        }
    }
}
