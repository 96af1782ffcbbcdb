//! The lab's network: one Docker bridge network, `--internal` (no route outward, so the
//! machines reach nothing but each other and this computer's address on the bridge), whose
//! subnet holds every host's address as the spec gives it.
//!
//! The subnet is the narrowest network holding every address, a /24 at least (room for a
//! cluster's virtual addresses), unless the operator names one. Its gateway, this
//! computer's address on the bridge and the only way in, is the first address no host has.
//! A subnet that overlaps one of Docker's other networks or a route of this computer is
//! refused: the machines would shadow addresses this computer reaches another way.

use std::net::Ipv4Addr;

use crate::computer_route::ComputerRoute;
use crate::docker_cli::DockerCli;
use crate::lab_error::LabError;
use crate::lab_spec::LabSpec;
use crate::subnet::{Subnet, WIDEST_DERIVED_PREFIX};

/// A lab's network as it is, or is to be, created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabNetwork {
    pub name: String,
    pub subnet: Subnet,
    /// This computer's address on the network (the bridge's), through which cairn reaches
    /// the machines.
    pub gateway: Ipv4Addr,
}

/// A network this computer already has, which a lab's must not overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenNetwork {
    /// What it is, for the error: `Docker network bridge`, `the route of eth0`.
    pub owner: String,
    pub subnet: Subnet,
}

impl LabNetwork {
    /// The Docker network's name for lab `lab_name`.
    pub fn name_of(lab_name: &str) -> String {
        format!("cairn-lab-{lab_name}")
    }

    /// The network for `spec`: `requested`, else the narrowest holding every address (a
    /// /24 at least); none of `taken` may overlap it.
    pub fn plan(
        spec: &LabSpec,
        requested: Option<Subnet>,
        taken: &[TakenNetwork],
    ) -> Result<Self, LabError> {
        let addresses = spec.addresses();
        let subnet = match requested {
            Some(subnet) => subnet,
            None => {
                let covering = Subnet::covering(&addresses).ok_or(LabError::HostsRefused {
                    spec: spec.spec_path.clone(),
                    problems: vec!["the spec has no hosts".to_string()],
                })?;
                if covering.prefix() < WIDEST_DERIVED_PREFIX {
                    return Err(LabError::AddressesApart {
                        spec: spec.spec_path.clone(),
                        covering,
                    });
                }
                covering
            }
        };
        if let Some(other) = taken.iter().find(|other| other.subnet.overlaps(&subnet)) {
            return Err(LabError::SubnetTaken {
                subnet,
                owner: other.owner.clone(),
                taken: other.subnet,
            });
        }
        let network = Self {
            name: Self::name_of(&spec.name),
            subnet,
            gateway: subnet
                .first_free(&addresses)
                .ok_or(LabError::SubnetFull { subnet })?,
        };
        network.check_fits(spec)?;
        Ok(network)
    }

    /// Checks that every machine of `spec` can have its address on this network: inside
    /// it, neither its network nor broadcast address, not the gateway.
    pub fn check_fits(&self, spec: &LabSpec) -> Result<(), LabError> {
        let problems: Vec<String> = spec
            .machines
            .iter()
            .filter_map(|machine| {
                let address = machine.address;
                if address == self.gateway {
                    Some(format!(
                        "{}'s address {address} is this computer's on the lab's network",
                        machine.name
                    ))
                } else if !self.subnet.is_usable(address) {
                    Some(format!(
                        "{}'s address {address} is not a machine's address of {}",
                        machine.name, self.subnet
                    ))
                } else {
                    None
                }
            })
            .collect();
        if problems.is_empty() {
            return Ok(());
        }
        Err(LabError::AddressesDoNotFit {
            spec: spec.spec_path.clone(),
            network: self.name.clone(),
            subnet: self.subnet,
            problems,
        })
    }

    /// Docker's networks and this computer's routes (a Docker network's own route once,
    /// as the network).
    pub fn taken_networks(docker: &DockerCli) -> Result<Vec<TakenNetwork>, LabError> {
        let mut taken = Vec::new();
        for line in docker_subnets(docker)?.lines() {
            let mut words = line.split_whitespace();
            let Some(name) = words.next() else { continue };
            // IPv6 subnets do not parse, and cannot overlap an IPv4 one.
            taken.extend(
                words
                    .filter_map(|word| word.parse().ok())
                    .map(|subnet| TakenNetwork {
                        owner: format!("Docker network {name}"),
                        subnet,
                    }),
            );
        }
        let not_a_docker_network = |route: &ComputerRoute| {
            taken
                .iter()
                .all(|network: &TakenNetwork| network.subnet != route.destination)
        };
        let routes: Vec<TakenNetwork> = ComputerRoute::read_all()?
            .into_iter()
            .filter(not_a_docker_network)
            .map(|route| TakenNetwork {
                owner: format!("this computer's route through {}", route.interface),
                subnet: route.destination,
            })
            .collect();
        taken.extend(routes);
        Ok(taken)
    }

    /// Creates the network, labelled.
    pub fn create(&self, docker: &DockerCli, labels: &[String]) -> Result<(), LabError> {
        let subnet = self.subnet.to_string();
        let gateway = self.gateway.to_string();
        let mut arguments = vec![
            "network",
            "create",
            "--driver",
            "bridge",
            "--internal",
            "--subnet",
            &subnet,
            "--gateway",
            &gateway,
        ];
        for label in labels {
            arguments.extend(["--label", label.as_str()]);
        }
        arguments.push(&self.name);
        docker.run(&arguments).map(|_| ())
    }
}

/// Each Docker network's name and subnets, a line each. A network removed between the
/// listing and the inspection (another lab going down) fails the inspection of them all:
/// the engine is asked again, up to three times, before that is an error.
fn docker_subnets(docker: &DockerCli) -> Result<String, LabError> {
    let mut attempt = 1;
    loop {
        let names = docker.run(&["network", "ls", "--format", "{{.Name}}"])?;
        let mut arguments = vec![
            "network",
            "inspect",
            "--format",
            "{{.Name}}{{range .IPAM.Config}} {{.Subnet}}{{end}}",
        ];
        arguments.extend(names.lines());
        if arguments.len() == 4 {
            return Ok(String::new());
        }
        match docker.run(&arguments) {
            Err(_) if attempt < 3 => attempt += 1,
            inspected => return inspected,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{LabNetwork, TakenNetwork};
    use crate::lab_spec::{HostEntry, LabSpec};

    fn spec(addresses: &[&str]) -> LabSpec {
        let hosts = addresses
            .iter()
            .enumerate()
            .map(|(index, address)| HostEntry {
                name: format!("host{index}"),
                address: address.to_string(),
                port: 22,
                user: "root".to_string(),
                local: false,
                root: None,
            })
            .collect();
        LabSpec::new("test", Path::new("cluster.toml"), hosts).unwrap()
    }

    #[test]
    fn the_network_holds_the_hosts_and_its_gateway_is_no_host() {
        let network = LabNetwork::plan(&spec(&["10.20.0.1", "10.20.0.11"]), None, &[]).unwrap();
        assert_eq!(network.name, "cairn-lab-test");
        assert_eq!(network.subnet.to_string(), "10.20.0.0/24");
        assert_eq!(network.gateway.to_string(), "10.20.0.2");
    }

    #[test]
    fn addresses_of_two_networks_are_refused() {
        let error = LabNetwork::plan(&spec(&["10.20.0.1", "192.168.0.1"]), None, &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("0.0.0.0/0"), "{error}");
        assert!(error.contains("--subnet"), "{error}");
    }

    #[test]
    fn a_named_subnet_must_hold_every_host() {
        let error = LabNetwork::plan(
            &spec(&["10.20.0.11", "10.20.1.11"]),
            Some("10.20.0.0/24".parse().unwrap()),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("host1's address 10.20.1.11"), "{error}");
    }

    #[test]
    fn a_subnet_overlapping_another_network_is_refused() {
        let taken = [TakenNetwork {
            owner: "Docker network other".to_string(),
            subnet: "10.0.0.0/8".parse().unwrap(),
        }];
        let error = LabNetwork::plan(&spec(&["10.20.0.11"]), None, &taken)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("Docker network other (10.0.0.0/8)"),
            "{error}"
        );
    }
}
