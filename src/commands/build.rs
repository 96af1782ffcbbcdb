use std::fmt::Write as _;
use std::path::Path;

use cairn_images::artifact_store::ArtifactStore;
use cairn_images::distribution::registry_push::push_layout;
use cairn_images::image_builder::built_record::build_once;
use cairn_images::image_builder::image_repository;
use cairn_lockfiles::{ImageNode, Lockfile, NodeSpec};

use crate::cli::LayerCompression;
use crate::failure::Failure;
use crate::output::print;

pub fn run(
    lockfile_path: &Path,
    names: &[String],
    output: &Path,
    compression: Option<LayerCompression>,
    level: Option<i32>,
    push: Option<&str>,
) -> Result<(), Failure> {
    let lockfile = Lockfile::read(lockfile_path)?;
    // The lockfile's compression of each image, unless the command line names another
    // compressor (at its default level) or level.
    let override_name = compression.map(|compression| match compression {
        LayerCompression::Gzip => "gzip",
        LayerCompression::Zstd => "zstd",
    });
    let compression_of = |image: &ImageNode| -> Result<cairn_lockfiles::LayerCompression, Failure> {
        let recorded = image.compression;
        let name = override_name.unwrap_or(recorded.name());
        let level = match level {
            Some(level) => Some(i64::from(level)),
            None if name == recorded.name() => Some(recorded.level()),
            None => None,
        };
        cairn_lockfiles::LayerCompression::new(name, level).map_err(Failure::Input)
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
        let compression = compression_of(image)?;
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
            let repository = image_repository(&image.name);
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
