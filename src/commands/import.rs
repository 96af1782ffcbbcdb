//! `cairn import INVENTORY [--config FILE] [--roles FILE] [--role G=R] [-o SPEC]`.

use std::path::Path;

use cairn_import::{Input, RoleMapping, find_vars_files, import, write_files, write_spec};

use crate::failure::Failure;

/// The command's arguments.
#[derive(Debug)]
pub struct Request<'a> {
    pub inventory: &'a Path,
    pub config: Option<&'a Path>,
    pub roles_file: Option<&'a Path>,
    pub roles: &'a [String],
    pub output: &'a Path,
}

pub fn run(request: &Request<'_>) -> Result<(), Failure> {
    let mapping = role_mapping(request)?;
    let inventory_text = read(request.inventory)?;
    let config_text = request.config.map(read).transpose()?;
    let inventory_name = request.inventory.display().to_string();
    let config_name = request.config.map(|path| path.display().to_string());
    let config = match (&config_name, &config_text) {
        (Some(name), Some(text)) => Some(Input { name, text }),
        _ => None,
    };
    let inventory = Input {
        name: &inventory_name,
        text: &inventory_text,
    };
    // Ansible reads group_vars/ and host_vars/ beside the inventory.
    let inventory_folder = cairn_lockfiles::parent_folder(request.inventory);
    let vars_files =
        find_vars_files(inventory_folder).map_err(|error| Failure::Input(error.to_string()))?;
    let cluster = import(inventory, &vars_files, config, &mapping)
        .map_err(|error| Failure::Input(error.to_string()))?;
    let spec = write_spec(&cluster);
    write_files(request.output, &spec, &cluster.secrets)
        .map_err(|error| Failure::Failed(error.to_string()))?;
    for finding in &cluster.findings {
        eprintln!("warning: {}: {}", finding.place, finding.message);
    }
    for secret in &cluster.secrets {
        eprintln!("secret: {} ({})", secret.path, secret.origin);
    }
    eprintln!(
        "wrote {} ({} hosts; {} passwords and keys in secret files, not in the spec; {} things not imported or guessed, listed above)",
        request.output.display(),
        cluster.hosts.len(),
        cluster.secrets.len(),
        cluster.findings.len()
    );
    Ok(())
}

fn role_mapping(request: &Request<'_>) -> Result<RoleMapping, Failure> {
    let mut mapping = RoleMapping::default();
    if let Some(path) = request.roles_file {
        mapping = mapping
            .with_file(&read(path)?)
            .map_err(|error| Failure::Input(format!("{}: {error}", path.display())))?;
    }
    for flag in request.roles {
        mapping = mapping
            .with_flag(flag)
            .map_err(|error| Failure::Input(format!("--role {error}")))?;
    }
    Ok(mapping)
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|error| Failure::Input(format!("cannot read {}: {error}", path.display())))
}
