use std::path::Path;

use std::sync::Arc;
use std::time::Duration;

use cairn_executor::transport::{KeeperOptions, SshConfig};
use cairn_executor::{ApplyOptions, Selection, SshOptions};
use cairn_lockfiles::{Lockfile, TransportKind};

use crate::cli::{ConnectionArguments, SelectionArguments};
use crate::failure::Failure;

/// The executor's options from the command line; `lockfile_path` locates secret files,
/// and `lockfile` is what the selection must name hosts of.
pub fn apply_options(
    arguments: &ConnectionArguments,
    selection: &SelectionArguments,
    lockfile: &Lockfile,
    lockfile_path: &Path,
) -> Result<ApplyOptions, Failure> {
    let selection = Selection {
        hosts: selection.limit.clone(),
        skipped_kinds: selection.skip_kinds.iter().copied().collect(),
    };
    selection.check(lockfile).map_err(Failure::Input)?;
    let mut ssh = SshOptions {
        identities: arguments.identities.clone(),
        accept_new_host_keys: arguments.accept_new_host_keys,
        connect_timeout: arguments.connect_timeout.map(Duration::from_secs_f64),
        max_startups: arguments.max_startups.max(1),
        ..SshOptions::default()
    };
    if let Some(known_hosts) = &arguments.known_hosts {
        ssh.known_hosts = known_hosts.clone();
    }
    // As `ssh -F FILE`, or as `ssh` without it: the user's and the system's files, read
    // only where a host is reached over SSH (a spec of local sandboxes does not depend on
    // what the operator's configuration holds).
    let reached_over_ssh = lockfile
        .hosts
        .values()
        .any(|host| host.transport == TransportKind::Ssh);
    let config = match &arguments.ssh_config {
        Some(path) => Some(SshConfig::read(path)),
        None if reached_over_ssh => Some(SshConfig::read_default()),
        None => None,
    };
    ssh.config = config
        .transpose()
        .map_err(|error| Failure::Input(error.to_string()))?
        .map(Arc::new);
    let lockfile_directory = cairn_lockfiles::parent_folder(lockfile_path).to_path_buf();
    let keeper = match (
        arguments.persist,
        std::env::current_exe(),
        KeeperOptions::default_directory(),
    ) {
        (0, _, _) => None,
        (seconds, Ok(program), Some(directory)) => Some(KeeperOptions {
            program,
            directory,
            persist: std::time::Duration::from_secs(seconds),
        }),
        _ => None,
    };
    Ok(ApplyOptions {
        keeper,
        jobs: arguments.jobs.max(1),
        ssh,
        lockfile_directory,
        selection,
    })
}
