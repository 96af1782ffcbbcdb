//! An image node's image built once and pushed to a registry: what `cairn build` does for
//! each image it is asked for, and what apply's image nodes do on the control host.

use std::path::Path;

use cairn_lockfiles::{ImageNode, LayerCompression, NodeId};

use crate::artifact_store::ArtifactStore;
use crate::distribution::registry_push::{PushError, PushReport, push_layout};
use crate::image_builder::build::BuildError;
use crate::image_builder::built_record::{BuiltImage, build_once, record_push};
use crate::image_builder::image_repository;

/// Where an image is built, how, and where it is pushed.
#[derive(Debug, Clone, Copy)]
pub struct PublishSettings<'a> {
    /// The store its packages and artifacts come from (fetched into it where missing).
    pub store: &'a ArtifactStore,
    /// The folder of layouts: the image goes in `<output>/<name>`, its records beside.
    pub output: &'a Path,
    pub compression: LayerCompression,
    /// The registry (`host:port`) to push it to, if any.
    pub registry: Option<&'a str>,
}

/// What [`build_and_push`] did.
#[derive(Debug)]
pub struct Published {
    pub built: BuiltImage,
    /// `None` where no registry was named.
    pub push: Option<PushOutcome>,
}

/// How a push went.
#[derive(Debug)]
pub enum PushOutcome {
    /// The registry did not answer, or refused: nothing is recorded.
    Failed(PushError),
    /// Pushed. `recorded` says whether `<output>/<name>.pushed` now says so, which is how
    /// apply knows hosts can pull the image by digest.
    Pushed {
        report: PushReport,
        recorded: std::io::Result<()>,
    },
}

/// Builds `image` (node id `id`) unless the same build is in `settings.output` already
/// (`build_once`), then, with a registry, pushes the blobs it lacks as
/// `cairn/<name>:<id>` and records the push.
pub fn build_and_push(
    image: &ImageNode,
    id: &NodeId,
    settings: &PublishSettings<'_>,
) -> Result<Published, BuildError> {
    let built = build_once(
        image,
        id,
        settings.store,
        settings.output,
        settings.compression,
    )?;
    let push = settings.registry.map(|registry| {
        let repository = image_repository(&image.name);
        match push_layout(&built.layout, registry, &repository, &id.to_string()) {
            Err(error) => PushOutcome::Failed(error),
            Ok(report) => PushOutcome::Pushed {
                recorded: record_push(settings.output, &image.name, id, registry, &report.pullable),
                report,
            },
        }
    });
    Ok(Published { built, push })
}
