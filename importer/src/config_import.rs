//! The old installer's `config.cfg` as the spec's settings. The keys understood are in
//! `CONFIG_KEYS` (and README's `cairn import`); every other is reported. Passwords become
//! secret files, never text of the spec.

use crate::config_file::ConfigFile;
use crate::generated_secret::random_hex;
use crate::imported_cluster::{ImportedCluster, toml_string, toml_strings};
use crate::inventory::Inventory;

/// Every key this import reads, and what it becomes.
pub const CONFIG_KEYS: [(&str, &str); 31] = [
    ("CLUSTER_NAME", "[cluster] name"),
    ("CLUSTER_DOMAIN", "[cluster] domain"),
    (
        "MASTER_IPS",
        "role `master` on the hosts listed (addresses or names)",
    ),
    (
        "KEEPALIVED_HOSTS",
        "role `loadbalancer` on the hosts listed",
    ),
    ("KEEPALIVED_VIP", "[keepalived] vip"),
    (
        "KEEPALIVED_NETMASK",
        "the VIP's prefix length (255.255.255.0: /24)",
    ),
    ("KEEPALIVED_PREFIX", "the VIP's prefix length (24)"),
    ("KEEPALIVED_INTERFACE", "[keepalived] interface"),
    ("KEEPALIVED_ROUTER_ID", "[keepalived] virtual_router_id"),
    (
        "KEEPALIVED_AUTH_PASS",
        "[keepalived] auth_pass, a secret file",
    ),
    ("MYSQL_MASTER_IP", "[mysql] master"),
    ("MYSQL_SLAVE_IP", "[mysql] slave"),
    ("MYSQL_PORT", "[mysql] port"),
    (
        "MYSQL_ROOT_PASSWORD",
        "[mysql] root_password, a secret file",
    ),
    ("MYSQL_REPL_USER", "[mysql] replication_user"),
    (
        "MYSQL_REPL_PASSWORD",
        "[mysql] replication_password, a secret file",
    ),
    ("MYSQL_USER", "[mysql] app_user"),
    (
        "MYSQL_INITIAL_PASSWORD",
        "[mysql] app_initial_password, a secret file",
    ),
    ("MYSQL_DATABASE", "[mysql] app_database"),
    ("REGISTRY", "[registry] address"),
    ("REPO_URL", "[repository] url"),
    ("NTP_SERVER", "[ntp] servers"),
    (
        "HAPROXY_SERVICES",
        "[haproxy] services (`name:port`, a list)",
    ),
    ("CONSUL_URL", "[consul] artifact_url"),
    ("CONSUL_SHA256", "[consul] artifact_sha256"),
    ("MESOS_URL", "[mesos] artifact_url"),
    ("MESOS_SHA256", "[mesos] artifact_sha256"),
    ("MARATHON_URL", "[marathon] artifact_url"),
    ("MARATHON_SHA256", "[marathon] artifact_sha256"),
    ("CADVISOR_URL", "[cadvisor] artifact_url"),
    ("CADVISOR_SHA256", "[cadvisor] artifact_sha256"),
];

/// The config file and its name (`config.cfg`), or none.
pub struct Config<'a> {
    pub file: &'a ConfigFile,
    pub name: &'a str,
}

impl Config<'_> {
    fn value(&self, key: &str) -> Option<(String, String)> {
        self.file.get(key).map(|found| {
            (
                found.value.clone(),
                format!("{}:{} {key}", self.name, found.line),
            )
        })
    }
}

pub fn import_config(
    config: &Config<'_>,
    inventory: &Inventory,
    cluster: &mut ImportedCluster,
) -> std::io::Result<()> {
    add_listed_roles(config, "MASTER_IPS", "master", cluster);
    add_listed_roles(config, "KEEPALIVED_HOSTS", "loadbalancer", cluster);
    import_services(config, cluster);
    if !cluster.hosts_with_role("loadbalancer").is_empty() {
        import_keepalived(config, inventory, cluster)?;
        import_haproxy(config, cluster);
    }
    if !cluster.hosts_with_role("mysql").is_empty() {
        import_mysql(config, inventory, cluster)?;
    }
    import_artifacts(config, cluster);
    report_unknown_keys(config, cluster);
    Ok(())
}

/// The hosts a list key names get `role`, where the inventory did not give it.
fn add_listed_roles(config: &Config<'_>, key: &str, role: &str, cluster: &mut ImportedCluster) {
    let Some((_, origin)) = config.value(key) else {
        return;
    };
    for entry in config.file.list(key) {
        let position = cluster.hosts.iter().position(|host| {
            host.name == entry
                || host.address == entry
                || host.inventory_name.as_deref() == Some(entry.as_str())
        });
        match position {
            None => cluster.find(
                origin.clone(),
                format!("`{entry}` is no host of the inventory; left out"),
            ),
            Some(position)
                if !cluster.hosts[position]
                    .roles
                    .iter()
                    .any(|held| held == role) =>
            {
                let host = &mut cluster.hosts[position];
                host.roles.push(role.to_string());
                host.roles.sort();
                let name = host.name.clone();
                cluster.find(
                    origin.clone(),
                    format!(
                        "host `{name}` gets role `{role}`, which no group of the inventory gave it"
                    ),
                );
            }
            Some(_) => {}
        }
    }
}

/// The control host's services every host uses: package repository, registry, time.
fn import_services(config: &Config<'_>, cluster: &mut ImportedCluster) {
    let control = cluster
        .hosts_with_role("control")
        .first()
        .map(|host| host.address.clone());
    let defaults = [
        (
            "REPO_URL",
            "repository",
            "url",
            control
                .as_ref()
                .map(|address| format!("http://{address}:8080")),
        ),
        (
            "REGISTRY",
            "registry",
            "address",
            control.as_ref().map(|address| format!("{address}:5000")),
        ),
    ];
    for (key, section, setting, default) in defaults {
        match (config.value(key), default) {
            (Some((value, origin)), _) => {
                cluster.set(section, setting, toml_string(&value), Some(origin))
            }
            (None, Some(value)) => {
                cluster.find(
                    config.name,
                    format!("no `{key}`: [{section}] {setting} is the control host's, {value}"),
                );
                cluster.set(
                    section,
                    setting,
                    toml_string(&value),
                    Some(format!("not in {}: the control host's", config.name)),
                );
            }
            (None, None) => cluster.find(
                config.name,
                format!("no `{key}` and no control host: write [{section}] {setting}"),
            ),
        }
    }
    let servers = config.file.list("NTP_SERVER");
    match (servers.is_empty(), control) {
        (false, _) => cluster.set(
            "ntp",
            "servers",
            toml_strings(&servers),
            config.value("NTP_SERVER").map(|(_, origin)| origin),
        ),
        (true, Some(address)) => {
            cluster.find(
                config.name,
                format!("no `NTP_SERVER`: hosts take their time from the control host, {address}"),
            );
            cluster.set(
                "ntp",
                "servers",
                toml_strings(&[address]),
                Some("the control host".to_string()),
            );
        }
        (true, None) => cluster.find(
            config.name,
            "no `NTP_SERVER` and no control host: write [ntp] servers",
        ),
    }
}

fn import_keepalived(
    config: &Config<'_>,
    inventory: &Inventory,
    cluster: &mut ImportedCluster,
) -> std::io::Result<()> {
    match config.value("KEEPALIVED_VIP") {
        Some((vip, origin)) => {
            let (vip, comment) = vip_with_prefix(config, &vip, &origin, cluster);
            cluster.set("keepalived", "vip", toml_string(&vip), Some(comment));
        }
        None => cluster.find(
            config.name,
            "no `KEEPALIVED_VIP`: write [keepalived] vip, such as \"10.0.0.100/24\"",
        ),
    }
    match config.value("KEEPALIVED_INTERFACE") {
        Some((interface, origin)) => cluster.set(
            "keepalived",
            "interface",
            toml_string(&interface),
            Some(origin),
        ),
        None => {
            cluster.find(config.name, "no `KEEPALIVED_INTERFACE`: eth0 assumed");
            cluster.set(
                "keepalived",
                "interface",
                toml_string("eth0"),
                Some("assumed: not in the config file".to_string()),
            );
        }
    }
    if let Some((id, origin)) = config.value("KEEPALIVED_ROUTER_ID") {
        integer_setting(cluster, "keepalived", "virtual_router_id", &id, origin);
    }
    secret_setting(
        config,
        cluster,
        "KEEPALIVED_AUTH_PASS",
        "keepalived",
        "auth_pass",
        "keepalived-auth-pass",
        8,
    )?;
    import_priorities(inventory, cluster);
    Ok(())
}

/// The VIP with its prefix length: the config's, from KEEPALIVED_PREFIX or
/// KEEPALIVED_NETMASK; else /24, said loudly (the old config wrote none).
fn vip_with_prefix(
    config: &Config<'_>,
    vip: &str,
    origin: &str,
    cluster: &mut ImportedCluster,
) -> (String, String) {
    if vip.contains('/') {
        return (vip.to_string(), origin.to_string());
    }
    let prefix = config
        .value("KEEPALIVED_PREFIX")
        .and_then(|(prefix, _)| prefix.trim_start_matches('/').parse::<u8>().ok())
        .or_else(|| {
            config
                .value("KEEPALIVED_NETMASK")
                .and_then(|(mask, _)| netmask_prefix(&mask))
        });
    match prefix {
        Some(prefix) => (
            format!("{vip}/{prefix}"),
            format!("{origin}, its prefix length from the config file"),
        ),
        None => {
            cluster.find(origin, format!("the VIP `{vip}` has no prefix length: written as {vip}/24; check it against the load balancers' network"));
            (
                format!("{vip}/24"),
                format!("{origin}: /24 ASSUMED, the config file gives no prefix length; check it"),
            )
        }
    }
}

/// `255.255.255.0` as 24; `None` for a mask that is not one.
fn netmask_prefix(mask: &str) -> Option<u8> {
    let bits = mask.parse::<std::net::Ipv4Addr>().ok()?.to_bits();
    let prefix = bits.leading_ones();
    (bits.checked_shl(prefix).unwrap_or(0) == 0).then_some(prefix as u8)
}

/// `keepalived_priority` of the load balancers as [keepalived] priorities, when every one
/// has it; else host ids decide, and that is said.
fn import_priorities(inventory: &Inventory, cluster: &mut ImportedCluster) {
    let balancers: Vec<(String, Option<String>)> = cluster
        .hosts_with_role("loadbalancer")
        .iter()
        .map(|host| {
            let inventory_name = host
                .inventory_name
                .clone()
                .unwrap_or_else(|| host.name.clone());
            let priority = inventory
                .variable(&inventory_name, "keepalived_priority")
                .map(|found| found.value.clone());
            (host.name.clone(), priority)
        })
        .collect();
    let given: Vec<String> = balancers
        .iter()
        .filter_map(|(name, priority)| {
            Some(format!(
                "{name} = {}",
                priority.as_ref()?.parse::<u16>().ok()?
            ))
        })
        .collect();
    if given.is_empty() {
        return;
    }
    if given.len() < balancers.len() {
        cluster.find("inventory", "`keepalived_priority` is given to some load balancers only: priorities follow host ids");
        return;
    }
    cluster.set(
        "keepalived",
        "priorities",
        format!("{{ {} }}", given.join(", ")),
        Some("the inventory's keepalived_priority".to_string()),
    );
}

fn import_haproxy(config: &Config<'_>, cluster: &mut ImportedCluster) {
    let services = config.file.list("HAPROXY_SERVICES");
    if let Some((_, origin)) = config.value("HAPROXY_SERVICES") {
        cluster.set("haproxy", "services", toml_strings(&services), Some(origin));
    }
}

fn import_mysql(
    config: &Config<'_>,
    inventory: &Inventory,
    cluster: &mut ImportedCluster,
) -> std::io::Result<()> {
    for (key, setting, group) in [
        ("MYSQL_MASTER_IP", "master", "mysql_master"),
        ("MYSQL_SLAVE_IP", "slave", "mysql_slave"),
    ] {
        let from_config = config.value(key).and_then(|(entry, origin)| {
            let host = cluster.host_named(&entry).map(|host| host.name.clone());
            if host.is_none() {
                cluster.find(
                    origin.clone(),
                    format!("`{entry}` is no host of the inventory"),
                );
            }
            Some((host?, origin))
        });
        let from_group = || {
            let first = inventory.groups.get(group)?.hosts.first()?;
            Some((
                cluster.host_named(first)?.name.clone(),
                format!("the inventory's group `{group}`"),
            ))
        };
        match from_config.or_else(from_group) {
            Some((host, origin)) => cluster.set("mysql", setting, toml_string(&host), Some(origin)),
            None => cluster.find(
                config.name,
                format!("no `{key}` and no group `{group}`: write [mysql] {setting}"),
            ),
        }
    }
    if let Some((port, origin)) = config.value("MYSQL_PORT") {
        integer_setting(cluster, "mysql", "port", &port, origin);
    }
    secret_setting(
        config,
        cluster,
        "MYSQL_ROOT_PASSWORD",
        "mysql",
        "root_password",
        "mysql-root-password",
        24,
    )?;
    string_setting(
        config,
        cluster,
        "MYSQL_REPL_USER",
        "mysql",
        "replication_user",
    );
    secret_setting(
        config,
        cluster,
        "MYSQL_REPL_PASSWORD",
        "mysql",
        "replication_password",
        "mysql-replication-password",
        24,
    )?;
    import_application_user(config, cluster)
}

/// The application's user, its initial password and its database: all three, or none.
fn import_application_user(
    config: &Config<'_>,
    cluster: &mut ImportedCluster,
) -> std::io::Result<()> {
    let keys = ["MYSQL_USER", "MYSQL_INITIAL_PASSWORD", "MYSQL_DATABASE"];
    let given: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|key| config.value(key).is_some())
        .collect();
    if given.is_empty() {
        return Ok(());
    }
    if given.len() < keys.len() {
        cluster.find(config.name, format!("{} without the rest of MYSQL_USER, MYSQL_INITIAL_PASSWORD and MYSQL_DATABASE: the application's user is left out", given.join(", ")));
        return Ok(());
    }
    string_setting(config, cluster, "MYSQL_USER", "mysql", "app_user");
    secret_setting(
        config,
        cluster,
        "MYSQL_INITIAL_PASSWORD",
        "mysql",
        "app_initial_password",
        "mysql-app-initial-password",
        24,
    )?;
    string_setting(config, cluster, "MYSQL_DATABASE", "mysql", "app_database");
    Ok(())
}

/// The downloads Debian does not package: a module whose URL and checksum the config file
/// does not give is left out (Marathon with Mesos, whose library it needs).
fn import_artifacts(config: &Config<'_>, cluster: &mut ImportedCluster) {
    let mut excluded: Vec<&str> = Vec::new();
    for (module, prefix) in [
        ("consul", "CONSUL"),
        ("mesos", "MESOS"),
        ("marathon", "MARATHON"),
        ("cadvisor", "CADVISOR"),
    ] {
        let url = config.value(&format!("{prefix}_URL"));
        let sha256 = config.value(&format!("{prefix}_SHA256"));
        match (url, sha256) {
            (Some((url, url_origin)), Some((sha256, sha_origin)))
                if !(module == "marathon" && excluded.contains(&"mesos")) =>
            {
                cluster.set(module, "artifact_url", toml_string(&url), Some(url_origin));
                cluster.set(
                    module,
                    "artifact_sha256",
                    toml_string(&sha256),
                    Some(sha_origin),
                );
            }
            _ => {
                let why = if module == "marathon" && excluded.contains(&"mesos") {
                    "Marathon needs Mesos's library, and Mesos is left out".to_string()
                } else {
                    format!("{} gives no {prefix}_URL and {prefix}_SHA256", config.name)
                };
                cluster.find(config.name, format!("module `{module}` is left out: {why}"));
                cluster.excluded_modules.push((module.to_string(), why));
                excluded.push(module);
            }
        }
    }
}

fn string_setting(
    config: &Config<'_>,
    cluster: &mut ImportedCluster,
    key: &str,
    section: &str,
    setting: &str,
) {
    if let Some((value, origin)) = config.value(key) {
        cluster.set(section, setting, toml_string(&value), Some(origin));
    }
}

fn integer_setting(
    cluster: &mut ImportedCluster,
    section: &str,
    setting: &str,
    value: &str,
    origin: String,
) {
    match value.parse::<i64>() {
        Ok(number) => cluster.set(section, setting, number.to_string(), Some(origin)),
        Err(_) => cluster.find(
            origin,
            format!("`{value}` is not a number; [{section}] {setting} keeps its default"),
        ),
    }
}

/// A password of the config file as a secret file; where the file has none, a random one
/// of `length` characters, said so.
fn secret_setting(
    config: &Config<'_>,
    cluster: &mut ImportedCluster,
    key: &str,
    section: &str,
    setting: &str,
    file: &str,
    length: usize,
) -> std::io::Result<()> {
    let (value, origin) = match config.value(key) {
        Some((value, origin)) => (value, origin),
        None => {
            cluster.find(
                config.name,
                format!("no `{key}`: a random one is generated into secrets/{file}"),
            );
            (random_hex(length)?, "generated".to_string())
        }
    };
    let reference = cluster.secret(file, format!("{value}\n"), origin.clone());
    cluster.set(
        section,
        setting,
        reference,
        Some(format!("{origin}, written to secrets/{file}, not here")),
    );
    Ok(())
}

fn report_unknown_keys(config: &Config<'_>, cluster: &mut ImportedCluster) {
    let unknown: Vec<(String, usize)> = config
        .file
        .values
        .iter()
        .filter(|(key, _)| !CONFIG_KEYS.iter().any(|(known, _)| known == key))
        .map(|(key, value)| (key.clone(), value.line))
        .collect();
    for (key, line) in unknown {
        cluster.find(
            format!("{}:{line}", config.name),
            format!("`{key}` has no counterpart in the spec; left out"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::netmask_prefix;

    #[test]
    fn a_netmask_is_its_prefix_length() {
        assert_eq!(netmask_prefix("255.255.255.0"), Some(24));
        assert_eq!(netmask_prefix("255.255.240.0"), Some(20));
        assert_eq!(netmask_prefix("255.255.255.255"), Some(32));
        assert_eq!(netmask_prefix("255.0.255.0"), None);
    }
}
