use std::fmt::Write as _;
use std::path::Path;

use cairn_executor::artifact_store::ArtifactStore;
use cairn_executor::distribution::registry_push::push_layout;
use cairn_executor::image_builder::built_record::build_once;
use cairn_executor::image_builder::layer::Compression;
use cairn_lockfiles::{Lockfile, NodeSpec};

use crate::cli::LayerCompression;
use crate::failure::Failure;
use crate::output::print;

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
        let built = match build_once(image, &node.id, &store, output, compression) {
            Ok(built) if !built.built_now => {
                let _ = writeln!(
                    report,
                    "unchanged {} in {}: manifest {}",
                    image.name,
                    folder.display(),
                    built.manifest_digest
                );
                true
            }
            Ok(built) => {
                let _ = writeln!(
                    report,
                    "built {} in {}: manifest {}, {} layers",
                    image.name,
                    folder.display(),
                    built.manifest_digest,
                    built.layers.unwrap_or_default()
                );
                true
            }
            Err(error) => {
                failures.push(error.to_string());
                false
            }
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
