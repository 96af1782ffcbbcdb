//! What running a node does on its host, one file per kind. Each action ends by recording
//! the node's state entry, in the same round trip where it can.

mod command;
pub mod container;
mod file;
pub mod image;
pub mod package;
pub(crate) mod previous_file;
pub(crate) mod probe_node;
mod pull_outcome;
mod repository;
mod service;

use cairn_lockfiles::{HostEntry, Node, NodeKind, NodeName, NodeSpec, Scope};

use crate::confined_folder::{is_confined_path, refuse_linked_folders};
use crate::host_paths::HostPaths;
use crate::plan::Reason;
use crate::secrets::Secrets;
use crate::state::StateEntry;
use crate::transport::{Transport, TransportError};

/// What a node needs to run.
#[derive(Debug)]
pub struct NodeContext<'a> {
    pub lockfile: &'a cairn_lockfiles::Lockfile,
    /// The node's host (`cluster` for images).
    pub host: &'a str,
    /// The machine running cairn, where images are built and sent from.
    pub control: &'a dyn Transport,
    pub transport: &'a dyn Transport,
    pub paths: &'a HostPaths,
    pub secrets: &'a Secrets,
    /// The entry to record when the node succeeds.
    pub entry: StateEntry,
    /// Why the plan runs the node.
    pub reason: Option<&'a Reason>,
    /// What the host recorded for the node before this apply, if anything.
    pub previous: Option<&'a StateEntry>,
    /// This apply's id: work done once per apply on a host (refreshing its package lists)
    /// is marked with it.
    pub apply_id: &'a str,
    /// A node of a rollout's turn (the replacement, a file written in its turn): its action
    /// does not record it; the turn does once its gates pass (`rollout_turn.rs`).
    pub record_later: bool,
    /// Shell lines a put back of the container runs before its previous container starts
    /// again: the files written in its turn put back (`previous_file.rs`). Empty outside a
    /// turn.
    pub put_back_first: String,
}

/// Why a node did not succeed.
#[derive(Debug)]
pub enum NodeError {
    /// The host could not be reached: every other node of the host stops too.
    Transport(TransportError),
    /// The node ran and failed, or could not be prepared (a secret missing).
    Failed(String),
}

impl From<TransportError> for NodeError {
    fn from(error: TransportError) -> Self {
        NodeError::Transport(error)
    }
}

/// The environment of scripts a module wrote (commands, command probes): `CAIRN_ROOT`,
/// the host's root prefix (empty for `/`), and `CAIRN_CONTAINER_PREFIX`, what precedes a
/// container's name in Docker's (`docker exec "${CAIRN_CONTAINER_PREFIX}zookeeper" ...`).
pub fn module_environment(host: &str, paths: &HostPaths) -> String {
    format!(
        "CAIRN_ROOT={}\nCAIRN_CONTAINER_PREFIX={}\nexport CAIRN_ROOT CAIRN_CONTAINER_PREFIX\n",
        crate::shell::quote(paths.root()),
        crate::shell::quote(&crate::container_names::docker_prefix(host, paths)),
    )
}

/// Why a node cannot run on its host, if it cannot; the planner stops it and its
/// dependants. A host with a `root` prefix is a sandbox: packages and services belong to
/// the whole machine, so they are not touched from a sandbox.
pub fn unsupported_reason(spec: &NodeSpec, host: Option<&HostEntry>) -> Option<&'static str> {
    let sandbox = host.is_some_and(|host| host.root.is_some());
    match spec {
        NodeSpec::Package(_) if sandbox => Some(
            "a sandbox host (one with a `root`) installs no packages: they are the whole machine's",
        ),
        NodeSpec::Service(_) if sandbox => Some(
            "a sandbox host (one with a `root`) manages no services: they are the whole machine's",
        ),
        _ => None,
    }
}

/// Runs a node on its host. Returns a one-line summary of what was done.
pub fn execute(node: &Node, context: &mut NodeContext<'_>) -> Result<String, NodeError> {
    match &*node.spec {
        NodeSpec::File(file) => file::apply(file, context),
        NodeSpec::Repository(repository) => repository::apply(repository, context),
        NodeSpec::Command(command) => command::apply(command, context),
        NodeSpec::Package(package) => package::apply(package, context),
        NodeSpec::Service(service) => service::apply(service, context),
        NodeSpec::Check(check) => probe_node::check(check, context),
        // The scheduler passes a barrier without running it (`Decision::Wait`).
        NodeSpec::Barrier(_) => Ok("a barrier: nothing to run".to_string()),
        NodeSpec::Health(health) => probe_node::health(health, context),
        NodeSpec::Image(image) => image::apply(image, &node.id, context),
        NodeSpec::Container(container) => {
            let image_name =
                NodeName::new(Scope::Cluster, NodeKind::Image, container.image.as_str());
            let image_id = context
                .lockfile
                .node(&image_name)
                .map(|image| image.id)
                .ok_or_else(|| {
                    NodeError::Failed(format!("its image `{image_name}` is not in the lockfile"))
                })?;
            let (host, control) = (context.host, context.control);
            container::apply(container, &image_id, host, control, context)
        }
    }
}

/// Removes what an orphaned entry put on the host, then the entry itself: a file is
/// deleted, a container removed, a service stopped and disabled, and the packages a
/// package node installed are removed unless a current node of the host (`wanted`) names
/// them.
pub fn remove_orphan(
    entry: &StateEntry,
    host: &str,
    transport: &dyn Transport,
    paths: &HostPaths,
    wanted_packages: &std::collections::BTreeSet<String>,
) -> Result<String, NodeError> {
    let mut script = String::from("set -eu\n");
    let summary = match (&entry.path, entry.kind()) {
        (Some(path), NodeKind::File | NodeKind::Repository) if !is_confined_path(path) => {
            return Err(NodeError::Failed(format!(
                "the host's state entry names `{path}`, which is not an absolute path without `..`: nothing removed; delete the entry in /var/lib/cairn/state if it was edited by hand"
            )));
        }
        (Some(path), NodeKind::File) => {
            script.push_str(&refuse_linked_folders(paths, parent_of(path)));
            script.push_str(&format!(
                "rm -f -- {}\n",
                crate::shell::quote(&paths.path(path))
            ));
            script.push_str(&previous_file::forget_script(&entry.name, paths));
            format!("removed {path}")
        }
        (Some(path), NodeKind::Repository) => {
            script.push_str(&refuse_linked_folders(paths, path));
            script.push_str(&repository::remove_script(&paths.path(path)));
            format!("removed the repository in {path}")
        }
        (_, NodeKind::Container) => {
            script.push_str(&container::remove_script(&entry.name.key, host, paths));
            format!("removed container {}", entry.name.key)
        }
        (_, NodeKind::Service) if paths.root().is_empty() => {
            script.push_str(&service::orphan_script(&entry.name.key));
            format!("stopped and disabled {}", entry.name.key)
        }
        (_, NodeKind::Package) if paths.root().is_empty() => {
            match package::orphan_script(&entry.installed, wanted_packages, paths) {
                Some((removal, removed)) => {
                    script = removal;
                    format!("removed packages {}", removed.join(" "))
                }
                None => "forgotten (its packages are wanted or were there before)".to_string(),
            }
        }
        _ => "forgotten (nothing to remove)".to_string(),
    };
    script.push_str(&StateEntry::forget_script(&entry.name, paths));
    let output = transport.run(&script, b"")?;
    if !output.success() {
        return Err(NodeError::Failed(output.failure_text()));
    }
    Ok(summary)
}

/// The folder of an absolute path: `/` for one at the top.
pub(crate) fn parent_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((folder, _)) => folder,
    }
}
