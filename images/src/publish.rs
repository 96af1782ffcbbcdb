//! An image node's image built once and pushed to a registry: what `cairn build` does for
//! each image it is asked for, and what apply's image nodes do on the control host.

use cairn_lockfiles::{ImageNode, LayerCompression, NodeId};

use crate::artifact_store::ArtifactStore;
use crate::distribution::registry_push::{PushError, PushReport, push_layout};
use crate::image_builder::build::BuildError;
use crate::image_builder::built_record::{
    BuildSlot, BuiltImage, build_once, pushed_as, record_push,
};
use crate::image_builder::image_repository;

/// Where an image is built, how, and where it is pushed.
#[derive(Debug, Clone, Copy)]
pub struct PublishSettings<'a> {
    /// The store its packages and artifacts come from (fetched into it where missing).
    pub store: &'a ArtifactStore,
    /// Where the image's layout goes, its records beside it.
    pub slot: &'a BuildSlot,
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
    /// Pushed. `recorded` says whether the slot's `.pushed` record now says so, which is how
    /// apply knows hosts can pull the image by digest.
    Pushed {
        report: PushReport,
        recorded: std::io::Result<()>,
    },
}

/// Builds `image` (node id `id`) unless the same build is in `settings.slot` already
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
        settings.slot,
        settings.compression,
    )?;
    let push = settings.registry.map(|registry| {
        let repository = image_repository(&image.name);
        match push_layout(&built.layout, registry, &repository, &id.to_string()) {
            Err(error) => PushOutcome::Failed(error),
            Ok(report) => PushOutcome::Pushed {
                recorded: record_push(settings.slot, id, registry, &report.pullable),
                report,
            },
        }
    });
    Ok(Published { built, push })
}

/// Pushes the build of `id` in `slot` (image `name`) to `registry` and records the push,
/// unless it is recorded there already (`again`: even so, for a registry that lost it);
/// returns what hosts pull it by. Pushes of one process wait for one another, so that the
/// nodes of many hosts that need one image push it once: the first pushes, the others find
/// it recorded (or, pushing again, find every blob there and send none).
pub fn push_once(
    slot: &BuildSlot,
    name: &str,
    id: &NodeId,
    registry: &str,
    again: bool,
) -> Result<String, PushError> {
    static PUSHING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _pushing = PUSHING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !again && let Some(pullable) = pushed_as(slot, id, registry) {
        return Ok(pullable);
    }
    let report = push_layout(
        &slot.layout(),
        registry,
        &image_repository(name),
        &id.to_string(),
    )?;
    record_push(slot, id, registry, &report.pullable).map_err(|error| PushError::Layout {
        folder: slot.layout().display().to_string(),
        message: format!("recording the push: {error}"),
    })?;
    Ok(report.pullable)
}
