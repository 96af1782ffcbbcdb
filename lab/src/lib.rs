//! The lab: fresh Debian machines on one computer, to try the whole platform (and to test
//! it) before touching real hosts. One machine per host of a cluster spec, at the host's own
//! address, so a spec written for the lab is applied with plain `cairn apply`.
//!
//! Design notes:
//! - A machine is a container of this computer's Docker engine, driven through the `docker`
//!   command line ([`DockerCli`]): systemd as PID 1, its own sshd on the host's port, root
//!   login by key, and room for a Docker engine of its own (Docker in Docker), which cairn
//!   installs later like any package. How and why: `machine_container.rs`.
//! - Machines start from one image, a fresh Debian server and nothing of the platform
//!   ([`MachineImage`]: its recipe is what a fresh machine is assumed to have), made here by
//!   debootstrap, since nothing can be pulled. The tests' systemd hosts use it too.
//! - One internal Docker network per lab ([`LabNetwork`]): no route outward; this computer
//!   at the gateway address, through which cairn reaches the machines.
//! - Keys are made before the machines boot (`ssh_key_pair.rs`, `machine_files.rs`), so
//!   `known_hosts` is true from the start and nothing is trusted on first use.
//! - What a lab makes is recorded in its folder ([`LabState`], `lab.json`) before it is
//!   made, and carries the labels `cairn.lab=<name>` and `cairn.lab.folder=<folder>`: `down`
//!   removes exactly that, after a partial `up` too, and never what it did not make.
//! - The lab knows nothing of specs or modules: the CLI gives it the hosts ([`LabSpec`]).

mod computer_route;
mod debian_mirror;
mod docker_cli;
mod lab;
mod lab_down;
mod lab_error;
mod lab_folder;
mod lab_network;
mod lab_spec;
mod lab_state;
mod lab_up;
mod machine_container;
mod machine_files;
mod machine_image;
mod machine_status;
mod ssh_client_files;
mod ssh_key_pair;
mod sshd_probe;
mod subnet;

pub use docker_cli::DockerCli;
pub use lab::Lab;
pub use lab_down::LabDown;
pub use lab_error::{LabError, SilentMachine};
pub use lab_folder::LabFolder;
pub use lab_network::LabNetwork;
pub use lab_spec::{HostEntry, LabSpec, MachineSpec};
pub use lab_state::{LabState, MachineRecord, NetworkRecord};
pub use lab_up::{LabUp, MachineChange, UpOptions};
pub use machine_container::ContainerState;
pub use machine_image::{INCLUDED_PACKAGES, MachineImage, SUITE, VARIANT};
pub use machine_status::MachineStatus;
pub use subnet::Subnet;
