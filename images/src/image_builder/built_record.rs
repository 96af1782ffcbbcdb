//! Building an image once: what a finished build leaves beside its layout,
//! `<slot>.built`, is the image node's id and the compression, then the manifest's digest.
//! The id covers every input of the image, so the same id and compression is the same
//! image: building it again does no work. `cairn build` and `cairn apply` both build
//! through here: `cairn build -o DIR` into `DIR/<name>`, apply into the local image folder
//! ([`image_folder`]) by name and id (`<name>/<id>`, [`BuildSlot::for_apply`]), so that
//! lockfiles applied from one machine (two clusters, two releases of one) never overwrite
//! each other's builds, and the previous release's image is still there to roll back to.

use std::path::{Path, PathBuf};

use cairn_lockfiles::{ImageNode, LayerCompression, NodeId, write_atomically};

use crate::artifact_store::{ArtifactStore, cache_folder};
use crate::image_builder::build::{BuildError, build_image};
use crate::image_builder::image_tag;

/// Every member's mtime: the epoch. An image says nothing of when it was built.
pub const MTIME: u64 = 0;

/// Where apply keeps the layouts it builds: `$CAIRN_IMAGES`, else `cairn/images` in the
/// user's cache folder (beside the store).
pub fn image_folder() -> PathBuf {
    match std::env::var_os("CAIRN_IMAGES") {
        Some(folder) => PathBuf::from(folder),
        None => cache_folder().join("images"),
    }
}

/// Where one build lives: the layout `<folder>/<slot>`, its records `<folder>/<slot>.built`
/// and `<folder>/<slot>.pushed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSlot {
    folder: PathBuf,
    slot: String,
}

impl BuildSlot {
    /// `DIR/<name>`: `cairn build -o DIR`'s layout of image `name`.
    pub fn named(folder: &Path, name: &str) -> BuildSlot {
        BuildSlot {
            folder: folder.to_path_buf(),
            slot: name.to_string(),
        }
    }

    /// Apply's: `<image folder>/<name>/<id>`, one per id of the image.
    pub fn for_apply(name: &str, id: &NodeId) -> BuildSlot {
        BuildSlot {
            folder: image_folder().join(name),
            slot: id.to_string(),
        }
    }

    pub fn layout(&self) -> PathBuf {
        self.folder.join(&self.slot)
    }

    fn record(&self, extension: &str) -> PathBuf {
        self.folder.join(format!("{}.{extension}", self.slot))
    }
}

/// An image built into its slot, now or before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    pub layout: PathBuf,
    pub manifest_digest: String,
    /// Whether this call built it (false: an earlier build of the same id was whole).
    pub built_now: bool,
    /// Its layers, bottom first (only known when built now).
    pub layers: Option<usize>,
}

/// Builds `image` (node id `id`) into `slot` unless the same build is there, whole.
pub fn build_once(
    image: &ImageNode,
    id: &NodeId,
    store: &ArtifactStore,
    slot: &BuildSlot,
    compression: LayerCompression,
) -> Result<BuiltImage, BuildError> {
    let layout = slot.layout();
    let record = BuiltRecord::of(id, compression);
    if let Some(manifest_digest) = record.found_in(slot) {
        return Ok(BuiltImage {
            layout,
            manifest_digest,
            built_now: false,
            layers: None,
        });
    }
    let written = build_image(image, id, store, &layout, MTIME, compression)?;
    record
        .write(slot, &written.manifest_digest)
        .map_err(|error| BuildError::Write {
            image: image.name.clone(),
            folder: slot.folder.display().to_string(),
            error,
        })?;
    Ok(BuiltImage {
        layout,
        manifest_digest: written.manifest_digest,
        built_now: true,
        layers: Some(written.layer_digests.len()),
    })
}

/// The layout of an earlier build of `id` in `slot`, when it is there and whole, with any
/// compression.
pub fn built_layout(slot: &BuildSlot, id: &NodeId) -> Option<PathBuf> {
    let text = std::fs::read_to_string(slot.record("built")).ok()?;
    let (key, manifest) = text.trim_end().rsplit_once('\n')?;
    let id_text = id.to_string();
    (key.split_whitespace().next() == Some(id_text.as_str()) && BuiltRecord::whole(slot, manifest))
        .then(|| slot.layout())
}

/// The tags (`cairn/<name>:<id>`) of every whole build apply made in `folder` (its image
/// folder, `<name>/<id>`): the images apply finds built, as it finds those `docker build`
/// made in the control host's engine.
pub fn built_tags(folder: &Path) -> Vec<String> {
    let mut tags = Vec::new();
    for (name, slot) in apply_slots(folder, "built") {
        let Ok(text) = std::fs::read_to_string(slot.record("built")) else {
            continue;
        };
        if let Some((key, manifest)) = text.trim_end().rsplit_once('\n')
            && key.split_whitespace().next() == Some(slot.slot.as_str())
            && BuiltRecord::whole(&slot, manifest)
        {
            tags.push(image_tag(&name, &slot.slot));
        }
    }
    tags.sort();
    tags
}

/// Every slot of apply's image folder with a record of `extension`, with its image's name.
fn apply_slots(folder: &Path, extension: &str) -> Vec<(String, BuildSlot)> {
    let mut slots = Vec::new();
    let Ok(names) = std::fs::read_dir(folder) else {
        return slots;
    };
    for name in names.flatten().filter(|entry| entry.path().is_dir()) {
        let image = name.file_name().to_string_lossy().into_owned();
        let Ok(records) = std::fs::read_dir(name.path()) else {
            continue;
        };
        for record in records.flatten() {
            let file_name = record.file_name().to_string_lossy().into_owned();
            if let Some(id) = file_name.strip_suffix(&format!(".{extension}")) {
                slots.push((
                    image.clone(),
                    BuildSlot {
                        folder: name.path(),
                        slot: id.to_string(),
                    },
                ));
            }
        }
    }
    slots
}

/// Records that the build of `id` in `slot` was pushed to `registry` as `pullable`
/// (`registry/cairn/<name>@sha256:...`): `<slot>.pushed`, one line per registry.
pub fn record_push(
    slot: &BuildSlot,
    id: &NodeId,
    registry: &str,
    pullable: &str,
) -> std::io::Result<()> {
    let path = slot.record("pushed");
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.split_whitespace().nth(1) != Some(registry))
        .map(str::to_string)
        .collect();
    lines.push(format!("{id} {registry} {pullable}"));
    lines.sort();
    write_atomically(&path, format!("{}\n", lines.join("\n")).as_bytes()).map(|_| ())
}

/// What a host pulls the build of `id` by from `registry`, if it was pushed there.
pub fn pushed_as(slot: &BuildSlot, id: &NodeId, registry: &str) -> Option<String> {
    let text = std::fs::read_to_string(slot.record("pushed")).ok()?;
    let id_text = id.to_string();
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some(id_text.as_str()) && words.next() == Some(registry))
            .then(|| words.next().map(str::to_string))
            .flatten()
    })
}

/// Every push apply recorded in `folder` (its image folder): (`cairn/<name>:<id>`, the
/// registry).
pub fn pushed_tags(folder: &Path) -> Vec<(String, String)> {
    let mut pushed = Vec::new();
    for (name, slot) in apply_slots(folder, "pushed") {
        let text = std::fs::read_to_string(slot.record("pushed")).unwrap_or_default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if let (Some(id), Some(registry)) = (words.next(), words.next()) {
                pushed.push((image_tag(&name, &id), registry.to_string()));
            }
        }
    }
    pushed.sort();
    pushed
}

struct BuiltRecord {
    key: String,
}

impl BuiltRecord {
    fn of(id: &NodeId, compression: LayerCompression) -> Self {
        Self {
            key: format!("{id} {compression:?}"),
        }
    }

    /// Whether the layout holds the manifest `manifest` and Docker's `manifest.json`.
    fn whole(slot: &BuildSlot, manifest: &str) -> bool {
        let Some(hex) = manifest.strip_prefix("sha256:") else {
            return false;
        };
        let layout = slot.layout();
        layout.join("blobs/sha256").join(hex).is_file() && layout.join("manifest.json").is_file()
    }

    /// The manifest digest of the same build, when it is there and its layout whole.
    fn found_in(&self, slot: &BuildSlot) -> Option<String> {
        let text = std::fs::read_to_string(slot.record("built")).ok()?;
        let (key, manifest) = text.trim_end().rsplit_once('\n')?;
        (key == self.key && Self::whole(slot, manifest)).then(|| manifest.to_string())
    }

    fn write(&self, slot: &BuildSlot, manifest: &str) -> std::io::Result<()> {
        write_atomically(
            &slot.record("built"),
            format!("{}\n{manifest}\n", self.key).as_bytes(),
        )
        .map(|_| ())
    }
}
