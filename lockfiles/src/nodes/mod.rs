//! The typed inputs of each node kind.
//!
//! Every kind has the same three faces: its Rust struct (what the executor reads), its
//! `inputs()` (the ordered fields that are hashed and written), and `from_fields()` (the
//! inverse, used by both the compiler on rendered module nodes and the lockfile reader).
//! Optional fields at their default are left out of `inputs()`, so adding a field with a
//! default does not change existing ids.

mod barrier;
mod check;
mod command;
mod container;
pub(crate) mod fields;
mod file;
mod health;
mod host_package_pins;
mod image;
mod image_artifact;
mod image_healthcheck;
mod image_setup;
mod layer_compression;
mod package;
mod package_pin;
mod package_requirement;
mod pin_set;
mod probe;
mod repository;
mod service;
mod written_path;

use std::collections::BTreeSet;

pub use barrier::BarrierNode;
pub use check::CheckNode;
pub use command::CommandNode;
pub use container::{ContainerNode, EnvValue};
pub use fields::{FieldError, FieldReader, TextSource};
pub use file::FileNode;
pub use health::HealthNode;
pub use host_package_pins::HostPackagePins;
pub use image::{ImageFile, ImageNode, ImagePins};
pub use image_artifact::{ArtifactPlacement, ImageArtifact};
pub use image_healthcheck::ImageHealthcheck;
pub use image_setup::{ImageDirectory, ImageLink, ImageSetup, ImageUser};
pub use layer_compression::LayerCompression;
pub use package::PackageNode;
pub use package_pin::PackagePin;
pub use package_requirement::PackageRequirement;
pub use pin_set::{PinSet, PinSetHash, PinSets};
pub use probe::Probe;
pub use repository::RepositoryNode;
pub use service::{ServiceNode, ServiceState};

use crate::content::Text;
use crate::node_kind::NodeKind;
use crate::secret::secret_placeholders_in;
use crate::value::Value;

/// A node's typed inputs, one variant per [`NodeKind`]. The two large kinds are boxed: a
/// lockfile of ten thousand hosts holds half a million specs, most of them small, and
/// each would otherwise take the room of the largest (an image's, over 400 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeSpec {
    Check(CheckNode),
    Barrier(BarrierNode),
    Repository(RepositoryNode),
    Package(PackageNode),
    File(FileNode),
    Command(CommandNode),
    Service(ServiceNode),
    Image(Box<ImageNode>),
    Container(Box<ContainerNode>),
    Health(HealthNode),
}

impl NodeSpec {
    pub fn kind(&self) -> NodeKind {
        match self {
            NodeSpec::Check(_) => NodeKind::Check,
            NodeSpec::Barrier(_) => NodeKind::Barrier,
            NodeSpec::Repository(_) => NodeKind::Repository,
            NodeSpec::Package(_) => NodeKind::Package,
            NodeSpec::File(_) => NodeKind::File,
            NodeSpec::Command(_) => NodeKind::Command,
            NodeSpec::Service(_) => NodeKind::Service,
            NodeSpec::Image(_) => NodeKind::Image,
            NodeSpec::Container(_) => NodeKind::Container,
            NodeSpec::Health(_) => NodeKind::Health,
        }
    }

    /// The key of the node's name: a file's path, a container's name, and so on.
    pub fn key(&self) -> &str {
        match self {
            NodeSpec::Check(node) => &node.name,
            NodeSpec::Barrier(node) => &node.name,
            NodeSpec::Repository(node) => &node.path,
            NodeSpec::Package(node) => &node.name,
            NodeSpec::File(node) => &node.path,
            NodeSpec::Command(node) => &node.name,
            NodeSpec::Service(node) => &node.unit,
            NodeSpec::Image(node) => &node.name,
            NodeSpec::Container(node) => &node.name,
            NodeSpec::Health(node) => &node.name,
        }
    }

    /// The field that holds the key, which `from_fields` reads like any other.
    pub fn key_field(kind: NodeKind) -> &'static str {
        match kind {
            NodeKind::File | NodeKind::Repository => "path",
            NodeKind::Service => "unit",
            _ => "name",
        }
    }

    /// The fields that are hashed and written, in the order they are written.
    pub fn inputs(&self) -> Vec<(&'static str, Value)> {
        match self {
            NodeSpec::Check(node) => node.inputs(),
            NodeSpec::Barrier(node) => node.inputs(),
            NodeSpec::Repository(node) => node.inputs(),
            NodeSpec::Package(node) => node.inputs(),
            NodeSpec::File(node) => node.inputs(),
            NodeSpec::Command(node) => node.inputs(),
            NodeSpec::Service(node) => node.inputs(),
            NodeSpec::Image(node) => node.inputs(),
            NodeSpec::Container(node) => node.inputs(),
            NodeSpec::Health(node) => node.inputs(),
        }
    }

    /// The fields the lockfile writes, in order: [`NodeSpec::inputs`], but a pinned package
    /// node's pin set named by hash (written once, in its `[package_pins.HASH]` table).
    pub(crate) fn written_fields(&self) -> Vec<(&'static str, Value)> {
        match self {
            NodeSpec::Package(node) => node.written_fields(),
            other => other.inputs(),
        }
    }

    /// The pin set a pinned package node holds.
    pub fn pin_set(&self) -> Option<&PinSet> {
        match self {
            NodeSpec::Package(node) => node.pins.as_ref(),
            _ => None,
        }
    }

    /// Builds a node of `kind` from its fields, refusing missing, mistyped and unknown ones.
    pub fn from_fields(kind: NodeKind, mut fields: FieldReader<'_>) -> Result<Self, FieldError> {
        let spec = match kind {
            NodeKind::Check => NodeSpec::Check(CheckNode::from_fields(&mut fields)?),
            NodeKind::Barrier => NodeSpec::Barrier(BarrierNode::from_fields(&mut fields)?),
            NodeKind::Repository => NodeSpec::Repository(RepositoryNode::from_fields(&mut fields)?),
            NodeKind::Package => NodeSpec::Package(PackageNode::from_fields(&mut fields)?),
            NodeKind::File => NodeSpec::File(FileNode::from_fields(&mut fields)?),
            NodeKind::Command => NodeSpec::Command(CommandNode::from_fields(&mut fields)?),
            NodeKind::Service => NodeSpec::Service(ServiceNode::from_fields(&mut fields)?),
            NodeKind::Image => NodeSpec::Image(Box::new(ImageNode::from_fields(&mut fields)?)),
            NodeKind::Container => {
                NodeSpec::Container(Box::new(ContainerNode::from_fields(&mut fields)?))
            }
            NodeKind::Health => NodeSpec::Health(HealthNode::from_fields(&mut fields)?),
        };
        fields.finish()?;
        Ok(spec)
    }

    /// Every text the node holds (written once each to the content table).
    pub fn texts(&self) -> Vec<Text> {
        let mut texts = Vec::new();
        Self::texts_in(&self.inputs(), &mut |text| texts.push(text.clone()));
        texts
    }

    /// [`NodeSpec::texts`] of inputs already built, to build them once.
    pub(crate) fn texts_in(inputs: &[(&'static str, Value)], on_text: &mut impl FnMut(&Text)) {
        for (_, value) in inputs {
            visit_texts(value, on_text);
        }
    }

    /// The names of the secrets the node uses: placeholders in its texts and secret values in
    /// its fields.
    pub fn secrets(&self) -> BTreeSet<String> {
        Self::secrets_in(&self.inputs())
    }

    /// [`NodeSpec::secrets`] of inputs already built, to build them once.
    pub(crate) fn secrets_in(inputs: &[(&'static str, Value)]) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for (_, value) in inputs {
            collect_secrets(value, &mut names);
        }
        names
    }
}

fn visit_texts(value: &Value, on_text: &mut impl FnMut(&Text)) {
    match value {
        Value::Text(text) => on_text(text),
        Value::List(items) => items.iter().for_each(|item| visit_texts(item, on_text)),
        Value::Table(entries) => entries.values().for_each(|item| visit_texts(item, on_text)),
        _ => {}
    }
}

fn collect_secrets(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Secret(name) => {
            out.insert(name.clone());
        }
        Value::Text(text) => out.extend(text.secret_names().iter().cloned()),
        Value::String(text) => out.extend(secret_placeholders_in(text)),
        Value::List(items) => items.iter().for_each(|item| collect_secrets(item, out)),
        Value::Table(entries) => entries.values().for_each(|item| collect_secrets(item, out)),
        Value::Integer(_) | Value::Bool(_) => {}
    }
}
