use std::fmt::Write as _;
use std::path::Path;

use cairn_images::artifact_store::ArtifactStore;
use cairn_images::image_builder::built_record::BuildSlot;
use cairn_images::{PublishSettings, Published, PushOutcome, build_and_push};
use cairn_lockfiles::{ImageNode, LayerCompression, Lockfile, Node, NodeSpec};

use crate::failure::Failure;
use crate::output::print;

/// What `cairn build` is asked for.
#[derive(Debug, Clone, Copy)]
pub struct BuildArguments<'a> {
    /// The images to build; every image when empty.
    pub names: &'a [String],
    pub output: &'a Path,
    /// `gzip` or `zstd`, instead of each image's recorded compressor.
    pub compression: Option<&'a str>,
    pub level: Option<i32>,
    /// The registry to push each image to.
    pub push: Option<&'a str>,
}

pub fn run(lockfile_path: &Path, arguments: &BuildArguments<'_>) -> Result<(), Failure> {
    let lockfile = Lockfile::read(lockfile_path)?;
    let images = selected_images(&lockfile, arguments.names)?;
    let store = ArtifactStore::default_location();
    let mut report = String::new();
    let mut failures = Vec::new();
    for (node, image) in images {
        let slot = BuildSlot::named(arguments.output, &image.name);
        let settings = PublishSettings {
            store: &store,
            slot: &slot,
            compression: compression_of(image, arguments)?,
            registry: arguments.push,
        };
        match build_and_push(image, &node.id, &settings) {
            Ok(published) => describe(
                &published,
                image,
                arguments.output,
                &mut report,
                &mut failures,
            ),
            Err(error) => failures.push(error.to_string()),
        }
    }
    print(&report)?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(failures.join("\n")))
    }
}

/// The lockfile's images `names` asks for (all where it names none), each named one checked.
fn selected_images<'a>(
    lockfile: &'a Lockfile,
    names: &[String],
) -> Result<Vec<(&'a Node, &'a ImageNode)>, Failure> {
    let images: Vec<_> = lockfile
        .nodes()
        .iter()
        .filter_map(|node| match &*node.spec {
            NodeSpec::Image(image) => Some((node, &**image)),
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
    Ok(images
        .into_iter()
        .filter(|(_, image)| names.is_empty() || names.contains(&image.name))
        .collect())
}

/// The lockfile's compression of `image`, unless the command line names another compressor
/// (at its default level) or level.
fn compression_of(
    image: &ImageNode,
    arguments: &BuildArguments<'_>,
) -> Result<LayerCompression, Failure> {
    let recorded = image.compression;
    let name = arguments.compression.unwrap_or(recorded.name());
    let level = match arguments.level {
        Some(level) => Some(i64::from(level)),
        None if name == recorded.name() => Some(recorded.level()),
        None => None,
    };
    LayerCompression::new(name, level).map_err(Failure::Input)
}

/// A line for the build, and one for the push; what failed, to `failures`.
fn describe(
    published: &Published,
    image: &ImageNode,
    output: &Path,
    report: &mut String,
    failures: &mut Vec<String>,
) {
    let built = &published.built;
    let folder = output.join(&image.name);
    let _ = if built.built_now {
        writeln!(
            report,
            "built {} in {}: manifest {}, {} layers",
            image.name,
            folder.display(),
            built.manifest_digest,
            built.layers.unwrap_or_default()
        )
    } else {
        writeln!(
            report,
            "unchanged {} in {}: manifest {}",
            image.name,
            folder.display(),
            built.manifest_digest
        )
    };
    match &published.push {
        None => {}
        Some(PushOutcome::Failed(error)) => failures.push(error.to_string()),
        Some(PushOutcome::Pushed {
            report: pushed,
            recorded,
        }) => {
            let _ = writeln!(
                report,
                "pushed {} as {}: {} blobs sent ({} bytes), {} already there",
                image.name,
                pushed.pullable,
                pushed.blobs_sent,
                pushed.bytes_sent,
                pushed.blobs_present
            );
            if let Err(error) = recorded {
                failures.push(format!(
                    "{} was pushed, but the push is not recorded in {}: {error}",
                    image.name,
                    output.display()
                ));
            }
        }
    }
}
