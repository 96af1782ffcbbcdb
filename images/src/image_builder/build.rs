//! An image node built by cairn, bottom to top: its pinned packages grouped into layers
//! (a package's layer changes only when a package of its group does), the setup layer
//! (what maintainer scripts would have made), one layer per artifact (an unchanged download
//! is the same layer, byte for byte, whatever else changes), then the module's files; then
//! the runtime config; written as an OCI layout.

use std::collections::BTreeMap;
use std::path::Path;

use cairn_debian::{DebianPackage, EntryKind, FileEntry, PackageError, read_debian_package};
use cairn_lockfiles::{
    ArtifactPlacement, ImageArtifact, ImageNode, LayerCompression, NodeId, PackagePin,
};

use crate::artifact_store::{self, ArtifactStore};
use crate::image_builder::image_tag;
use crate::image_builder::layer::{Layer, LayerBlob};
use crate::image_builder::maintainer_scripts::{InstalledPackage, SetupError, setup_layer};
use crate::image_builder::oci_layout::{RuntimeConfig, WrittenImage, write_layout};
use crate::work_queue::{cores, map_in_parallel};

/// The base an image built by cairn alone starts from: nothing.
pub const EMPTY_BASE: &str = "scratch";

/// How many layers an image's packages are grouped into, at most: Docker's overlay
/// storage takes 128 layers in all, and each layer costs a little at every container
/// start. A package's group is a hash of its name, so it stays in the same group whatever
/// other packages come and go.
pub const PACKAGE_LAYERS: u8 = 32;

/// Why an image could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "image `{image}` installs packages that are not pinned, from the base `{base}`; cairn's own builder makes images from pinned packages alone: name the package sources in `sources` of [packages] and compile again, which pins them"
    )]
    NeedsPins { image: String, base: String },
    #[error("image `{image}`: {error}")]
    Package { image: String, error: PackageError },
    #[error(
        "image `{image}`: packages {first} and {second} both ship `/{path}`, with different contents"
    )]
    Conflict {
        image: String,
        path: String,
        first: String,
        second: String,
    },
    #[error("image `{image}`: {error}")]
    Setup { image: String, error: SetupError },
    #[error(transparent)]
    Artifact(#[from] artifact_store::ArtifactError),
    #[error("writing image `{image}` into {folder}: {error}")]
    Write {
        image: String,
        folder: String,
        error: std::io::Error,
    },
}

/// Whether cairn's builder makes this image: its packages pinned, or none on an empty base.
pub fn builds_itself(image: &ImageNode) -> bool {
    image.pins.is_some() || (image.base == EMPTY_BASE && image.packages.is_empty())
}

/// Builds `image` (node id `id`) into the OCI layout folder `folder`, its artifacts from
/// `store`; each member's mtime `mtime`.
pub fn build_image(
    image: &ImageNode,
    id: &NodeId,
    store: &ArtifactStore,
    folder: &Path,
    mtime: u64,
    compression: LayerCompression,
) -> Result<WrittenImage, BuildError> {
    let pins = pinned_packages(image)?;
    let build = ImageBuild {
        image,
        folder,
        mtime,
        compression,
    };
    let packages = build.read_packages(pins, store)?;
    let mut layers = package_layers(&image.name, &packages, mtime, compression)?;
    layers.extend(build.write_setup_layer(&packages)?);
    for artifact in &image.artifacts {
        layers.push(build.write_artifact_layer(artifact, store)?);
    }
    layers.extend(build.write_files_layer()?);
    write_layout(
        folder,
        &image_tag(&image.name, id),
        &layers,
        &runtime_config(image),
    )
    .map_err(|error| build.write_error(error))
}

/// The packages `image` is built from: its pins, or none for an empty base with no
/// packages; packages requested but not pinned are refused, since cairn's builder makes
/// images from pinned packages alone.
fn pinned_packages(image: &ImageNode) -> Result<&[PackagePin], BuildError> {
    match &image.pins {
        Some(pins) => Ok(pins.packages.as_slice()),
        None if image.base == EMPTY_BASE && image.packages.is_empty() => Ok(&[]),
        None => Err(BuildError::NeedsPins {
            image: image.name.clone(),
            base: image.base.clone(),
        }),
    }
}

/// One image's build under way: what each of its steps shares, to name the image and its
/// folder in an error and to write every layer with the same mtime and compression.
struct ImageBuild<'build> {
    image: &'build ImageNode,
    folder: &'build Path,
    mtime: u64,
    compression: LayerCompression,
}

impl ImageBuild<'_> {
    /// The error for a file that could not be read or written while building the image.
    fn write_error(&self, error: std::io::Error) -> BuildError {
        BuildError::Write {
            image: self.image.name.clone(),
            folder: self.folder.display().to_string(),
            error,
        }
    }

    /// Writes `layer` as a compressed blob.
    fn write_layer(&self, layer: &Layer) -> Result<LayerBlob, BuildError> {
        layer
            .write(self.mtime, self.compression)
            .map_err(|error| self.write_error(error))
    }

    /// Fetches and unpacks each pinned package, named by its pin, in the pins' order.
    /// Unpacking (xz, mostly) is most of a package image's time: the pins share the
    /// cores.
    fn read_packages<'pins>(
        &self,
        pins: &'pins [PackagePin],
        store: &ArtifactStore,
    ) -> Result<Vec<(&'pins str, DebianPackage)>, BuildError> {
        let read_pin = |pin: &PackagePin| -> Result<DebianPackage, BuildError> {
            let (stored, _) = store.fetch(&pin.url, &pin.sha256)?;
            let bytes = std::fs::read(&stored).map_err(|error| self.write_error(error))?;
            read_debian_package(&bytes, &pin.name).map_err(|error| BuildError::Package {
                image: self.image.name.clone(),
                error,
            })
        };
        let read = map_in_parallel(pins, cores(), read_pin);
        let mut packages = Vec::with_capacity(pins.len());
        for (pin, package) in pins.iter().zip(read) {
            packages.push((pin.name.as_str(), package?));
        }
        Ok(packages)
    }

    /// The setup layer (what the packages' maintainer scripts would have made, and what
    /// the image declares instead), written; none when it would be empty.
    fn write_setup_layer(
        &self,
        packages: &[(&str, DebianPackage)],
    ) -> Result<Option<LayerBlob>, BuildError> {
        let installed: Vec<InstalledPackage<'_>> = packages
            .iter()
            .map(|(name, package)| InstalledPackage {
                name,
                control: &package.control,
                paths: package
                    .members
                    .iter()
                    .map(|(path, _)| path.as_str())
                    .collect(),
            })
            .collect();
        let shipped: BTreeMap<&str, &[u8]> = packages
            .iter()
            .flat_map(|(_, package)| &package.members)
            .filter_map(|(path, entry)| match &entry.kind {
                EntryKind::File(content) => Some((path.as_str(), content.as_slice())),
                _ => None,
            })
            .collect();
        let setup = setup_layer(&installed, &self.image.setup, |path| {
            shipped.get(path).copied()
        })
        .map_err(|error| BuildError::Setup {
            image: self.image.name.clone(),
            error,
        })?;
        if setup.is_empty() {
            return Ok(None);
        }
        self.write_layer(&setup).map(Some)
    }

    /// The layer of one artifact, fetched from `store` and placed (as a file, or
    /// unpacked) in a folder of its own first, so the layer holds it alone: an unchanged
    /// download is the same layer whatever else changes.
    fn write_artifact_layer(
        &self,
        artifact: &ImageArtifact,
        store: &ArtifactStore,
    ) -> Result<LayerBlob, BuildError> {
        let (stored, _) = store.fetch(&artifact.url, &artifact.sha256)?;
        let unpacked = tempfile::tempdir().map_err(|error| self.write_error(error))?;
        let placed = unpacked.path().join("artifact");
        artifact_store::place(artifact, &stored, &placed)?;
        let mut layer = Layer::new();
        match artifact.placement {
            ArtifactPlacement::File { mode } => layer.insert(
                &artifact.path,
                FileEntry {
                    kind: EntryKind::File(
                        std::fs::read(&placed).map_err(|error| self.write_error(error))?,
                    ),
                    mode,
                    uid: 0,
                    gid: 0,
                },
            ),
            ArtifactPlacement::Unpack { .. } => layer
                .insert_tree(&placed, &artifact.path)
                .map_err(|error| self.write_error(error))?,
        }
        self.write_layer(&layer)
    }

    /// The top layer: the module's files, owned by root; none when the image has no
    /// files.
    fn write_files_layer(&self) -> Result<Option<LayerBlob>, BuildError> {
        let mut top = Layer::new();
        for file in &self.image.files {
            top.insert(
                &file.path,
                FileEntry {
                    kind: EntryKind::File(file.content.as_str().as_bytes().to_vec()),
                    mode: file.mode,
                    uid: 0,
                    gid: 0,
                },
            );
        }
        if top.is_empty() {
            return Ok(None);
        }
        self.write_layer(&top).map(Some)
    }
}

/// The image's runtime config, from its node: what `docker run` starts and how, and the
/// architecture its packages were pinned for (`amd64` when none were).
fn runtime_config(image: &ImageNode) -> RuntimeConfig {
    RuntimeConfig {
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
        healthcheck: image.healthcheck.as_deref().cloned(),
        architecture: oci_architecture(
            image
                .pins
                .as_ref()
                .map_or("amd64", |pins| pins.architecture.as_str()),
        ),
    }
}

/// The packages' files, grouped into at most [`PACKAGE_LAYERS`] layers by a hash of each
/// package's name. Two packages may ship the same path only with the same content (a
/// directory, or the same file): anything else is a conflict dpkg would settle by
/// `Replaces`, which the builder refuses to guess.
fn package_layers(
    image: &str,
    packages: &[(&str, DebianPackage)],
    mtime: u64,
    compression: LayerCompression,
) -> Result<Vec<LayerBlob>, BuildError> {
    let mut groups: BTreeMap<u8, Layer> = BTreeMap::new();
    let mut shipped_by: BTreeMap<&str, (&str, &FileEntry)> = BTreeMap::new();
    for (name, package) in packages {
        let group = blake3::hash(name.as_bytes()).as_bytes()[0] % PACKAGE_LAYERS;
        let layer = groups.entry(group).or_default();
        for (path, entry) in &package.members {
            if let Some((first, earlier)) = shipped_by.insert(path, (name, entry))
                && first != *name
                && !same_content(earlier, entry)
            {
                return Err(BuildError::Conflict {
                    image: image.to_string(),
                    path: path.clone(),
                    first: first.to_string(),
                    second: name.to_string(),
                });
            }
            layer.insert(path, entry.clone());
        }
    }
    // Compressing is nearly all of the time: the groups share the cores.
    let groups: Vec<Layer> = groups.into_values().collect();
    map_in_parallel(&groups, cores(), |layer| layer.write(mtime, compression))
        .into_iter()
        .map(|blob| {
            blob.map_err(|error| BuildError::Write {
                image: image.to_string(),
                folder: "memory".to_string(),
                error,
            })
        })
        .collect()
}

/// Whether two packages' entries at one path agree: both folders, or the same file or
/// link.
fn same_content(first: &FileEntry, second: &FileEntry) -> bool {
    match (&first.kind, &second.kind) {
        (EntryKind::Directory, EntryKind::Directory) => true,
        (first_kind, second_kind) => first_kind == second_kind && first.mode == second.mode,
    }
}

/// The OCI (Go) name of a Debian architecture: what the image config says it runs on.
fn oci_architecture(debian: &str) -> String {
    match debian {
        "i386" => "386",
        "armhf" | "armel" => "arm",
        "ppc64el" => "ppc64le",
        "mips64el" => "mips64le",
        other => other,
    }
    .to_string()
}
