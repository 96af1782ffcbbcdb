use std::fmt::Write as _;
use std::path::Path;

use cairn_executor::artifact_store::ArtifactStore;
use cairn_executor::distribution::registry_push::push_layout;
use cairn_executor::image_builder::build::build_image;
use cairn_executor::image_builder::layer::Compression;
use cairn_lockfiles::{Lockfile, NodeSpec};

use crate::cli::LayerCompression;
use crate::failure::Failure;
use crate::output::print;

/// Every member's mtime: the epoch. An image says nothing of when it was built.
const MTIME: u64 = 0;

pub fn run(
    lockfile_path: &Path,
    names: &[String],
    output: &Path,
    compression: LayerCompression,
    level: Option<i32>,
    push: Option<&str>,
) -> Result<(), Failure> {
    let lockfile = Lockfile::read(lockfile_path)?;
    let compression = match (compression, level) {
        (LayerCompression::Gzip, level) => {
            let level = level.unwrap_or(6);
            if !(0..=9).contains(&level) {
                return Err(Failure::Input(format!(
                    "gzip's level is 0 to 9, not {level}"
                )));
            }
            Compression::Gzip {
                level: level as u32,
            }
        }
        (LayerCompression::Zstd, level) => {
            let level = level.unwrap_or(3);
            if !(1..=22).contains(&level) {
                return Err(Failure::Input(format!(
                    "zstd's level is 1 to 22, not {level}"
                )));
            }
            Compression::Zstd { level }
        }
    };
    let images: Vec<_> = lockfile
        .nodes()
        .iter()
        .filter_map(|node| match &node.spec {
            NodeSpec::Image(image) => Some((node, image)),
            _ => None,
        })
        .collect();
    for name in names {
        if !images.iter().any(|(_, image)| &image.name == name) {
            let known: Vec<&str> = images
                .iter()
                .map(|(_, image)| image.name.as_str())
                .collect();
            return Err(Failure::Input(format!(
                "the lockfile has no image `{name}`; it has {}",
                known.join(", ")
            )));
        }
    }
    let store = ArtifactStore::default_location();
    let mut report = String::new();
    let mut failures = Vec::new();
    for (node, image) in images
        .into_iter()
        .filter(|(_, image)| names.is_empty() || names.contains(&image.name))
    {
        let folder = output.join(&image.name);
        let record = BuiltRecord::of(&node.id, compression);
        let built = match record.found_in(output, &image.name) {
            Some(manifest) => {
                let _ = writeln!(
                    report,
                    "unchanged {} in {}: manifest {manifest}",
                    image.name,
                    folder.display()
                );
                true
            }
            None => match build_image(image, &node.id, &store, &folder, MTIME, compression) {
                Ok(written) => {
                    record
                        .write(output, &image.name, &written.manifest_digest)
                        .map_err(|error| {
                            Failure::Failed(format!(
                                "recording the build of {}: {error}",
                                image.name
                            ))
                        })?;
                    let _ = writeln!(
                        report,
                        "built {} in {}: manifest {}, {} layers",
                        image.name,
                        folder.display(),
                        written.manifest_digest,
                        written.layer_digests.len()
                    );
                    true
                }
                Err(error) => {
                    failures.push(error.to_string());
                    false
                }
            },
        };
        if let (true, Some(registry)) = (built, push) {
            let repository = format!("cairn/{}", image.name);
            match push_layout(&folder, registry, &repository, &node.id.to_string()) {
                Ok(pushed) => {
                    let _ = writeln!(
                        report,
                        "pushed {} as {}: {} blobs sent ({} bytes), {} already there",
                        image.name,
                        pushed.pullable,
                        pushed.blobs_sent,
                        pushed.bytes_sent,
                        pushed.blobs_present
                    );
                }
                Err(error) => failures.push(error.to_string()),
            }
        }
    }
    print(&report)?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(failures.join("\n")))
    }
}

/// What a finished build left beside its layout, `DIR/<name>.built`: the image node's id
/// and the compression, then the manifest's digest. The id covers every input of the
/// image, so the same id and compression is the same image: rebuilding it does no work.
struct BuiltRecord {
    key: String,
}

impl BuiltRecord {
    fn of(id: &cairn_lockfiles::NodeId, compression: Compression) -> Self {
        Self {
            key: format!("{id} {compression:?}"),
        }
    }

    fn path(output: &Path, name: &str) -> std::path::PathBuf {
        output.join(format!("{name}.built"))
    }

    /// The manifest digest of the same build, when it is there and its layout whole.
    fn found_in(&self, output: &Path, name: &str) -> Option<String> {
        let text = std::fs::read_to_string(Self::path(output, name)).ok()?;
        let (key, manifest) = text.trim_end().rsplit_once('\n')?;
        let blob = output
            .join(name)
            .join("blobs/sha256")
            .join(manifest.strip_prefix("sha256:")?);
        (key == self.key && blob.is_file() && output.join(name).join("manifest.json").is_file())
            .then(|| manifest.to_string())
    }

    fn write(&self, output: &Path, name: &str, manifest: &str) -> std::io::Result<()> {
        std::fs::write(
            Self::path(output, name),
            format!("{}\n{manifest}\n", self.key),
        )
    }
}
