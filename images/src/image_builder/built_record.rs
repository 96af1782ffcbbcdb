//! Building an image once: what a finished build leaves beside its layout,
//! `DIR/<name>.built`, is the image node's id and the compression, then the manifest's
//! digest. The id covers every input of the image, so the same id and compression is the
//! same image: building it again does no work. `cairn build` and `cairn apply` both build
//! through here, apply into the local image folder ([`image_folder`]).

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

/// An image built into `DIR/<name>`, now or before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    pub layout: PathBuf,
    pub manifest_digest: String,
    /// Whether this call built it (false: an earlier build of the same id was whole).
    pub built_now: bool,
    /// Its layers, bottom first (only known when built now).
    pub layers: Option<usize>,
}

/// Builds `image` (node id `id`) into `output/<name>` unless the same build is there,
/// whole.
pub fn build_once(
    image: &ImageNode,
    id: &NodeId,
    store: &ArtifactStore,
    output: &Path,
    compression: LayerCompression,
) -> Result<BuiltImage, BuildError> {
    let layout = output.join(&image.name);
    let record = BuiltRecord::of(id, compression);
    if let Some(manifest_digest) = record.found_in(output, &image.name) {
        return Ok(BuiltImage {
            layout,
            manifest_digest,
            built_now: false,
            layers: None,
        });
    }
    let written = build_image(image, id, store, &layout, MTIME, compression)?;
    record
        .write(output, &image.name, &written.manifest_digest)
        .map_err(|error| BuildError::Write {
            image: image.name.clone(),
            folder: output.display().to_string(),
            error,
        })?;
    Ok(BuiltImage {
        layout,
        manifest_digest: written.manifest_digest,
        built_now: true,
        layers: Some(written.layer_digests.len()),
    })
}

/// The layout of an earlier build of `id` in `output`, when it is there and whole, with
/// any compression.
pub fn built_layout(output: &Path, name: &str, id: &NodeId) -> Option<PathBuf> {
    let text = std::fs::read_to_string(BuiltRecord::path(output, name)).ok()?;
    let (key, manifest) = text.trim_end().rsplit_once('\n')?;
    let id_text = id.to_string();
    (key.split_whitespace().next() == Some(id_text.as_str())
        && BuiltRecord::whole(output, name, manifest))
    .then(|| output.join(name))
}

/// The tags (`cairn/<name>:<id>`) of every whole build in `output`: the images apply
/// finds built, as it finds those `docker build` made in the control host's engine.
pub fn built_tags(output: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(output) else {
        return Vec::new();
    };
    let mut tags = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = file_name.strip_suffix(".built") else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        if let Some((key, manifest)) = text.trim_end().rsplit_once('\n')
            && let Some(id) = key.split_whitespace().next()
            && BuiltRecord::whole(output, name, manifest)
        {
            tags.push(image_tag(name, &id));
        }
    }
    tags.sort();
    tags
}

/// Records that the build of `id` in `output` was pushed to `registry` as
/// `pullable` (`registry/cairn/<name>@sha256:...`): `DIR/<name>.pushed`, one line per
/// registry.
pub fn record_push(
    output: &Path,
    name: &str,
    id: &NodeId,
    registry: &str,
    pullable: &str,
) -> std::io::Result<()> {
    let path = output.join(format!("{name}.pushed"));
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
pub fn pushed_as(output: &Path, name: &str, id: &NodeId, registry: &str) -> Option<String> {
    let text = std::fs::read_to_string(output.join(format!("{name}.pushed"))).ok()?;
    let id_text = id.to_string();
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some(id_text.as_str()) && words.next() == Some(registry))
            .then(|| words.next().map(str::to_string))
            .flatten()
    })
}

/// Every push recorded in `output`: (`cairn/<name>:<id>`, the registry).
pub fn pushed_tags(output: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(output) else {
        return Vec::new();
    };
    let mut pushed = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = file_name.strip_suffix(".pushed") else {
            continue;
        };
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if let (Some(id), Some(registry)) = (words.next(), words.next()) {
                pushed.push((image_tag(name, &id), registry.to_string()));
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

    fn path(output: &Path, name: &str) -> PathBuf {
        output.join(format!("{name}.built"))
    }

    /// Whether the layout holds the manifest `manifest` and Docker's `manifest.json`.
    fn whole(output: &Path, name: &str, manifest: &str) -> bool {
        let Some(hex) = manifest.strip_prefix("sha256:") else {
            return false;
        };
        let layout = output.join(name);
        layout.join("blobs/sha256").join(hex).is_file() && layout.join("manifest.json").is_file()
    }

    /// The manifest digest of the same build, when it is there and its layout whole.
    fn found_in(&self, output: &Path, name: &str) -> Option<String> {
        let text = std::fs::read_to_string(Self::path(output, name)).ok()?;
        let (key, manifest) = text.trim_end().rsplit_once('\n')?;
        (key == self.key && Self::whole(output, name, manifest)).then(|| manifest.to_string())
    }

    fn write(&self, output: &Path, name: &str, manifest: &str) -> std::io::Result<()> {
        write_atomically(
            &Self::path(output, name),
            format!("{}\n{manifest}\n", self.key).as_bytes(),
        )
        .map(|_| ())
    }
}
