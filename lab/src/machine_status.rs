//! How a machine of a lab is, as `cairn lab status` reports it.

use std::net::Ipv4Addr;

use crate::machine_container::ContainerState;

/// One machine: where it is, whether its container runs, whether its sshd answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineStatus {
    pub name: String,
    pub container: String,
    pub address: Ipv4Addr,
    pub port: u16,
    pub state: ContainerState,
    pub sshd_answers: bool,
}
