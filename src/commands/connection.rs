use std::path::Path;

use cairn_executor::{ApplyOptions, SshOptions};

use crate::cli::ConnectionArguments;

/// The executor's options from the command line; `lockfile` locates secret files.
pub fn apply_options(arguments: &ConnectionArguments, lockfile: &Path) -> ApplyOptions {
    let mut ssh = SshOptions {
        identities: arguments.identities.clone(),
        accept_new_host_keys: arguments.accept_new_host_keys,
        ..SshOptions::default()
    };
    if let Some(known_hosts) = &arguments.known_hosts {
        ssh.known_hosts = known_hosts.clone();
    }
    let lockfile_directory = match lockfile.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    ApplyOptions {
        jobs: arguments.jobs.max(1),
        ssh,
        lockfile_directory,
    }
}
