use std::path::Path;

use std::sync::Arc;

use cairn_executor::transport::{KeeperOptions, SshConfig};
use cairn_executor::{ApplyOptions, Selection, SshOptions};
use cairn_lockfiles::Lockfile;

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
        ..SshOptions::default()
    };
    if let Some(known_hosts) = &arguments.known_hosts {
        ssh.known_hosts = known_hosts.clone();
    }
    let default_config =
        std::env::var_os("HOME").map(|home| std::path::PathBuf::from(home).join(".ssh/config"));
    match (&arguments.ssh_config, default_config) {
        (Some(path), _) => {
            let config = SshConfig::read(path).map_err(|error| {
                Failure::Input(format!(
                    "cannot read the SSH configuration {}: {error}",
                    path.display()
                ))
            })?;
            ssh.config = Some(Arc::new(config));
        }
        (None, Some(path)) if path.is_file() => {
            ssh.config = SshConfig::read(&path).ok().map(Arc::new);
        }
        _ => {}
    }
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
