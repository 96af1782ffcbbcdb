//! An image node built by cairn: one layer per artifact (an unchanged download is the same
//! layer, byte for byte, whatever else changes), then the module's files as the top layer,
//! then the runtime config; written as an OCI layout.

use std::path::Path;

use cairn_lockfiles::{ArtifactPlacement, ImageNode, NodeId};

use crate::artifact_store::{self, ArtifactStore};
use crate::image_builder::layer::{Compression, EntryKind, Layer, LayerEntry};
use crate::image_builder::oci_layout::{RuntimeConfig, WrittenImage, write_layout};
use crate::kinds::image::tag;

/// The base an image built by cairn alone starts from: nothing.
pub const EMPTY_BASE: &str = "scratch";

/// Why an image could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "image `{image}` starts from `{base}` and installs packages; cairn's own builder makes images from pinned packages alone, which package pinning brings (until then `cairn apply` builds it with `docker build`)"
    )]
    NeedsPackages { image: String, base: String },
    #[error(transparent)]
    Artifact(#[from] artifact_store::ArtifactError),
    #[error("writing image `{image}` into {folder}: {error}")]
    Write {
        image: String,
        folder: String,
        error: std::io::Error,
    },
}

/// Builds `image` (node id `id`) into the OCI layout folder `folder`, its artifacts from
/// `store`; each member's mtime `mtime`.
pub fn build_image(
    image: &ImageNode,
    id: &NodeId,
    store: &ArtifactStore,
    folder: &Path,
    mtime: u64,
    compression: Compression,
) -> Result<WrittenImage, BuildError> {
    if image.base != EMPTY_BASE || !image.packages.is_empty() {
        return Err(BuildError::NeedsPackages {
            image: image.name.clone(),
            base: image.base.clone(),
        });
    }
    let write_error = |error: std::io::Error| BuildError::Write {
        image: image.name.clone(),
        folder: folder.display().to_string(),
        error,
    };
    let mut layers = Vec::new();
    for artifact in &image.artifacts {
        let (stored, _) = store.fetch(&artifact.url, &artifact.sha256)?;
        let unpacked = tempfile::tempdir().map_err(write_error)?;
        let placed = unpacked.path().join("artifact");
        artifact_store::place(artifact, &stored, &placed)?;
        let mut layer = Layer::new();
        match artifact.placement {
            ArtifactPlacement::File { mode } => layer.insert(
                &artifact.path,
                LayerEntry {
                    kind: EntryKind::File(std::fs::read(&placed).map_err(write_error)?),
                    mode,
                    uid: 0,
                    gid: 0,
                },
            ),
            ArtifactPlacement::Unpack { .. } => layer
                .insert_tree(&placed, &artifact.path)
                .map_err(write_error)?,
        }
        layers.push(layer.write(mtime, compression).map_err(write_error)?);
    }
    let mut top = Layer::new();
    for file in &image.files {
        top.insert(
            &file.path,
            LayerEntry {
                kind: EntryKind::File(file.content.as_str().as_bytes().to_vec()),
                mode: file.mode,
                uid: 0,
                gid: 0,
            },
        );
    }
    if !top.is_empty() {
        layers.push(top.write(mtime, compression).map_err(write_error)?);
    }
    let config = RuntimeConfig {
        entrypoint: image.entrypoint.clone(),
        cmd: image.cmd.clone(),
        env: image
            .env
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect(),
        user: image.user.clone(),
        workdir: image.workdir.clone(),
        exposed_ports: image.ports.clone(),
        volumes: image.volumes.clone(),
    };
    write_layout(folder, &tag(&image.name, id), &layers, &config).map_err(write_error)
}
