//! `cairn import`: an installation of the kind cairn replaces (an Ansible INI inventory
//! and the installer's shell-style `config.cfg`) as a commented cairn cluster spec.
//!
//! Data flow: `inventory` (with `host_range`), `vars_files` (the `group_vars/` and
//! `host_vars/` beside it) and `config_file` read the inputs;
//! `host_import` makes the spec's hosts (roles through `role_mapping`), `config_import`
//! its settings, passwords becoming secret files (`imported_cluster::SecretFile`) and
//! everything not mapped a `Finding`; `spec_writer` writes the text and `output_files`
//! the files. The crate knows the built-in modules' settings by name only: whether the
//! spec compiles is the compiler's to say, and the CLI's test compiles it.

mod config_file;
mod config_import;
mod generated_secret;
mod host_import;
mod host_range;
mod import_error;
mod imported_cluster;
mod inventory;
mod output_files;
mod role_mapping;
mod spec_writer;
mod vars_files;

pub use config_file::ConfigFile;
pub use config_import::CONFIG_KEYS;
pub use import_error::{ImportError, WriteError};
pub use imported_cluster::{Finding, ImportedCluster, SecretFile};
pub use inventory::Inventory;
pub use output_files::write_files;
pub use role_mapping::{DEFAULT_ROLES, RoleMapping};
pub use spec_writer::write_spec;
pub use vars_files::{VarsFile, VarsOwner, find_vars_files};

use config_import::{Config, import_config};
use generated_secret::random_hex;
use host_import::{host_label, import_hosts};

/// An input of the import: its name as messages give it, and its text.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// Reads the inventory with its variables files and the config file, and makes the
/// cluster they describe.
pub fn import(
    inventory_input: Input<'_>,
    vars_files: &[VarsFile],
    config_input: Option<Input<'_>>,
    mapping: &RoleMapping,
) -> Result<ImportedCluster, ImportError> {
    let mut inventory = Inventory::parse(inventory_input.text)?;
    let vars_findings = vars_files::add_vars_files(&mut inventory, vars_files)?;
    let config_file = match config_input {
        Some(input) => ConfigFile::parse(input.text)?,
        None => ConfigFile::default(),
    };
    let mut cluster = ImportedCluster {
        sources: std::iter::once(inventory_input.name)
            .chain(vars_files.iter().map(|file| file.path.as_str()))
            .chain(config_input.map(|input| input.name))
            .map(str::to_string)
            .collect(),
        findings: vars_findings,
        ..ImportedCluster::default()
    };
    let config = Config {
        file: &config_file,
        name: config_input.map_or("the config file (none given)", |input| input.name),
    };
    name_cluster(&config, inventory_input.name, &mut cluster);
    import_hosts(&inventory, mapping, inventory_input.name, &mut cluster)?;
    let generated = |error: std::io::Error| ImportError::Random(error.to_string());
    let key = random_hex(64).map_err(generated)?;
    cluster.secrets.push(SecretFile {
        path: "secrets/fingerprint.key".to_string(),
        content: format!("{key}\n"),
        origin: "generated".to_string(),
    });
    import_config(&config, &inventory, &mut cluster).map_err(generated)?;
    Ok(cluster)
}

/// `CLUSTER_NAME` and `CLUSTER_DOMAIN`, else the inventory's file name.
fn name_cluster(config: &Config<'_>, inventory_name: &str, cluster: &mut ImportedCluster) {
    let stem = std::path::Path::new(inventory_name)
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = config
        .file
        .get("CLUSTER_NAME")
        .map(|found| host_label(&found.value))
        .unwrap_or_else(|| host_label(&stem));
    cluster.name = match name.chars().next() {
        Some(first) if first.is_ascii_lowercase() => name,
        _ => format!("cluster-{name}").trim_end_matches('-').to_string(),
    };
    cluster.domain = match config.file.get("CLUSTER_DOMAIN") {
        Some(found) => found.value.clone(),
        None => {
            let domain = format!("{}.internal", cluster.name);
            cluster.find(
                config.name,
                format!("no `CLUSTER_DOMAIN`: the domain is {domain}"),
            );
            domain
        }
    };
}

#[cfg(test)]
mod tests {
    use super::{Input, RoleMapping, import, write_spec};

    #[test]
    fn without_a_config_file_the_control_host_serves_and_the_downloads_are_left_out() {
        let inventory = Input {
            name: "hosts.ini",
            text: "[control]\nctl ansible_host=10.1.0.5\n\n[slave]\n10.1.0.[41:42]\n",
        };
        let cluster = import(inventory, &[], None, &RoleMapping::default()).unwrap();
        let spec = write_spec(&cluster);
        assert!(
            spec.contains("name = \"hosts\"\ndomain = \"hosts.internal\"\n"),
            "{spec}"
        );
        assert!(
            spec.contains(
                "[hosts.ip-10-1-0-41]\naddress = \"10.1.0.41\"\nid = 41\nroles = [\"agent\"]\n"
            ),
            "{spec}"
        );
        assert!(spec.contains("url = \"http://10.1.0.5:8080\"\n"), "{spec}");
        assert!(spec.contains("address = \"10.1.0.5:5000\"\n"), "{spec}");
        assert!(spec.contains("servers = [\"10.1.0.5\"]\n"), "{spec}");
        assert!(
            spec.contains(
                "exclude_modules = [\"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n"
            ),
            "{spec}"
        );
        assert_eq!(cluster.secrets.len(), 1, "the fingerprint key alone");
    }
}
