//! Why a lab command failed: each error names the place (the spec, the machine, the
//! container, the file) and, where the fix is known, says it on a `hint:` line.

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::subnet::Subnet;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The lab makes containers, networks and root-owned folders (the machines' Docker
    /// data): it needs root.
    #[error(
        "the lab needs root: it runs debootstrap, makes containers and networks, and removes the machines' Docker data, which is root's\nhint: run it as root (sudo)"
    )]
    NotRoot,
    /// A program the lab drives is not installed.
    #[error("{tool} is missing: the lab needs it\nhint: install {install}")]
    ToolMissing { tool: String, install: String },
    /// The Docker engine does not answer.
    #[error(
        "this computer's Docker engine does not answer: {message}\nhint: start it (`systemctl start docker`) and check that `docker version` shows a server"
    )]
    EngineUnreachable { message: String },
    /// A docker command failed.
    #[error("`{command}` failed: {message}")]
    Docker { command: String, message: String },
    /// Hosts of the spec that cannot be lab machines, every one.
    #[error("{} cannot be brought up as a lab:\n  {}", spec.display(), problems.join("\n  "))]
    HostsRefused {
        spec: PathBuf,
        problems: Vec<String>,
    },
    /// The hosts' addresses share too few leading bits for one lab network.
    #[error(
        "the addresses of {}'s hosts share no network narrower than {covering}, which is too wide for a lab's\nhint: give the hosts addresses within one /16 (a lab's network is a /24 unless they need more), or name the network with --subnet",
        spec.display()
    )]
    AddressesApart { spec: PathBuf, covering: Subnet },
    /// The lab's network would overlap another network of this computer.
    #[error(
        "the lab's network {subnet} overlaps {owner} ({taken}): its machines would hide addresses this computer reaches another way\nhint: give the hosts addresses of a network this computer does not use (or name one with --subnet); `docker network ls` and `ip route` list what is taken"
    )]
    SubnetTaken {
        subnet: Subnet,
        owner: String,
        taken: Subnet,
    },
    /// Every address of the network is a host's: none is left for this computer.
    #[error(
        "every address of {subnet} is a host's, and the lab needs one for this computer (the network's gateway)\nhint: name a wider network with --subnet"
    )]
    SubnetFull { subnet: Subnet },
    /// Hosts whose addresses the lab's network cannot give them.
    #[error(
        "{} has hosts the lab's network {network} ({subnet}) cannot hold:\n  {}\nhint: change the hosts' addresses, or bring the lab down and up again for another network",
        spec.display(),
        problems.join("\n  ")
    )]
    AddressesDoNotFit {
        spec: PathBuf,
        network: String,
        subnet: Subnet,
        problems: Vec<String>,
    },
    /// `--subnet` names another network than the one the lab has.
    #[error(
        "the lab's network {network} is {subnet}, not {requested}\nhint: leave --subnet out to keep the lab as it is, or bring the lab down (`cairn lab down`) and up again"
    )]
    SubnetChanged {
        network: String,
        subnet: Subnet,
        requested: Subnet,
    },
    /// A machine of the lab is at another address or port than the spec now gives.
    #[error(
        "machine {machine} is at {recorded} in the lab, and the spec now puts it at {wanted}\nhint: bring the lab down (`cairn lab down --dir {}`) and up again, for fresh machines at the spec's addresses",
        folder.display()
    )]
    MachineMoved {
        machine: String,
        recorded: String,
        wanted: String,
        folder: PathBuf,
    },
    /// The folder holds a lab of another cluster.
    #[error(
        "{} holds the lab of cluster {lab}, not {wanted}\nhint: give this cluster's lab another folder (--dir), or bring that lab down first",
        folder.display()
    )]
    OtherLab {
        folder: PathBuf,
        lab: String,
        wanted: String,
    },
    /// The lab's Docker network exists, made for another folder (or not by a lab).
    #[error(
        "Docker network {network} exists and is not this lab's (its folder label says `{owner}`, this lab is {})\nhint: bring that lab down (`cairn lab down --dir {owner}`), or remove the network if no lab uses it",
        folder.display()
    )]
    NetworkNotTheLabs {
        network: String,
        owner: String,
        folder: PathBuf,
    },
    /// A container has a machine's name and is not the lab's: the lab never touches it.
    #[error(
        "a container named {container} exists and is not a machine of the lab in {}: the lab leaves it alone\nhint: rename or remove that container (`docker rm -f {container}`) if nothing needs it",
        folder.display()
    )]
    ContainerNotTheLabs { container: String, folder: PathBuf },
    /// The folder holds files the lab did not make.
    #[error(
        "{} holds files a lab does not make, and no lab (lab.json): the lab neither uses nor removes it\nhint: give a new or empty folder with --dir",
        folder.display()
    )]
    ForeignFolder { folder: PathBuf },
    /// No lab in the folder.
    #[error(
        "there is no lab in {} (no lab.json)\nhint: bring one up with `cairn lab up SPEC`, or name its folder with --dir (`cairn lab up` printed it)",
        folder.display()
    )]
    NoLab { folder: PathBuf },
    /// The lab has no machine of that name.
    #[error("lab {lab} has no machine {machine}; it has {}", known.join(", "))]
    UnknownMachine {
        machine: String,
        lab: String,
        known: Vec<String>,
    },
    /// The machine's container was removed behind the lab's back.
    #[error(
        "machine {machine}'s container {container} is gone\nhint: `cairn lab up {} --dir {}` makes the machine again",
        spec.display(),
        folder.display()
    )]
    MachineGone {
        machine: String,
        container: String,
        spec: PathBuf,
        folder: PathBuf,
    },
    /// Machines whose sshd did not answer in time.
    #[error(
        "{} of lab {lab} did not answer SSH within {seconds} s:\n{}",
        silent.iter().map(|machine| machine.name.as_str()).collect::<Vec<_>>().join(", "),
        silent.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
    )]
    SshdSilent {
        lab: String,
        seconds: u64,
        silent: Vec<SilentMachine>,
    },
    /// The machine image could not be made.
    #[error("making the machine image failed at {step}:\n{message}")]
    ImageBuild { step: String, message: String },
    /// ssh-keygen failed.
    #[error("ssh-keygen could not make {}: {message}", path.display())]
    KeyGeneration { path: PathBuf, message: String },
    /// The archive of a machine's files could not be made.
    #[error("the files of machine {machine} could not be archived: {message}")]
    Archive { machine: String, message: String },
    /// The lab's state file cannot be read as one.
    #[error(
        "{} is not a lab's state: {message}\nhint: it is written by `cairn lab up`; if the lab is gone, remove the folder"
    , path.display())]
    BadState { path: PathBuf, message: String },
    #[error("cannot read {}: {error}", path.display())]
    Read { path: PathBuf, error: io::Error },
    #[error("cannot write {}: {error}", path.display())]
    Write { path: PathBuf, error: io::Error },
}

/// A machine whose sshd did not answer, and what its container and journal say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "machine {name} ({address}:{port}):\n{diagnostics}hint: `docker logs {container}`, and `docker exec {container} journalctl -b` where it runs"
)]
pub struct SilentMachine {
    pub name: String,
    pub container: String,
    pub address: Ipv4Addr,
    pub port: u16,
    pub diagnostics: String,
}
