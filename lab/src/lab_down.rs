//! `down`: removes what a lab made, and nothing else: its containers, its network, its
//! folder (the machines' Docker data, root's, with it). Safe to run twice, and after an
//! `up` that stopped half way: the state names what was about to be made, and whatever
//! else carries the folder's label is swept too. Only what carries the folder's label is
//! removed.

use std::path::{Path, PathBuf};

use crate::docker_cli::DockerCli;
use crate::lab::{Lab, require_root};
use crate::lab_error::LabError;
use crate::lab_folder::LabFolder;
use crate::lab_state::LabState;

/// What `down` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabDown {
    /// The lab's folder.
    pub folder: PathBuf,
    /// Whether there was a lab (or its folder) at all.
    pub found: bool,
    pub containers: Vec<String>,
    pub networks: Vec<String>,
}

impl Lab {
    /// Removes the lab in `folder`.
    pub fn down(folder: &Path) -> Result<LabDown, LabError> {
        require_root()?;
        let folder = LabFolder::new(folder)?;
        let mut removed = LabDown {
            folder: folder.root().to_path_buf(),
            found: folder.root().exists(),
            containers: Vec::new(),
            networks: Vec::new(),
        };
        if !removed.found {
            return Ok(removed);
        }
        let state = LabState::read(&folder)?;
        if state.is_none() && folder.holds_foreign_files()? {
            return Err(LabError::ForeignFolder {
                folder: folder.root().to_path_buf(),
            });
        }
        let docker = DockerCli;
        docker.check_engine()?;
        let _lock = folder.lock()?;
        let label = format!("label=cairn.lab.folder={}", folder.root().display());
        let recorded = state.iter().flat_map(|state| &state.machines);
        let containers = labelled(
            &docker,
            &["ps", "--all", "--filter", &label, "--format", "{{.Names}}"],
            recorded.map(|machine| machine.container.clone()),
        )?;
        for container in containers {
            if owned_by(&docker, "container", &container, &folder)? {
                removed.containers.push(container);
            }
        }
        if !removed.containers.is_empty() {
            // One call: the engine removes them side by side (a machine whose disk an
            // install filled takes a second or two), not one after the other.
            let mut arguments = vec!["rm", "--force", "--volumes"];
            arguments.extend(removed.containers.iter().map(String::as_str));
            docker.run(&arguments)?;
        }
        let recorded = state.iter().map(|state| state.network.name.clone());
        let networks = labelled(
            &docker,
            &["network", "ls", "--filter", &label, "--format", "{{.Name}}"],
            recorded,
        )?;
        for network in networks {
            if owned_by(&docker, "network", &network, &folder)? {
                docker.run(&["network", "rm", &network])?;
                removed.networks.push(network);
            }
        }
        std::fs::remove_dir_all(folder.root()).map_err(|error| LabError::Write {
            path: folder.root().to_path_buf(),
            error,
        })?;
        Ok(removed)
    }
}

/// The names `docker LISTING` lists (one a line), with `recorded`, sorted, each once.
fn labelled(
    docker: &DockerCli,
    listing: &[&str],
    recorded: impl Iterator<Item = String>,
) -> Result<Vec<String>, LabError> {
    let listed = docker.run(listing)?;
    let mut names: Vec<String> = listed.lines().map(str::to_string).chain(recorded).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Whether the container or network `name` exists and carries `folder`'s label.
fn owned_by(
    docker: &DockerCli,
    object: &str,
    name: &str,
    folder: &LabFolder,
) -> Result<bool, LabError> {
    let labels = match object {
        "container" => "{{index .Config.Labels \"cairn.lab.folder\"}}",
        _ => "{{index .Labels \"cairn.lab.folder\"}}",
    };
    let owner = docker.inspect(&[object, "inspect", "--format", labels, name])?;
    Ok(owner.is_some_and(|owner| owner == folder.root().display().to_string()))
}
