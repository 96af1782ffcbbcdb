//! What running a node does on its host, one file per kind. Each action ends by recording
//! the node's state entry, in the same round trip where it can.

mod command;
pub mod container;
mod file;
pub mod image;
mod probe_node;

use cairn_lockfiles::{Node, NodeKind, NodeName, NodeSpec, Scope};

use crate::host_paths::HostPaths;
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

/// Kinds this executor does not run yet; the planner stops them and their dependants.
pub fn unsupported_reason(spec: &NodeSpec) -> Option<&'static str> {
    match spec {
        NodeSpec::Package(_) => Some("packages are not installed by this cairn yet"),
        NodeSpec::Service(_) => Some("services are not managed by this cairn yet"),
        NodeSpec::Check(_)
        | NodeSpec::File(_)
        | NodeSpec::Command(_)
        | NodeSpec::Health(_)
        | NodeSpec::Image(_)
        | NodeSpec::Container(_) => None,
    }
}

/// Runs a node on its host. Returns a one-line summary of what was done.
pub fn execute(node: &Node, context: &mut NodeContext<'_>) -> Result<String, NodeError> {
    match &node.spec {
        NodeSpec::File(file) => file::apply(file, context),
        NodeSpec::Command(command) => command::apply(command, context),
        NodeSpec::Check(check) => probe_node::check(check, context),
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
            let tag = image::tag(&container.image, &image_id);
            let (host, control) = (context.host, context.control);
            container::apply(container, &tag, host, control, context)
        }
        other => Err(NodeError::Failed(
            unsupported_reason(other)
                .unwrap_or("not supported")
                .to_string(),
        )),
    }
}

/// Removes what an orphaned entry put on the host, then the entry itself.
pub fn remove_orphan(
    entry: &StateEntry,
    host: &str,
    transport: &dyn Transport,
    paths: &HostPaths,
) -> Result<String, NodeError> {
    let mut script = String::from("set -eu\n");
    let summary = match (&entry.path, entry.kind()) {
        (Some(path), cairn_lockfiles::NodeKind::File) => {
            script.push_str(&format!(
                "rm -f -- {}\n",
                crate::shell::quote(&paths.path(path))
            ));
            format!("removed {path}")
        }
        (_, cairn_lockfiles::NodeKind::Container) => {
            script.push_str(&container::remove_script(&entry.name.key, host, paths));
            format!("removed container {}", entry.name.key)
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
