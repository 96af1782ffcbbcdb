//! The inventory's hosts as the spec's: names made DNS labels, addresses and SSH settings
//! from `ansible_*` variables, roles from their groups, and an id each (the last number
//! of its address where that is free: an id stays with its host).

use std::collections::{BTreeMap, BTreeSet};

use crate::import_error::ImportError;
use crate::imported_cluster::{ImportedCluster, ImportedHost};
use crate::inventory::{Inventory, Sourced};
use crate::role_mapping::{Mapped, RoleMapping};

/// The variables this import reads of a host; any other is reported.
pub const HOST_VARIABLES: [&str; 11] = [
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_become",
    "ansible_become_method",
    "ansible_become_password",
    "ansible_become_pass",
    "keepalived_priority",
];

pub fn import_hosts(
    inventory: &Inventory,
    mapping: &RoleMapping,
    inventory_name: &str,
    cluster: &mut ImportedCluster,
) -> Result<(), ImportError> {
    report_groups(inventory, mapping, inventory_name, cluster);
    report_variables(inventory, inventory_name, cluster);
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for name in &inventory.host_order {
        let host = import_host(inventory, mapping, name, inventory_name, cluster);
        if let Some(first) = names.insert(host.name.clone(), name.clone()) {
            return Err(ImportError::HostNameClash {
                first,
                second: name.clone(),
                name: host.name,
            });
        }
        cluster.hosts.push(host);
    }
    assign_ids(cluster);
    Ok(())
}

fn import_host(
    inventory: &Inventory,
    mapping: &RoleMapping,
    name: &str,
    inventory_name: &str,
    cluster: &mut ImportedCluster,
) -> ImportedHost {
    let line = inventory.hosts[name].line;
    let sourced = |keys: &[&str]| {
        keys.iter()
            .find_map(|key| inventory.variable(name, key))
            .cloned()
    };
    let variable = |keys: &[&str]| sourced(keys).map(|found| found.value);
    let spec_name = host_label(name);
    let address =
        variable(&["ansible_host", "ansible_ssh_host"]).unwrap_or_else(|| name.to_string());
    let port = variable(&["ansible_port", "ansible_ssh_port"]).and_then(|port| {
        let parsed = port.parse::<u16>().ok().filter(|port| *port > 0);
        if parsed.is_none() {
            cluster.find(
                format!("{inventory_name}:{line}"),
                format!("host `{name}`: `ansible_port={port}` is not a port; left out (22)"),
            );
        }
        parsed
    });
    let groups = inventory.groups_of(name);
    let mut roles = BTreeSet::new();
    for group in &groups {
        if let Mapped::Role(role) = mapping.role_of(group) {
            roles.insert(role.to_string());
        }
    }
    let mut host = ImportedHost {
        inventory_name: (spec_name != name).then(|| name.to_string()),
        name: spec_name,
        address,
        port,
        user: variable(&["ansible_user", "ansible_ssh_user"]).filter(|user| user != "root"),
        roles: roles.into_iter().collect(),
        origin: format!("{inventory_name}:{line}, groups {}", groups.join(", ")),
        ..ImportedHost::default()
    };
    import_become(&mut host, &sourced, inventory_name, line, cluster);
    if let Some(original) = &host.inventory_name {
        cluster.find(
            format!("{inventory_name}:{line}"),
            format!("host `{original}` is `{}` in the spec: a host's name is a DNS label (lowercase letters, digits, `-`)", host.name),
        );
    }
    host
}

/// `ansible_become` (sudo alone) and its password, which becomes a secret file.
fn import_become(
    host: &mut ImportedHost,
    sourced: &dyn Fn(&[&str]) -> Option<Sourced>,
    inventory_name: &str,
    line: usize,
    cluster: &mut ImportedCluster,
) {
    let variable = |keys: &[&str]| sourced(keys).map(|found| found.value);
    let become_wanted = variable(&["ansible_become"])
        .is_some_and(|value| matches!(value.to_lowercase().as_str(), "true" | "yes" | "1"));
    if !become_wanted {
        return;
    }
    let method = variable(&["ansible_become_method"]).unwrap_or_else(|| "sudo".to_string());
    if method != "sudo" {
        cluster.find(
            format!("{inventory_name}:{line}"),
            format!("host `{}`: `ansible_become_method={method}`: cairn becomes root with sudo alone; left out", host.name),
        );
        return;
    }
    host.become_sudo = true;
    if let Some(password) = sourced(&["ansible_become_password", "ansible_become_pass"]) {
        let name = format!("{}-become-password", host.name);
        cluster.secret(
            &name,
            format!("{}\n", password.value),
            format!("{} ansible_become_password", password.place(inventory_name)),
        );
        host.become_password = Some(format!("secrets/{name}"));
    }
}

/// A DNS label for an inventory name: an address `10.0.0.5` becomes `ip-10-0-0-5`, a
/// fully qualified name its first label, others lowercased with `_` as `-`.
pub fn host_label(name: &str) -> String {
    let base = if name.parse::<std::net::IpAddr>().is_ok() {
        format!("ip-{}", name.replace(['.', ':'], "-"))
    } else {
        name.split('.').next().unwrap_or(name).to_string()
    };
    let label: String = base
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    label.trim_matches('-').chars().take(63).collect()
}

/// Each host's id: the last number of its IPv4 address where no other host has it, else
/// the lowest free one.
fn assign_ids(cluster: &mut ImportedCluster) {
    let mut taken = BTreeSet::new();
    let mut pending = Vec::new();
    for (position, host) in cluster.hosts.iter_mut().enumerate() {
        let last = host
            .address
            .parse::<std::net::Ipv4Addr>()
            .ok()
            .map(|address| address.octets()[3])
            .filter(|id| *id > 0 && !taken.contains(id));
        match last {
            Some(id) => {
                host.id = Some(id);
                taken.insert(id);
            }
            None => pending.push(position),
        }
    }
    // Hosts whose modules number their servers by id (ZooKeeper, keepalived, MySQL) first.
    pending.sort_by_key(|position| !needs_id(&cluster.hosts[*position]));
    let mut free = (1..=255u8).filter(|id| !taken.contains(id));
    for position in pending {
        let host = &mut cluster.hosts[position];
        host.id = free.next();
        if host.id.is_none() {
            let message = format!(
                "host `{}` gets no id: all 255 are taken; it may not have role master, loadbalancer or mysql, whose modules number their servers by id",
                host.name
            );
            let origin = host.origin.clone();
            cluster.find(origin, message);
        }
    }
}

/// Whether a module that runs on `host` numbers its servers by host id.
fn needs_id(host: &ImportedHost) -> bool {
    const NUMBERED_ROLES: [&str; 3] = ["master", "loadbalancer", "mysql"];
    host.roles
        .iter()
        .any(|role| NUMBERED_ROLES.contains(&role.as_str()))
}

/// Every group that maps to no role, once, at its line.
fn report_groups(
    inventory: &Inventory,
    mapping: &RoleMapping,
    inventory_name: &str,
    cluster: &mut ImportedCluster,
) {
    for (name, group) in &inventory.groups {
        if name == "all" || name == "ungrouped" {
            continue;
        }
        let message = match mapping.role_of(name) {
            Mapped::Role(_) => continue,
            Mapped::LeftOut => format!("group `{name}` is left out, as the role mapping says"),
            Mapped::Unknown => format!(
                "group `{name}` maps to no role: its hosts get none from it (map it with `--role {name}=ROLE` or in a `--roles` file)"
            ),
        };
        cluster.find(format!("{inventory_name}:{}", group.line), message);
    }
}

/// Every variable of a host or group this import does not read (on the inventory's lines
/// or in its variables files), once per place.
fn report_variables(inventory: &Inventory, inventory_name: &str, cluster: &mut ImportedCluster) {
    let mut seen = BTreeSet::new();
    let host_vars = inventory.hosts.values().flat_map(|host| host.vars.iter());
    let group_vars = inventory
        .groups
        .values()
        .flat_map(|group| group.vars.iter());
    let file_vars = (inventory.host_files.values())
        .chain(inventory.group_files.values())
        .flatten();
    for (key, value) in host_vars.chain(group_vars).chain(file_vars) {
        let place = value.place(inventory_name);
        if HOST_VARIABLES.contains(&key.as_str()) || !seen.insert((place.clone(), key.clone())) {
            continue;
        }
        cluster.find(
            place,
            // Its name alone: a value may be a password.
            format!("variable `{key}` has no counterpart in the spec; left out"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::host_label;

    #[test]
    fn inventory_names_become_dns_labels() {
        assert_eq!(host_label("master01"), "master01");
        assert_eq!(host_label("10.20.0.41"), "ip-10-20-0-41");
        assert_eq!(host_label("LB01.dc1.example"), "lb01");
        assert_eq!(host_label("db_master"), "db-master");
    }
}
