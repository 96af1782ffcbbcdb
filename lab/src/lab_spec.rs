//! What a lab is made of: one machine per host of a cluster spec, checked once. The lab
//! reads no spec itself (the CLI hands it the hosts), so it knows nothing of modules.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::lab_error::LabError;

/// A host as the cluster spec gives it, before the lab checks that it can be a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// The host's name: a DNS label, the spec's `[hosts.<name>]`.
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    /// `transport = "local"`: reached on the machine running cairn.
    pub local: bool,
    /// `root`: a sandbox folder on the machine running cairn.
    pub root: Option<String>,
}

/// One machine of the lab: a host of the spec, at the host's own address and SSH port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineSpec {
    pub name: String,
    pub address: Ipv4Addr,
    pub port: u16,
}

/// The machines of a lab, checked: IPv4 addresses, each once, hosts reached over SSH as
/// root. Sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabSpec {
    /// The lab's name: the cluster's (a DNS label), which names its network and containers.
    pub name: String,
    /// The cluster spec the machines come from, as given: for messages.
    pub spec_path: PathBuf,
    pub machines: Vec<MachineSpec>,
}

impl LabSpec {
    /// The lab of cluster `name`, whose spec at `spec_path` has `hosts`. Every host that
    /// cannot be a lab machine is reported at once.
    pub fn new(name: &str, spec_path: &Path, hosts: Vec<HostEntry>) -> Result<Self, LabError> {
        let mut problems = Vec::new();
        if hosts.is_empty() {
            problems
                .push("the spec has no hosts: add a [hosts.<name>] table per machine".to_string());
        }
        let mut machines = Vec::new();
        let mut by_address: BTreeMap<Ipv4Addr, Vec<&str>> = BTreeMap::new();
        for host in &hosts {
            match Self::machine_of(host) {
                Ok(machine) => {
                    by_address
                        .entry(machine.address)
                        .or_default()
                        .push(&host.name);
                    machines.push(machine);
                }
                Err(host_problems) => problems.extend(host_problems),
            }
        }
        for (address, names) in by_address.iter().filter(|(_, names)| names.len() > 1) {
            problems.push(format!(
                "hosts {} share the address {address}: each machine of the lab has its own",
                names.join(" and ")
            ));
        }
        if !problems.is_empty() {
            return Err(LabError::HostsRefused {
                spec: spec_path.to_path_buf(),
                problems,
            });
        }
        machines.sort_by(|first, second| first.name.cmp(&second.name));
        Ok(Self {
            name: name.to_string(),
            spec_path: spec_path.to_path_buf(),
            machines,
        })
    }

    /// The machine of `host`, or every reason it cannot be one.
    fn machine_of(host: &HostEntry) -> Result<MachineSpec, Vec<String>> {
        let name = &host.name;
        let mut problems = Vec::new();
        if host.local {
            problems.push(format!(
                "host {name} is reached locally (`transport = \"local\"`), but a lab machine is reached over SSH: remove its `transport`"
            ));
        }
        if let Some(root) = &host.root {
            problems.push(format!(
                "host {name} is a sandbox (`root = \"{root}\"`), but a lab machine is a whole machine: remove its `root`"
            ));
        }
        if host.user != "root" {
            problems.push(format!(
                "host {name} logs in as `{}`, but cairn works on its hosts as root and the lab's machines take root's key alone: remove its `user`",
                host.user
            ));
        }
        let address = host.address.parse::<Ipv4Addr>();
        if address.is_err() {
            problems.push(format!(
                "host {name}'s address `{}` is not an IPv4 address, which a lab machine is given on the lab's network: write the address itself",
                host.address
            ));
        }
        match address {
            Ok(address) if problems.is_empty() => Ok(MachineSpec {
                name: name.clone(),
                address,
                port: host.port,
            }),
            _ => Err(problems),
        }
    }

    /// The machines' addresses.
    pub fn addresses(&self) -> Vec<Ipv4Addr> {
        self.machines
            .iter()
            .map(|machine| machine.address)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{HostEntry, LabSpec};

    fn host(name: &str, address: &str) -> HostEntry {
        HostEntry {
            name: name.to_string(),
            address: address.to_string(),
            port: 22,
            user: "root".to_string(),
            local: false,
            root: None,
        }
    }

    #[test]
    fn hosts_become_machines_sorted_by_name() {
        let spec = LabSpec::new(
            "lab",
            Path::new("cluster.toml"),
            vec![host("b", "10.1.0.12"), host("a", "10.1.0.11")],
        )
        .unwrap();
        let names: Vec<&str> = spec
            .machines
            .iter()
            .map(|machine| machine.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn every_host_that_cannot_be_a_machine_is_reported_at_once() {
        let mut local = host("local", "127.0.0.1");
        local.local = true;
        let mut sandbox = host("sandbox", "10.1.0.2");
        sandbox.root = Some("hosts/sandbox".to_string());
        let mut admin = host("admin", "10.1.0.3");
        admin.user = "admin".to_string();
        let named = host("named", "node.example");
        let twins = [host("twin1", "10.1.0.9"), host("twin2", "10.1.0.9")];
        let mut hosts = vec![local, sandbox, admin, named];
        hosts.extend(twins);
        let error = LabSpec::new("lab", Path::new("cluster.toml"), hosts)
            .unwrap_err()
            .to_string();
        for expected in [
            "host local is reached locally",
            "host sandbox is a sandbox",
            "host admin logs in as `admin`",
            "host named's address `node.example` is not an IPv4 address",
            "hosts twin1 and twin2 share the address 10.1.0.9",
        ] {
            assert!(
                error.contains(expected),
                "{expected:?} missing from:\n{error}"
            );
        }
    }
}
