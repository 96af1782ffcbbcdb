use cairn_images::artifact_store::{self, ArtifactStore};
use cairn_images::image_builder::build::builds_itself;
use cairn_images::image_builder::built_record::BuildSlot;
use cairn_images::image_builder::image_tag;
use cairn_images::{PublishSettings, PushOutcome, build_and_push};
use cairn_lockfiles::{ImageNode, NodeId};

use crate::kinds::{NodeContext, NodeError};
use crate::shell::quote;

/// Builds the image on the control host: with cairn's own builder where it can (its
/// packages pinned, or none: [`builds_itself`]), into the local image folder, from which
/// each host that runs it is sent the layers it lacks; else with `docker build` (below).
/// With the cluster's registry, the image is pushed there, only the blobs it lacks, and
/// recorded, so that hosts pull it by digest.
pub fn apply(
    image: &ImageNode,
    id: &NodeId,
    context: &mut NodeContext<'_>,
) -> Result<String, NodeError> {
    if !builds_itself(image) {
        return docker_build(image, id, context);
    }
    let store = ArtifactStore::default_location();
    let slot = BuildSlot::for_apply(&image.name, id);
    let settings = PublishSettings {
        store: &store,
        slot: &slot,
        compression: image.compression,
        registry: image.registry.as_deref(),
    };
    let published = build_and_push(image, id, &settings)
        .map_err(|error| NodeError::Failed(error.to_string()))?;
    let built = &published.built;
    let tag = image_tag(&image.name, id);
    let mut summary = match built.layers {
        Some(layers) if built.built_now => format!(
            "built {tag} with cairn's builder into {}: {layers} layers, manifest {}",
            built.layout.display(),
            built.manifest_digest
        ),
        _ => format!("{tag} is already built in {}", built.layout.display()),
    };
    if let (Some(registry), Some(push)) = (&image.registry, &published.push) {
        summary.push_str(&push_summary(registry, push));
    }
    Ok(summary)
}

/// What became of the push. A registry that does not answer (not started yet: it runs from
/// an image of its own) or refuses is no failure: the hosts are then sent the image over
/// their transport, and the summary says why.
fn push_summary(registry: &str, push: &PushOutcome) -> String {
    match push {
        PushOutcome::Failed(error) => {
            format!("; not pushed ({error}): hosts are sent it over their transport")
        }
        PushOutcome::Pushed {
            report,
            recorded: Ok(()),
        } => format!(
            "; pushed to {registry} ({} blobs sent, {} bytes; {} already there)",
            report.blobs_sent, report.bytes_sent, report.blobs_present
        ),
        PushOutcome::Pushed {
            recorded: Err(error),
            ..
        } => format!(
            "; pushed to {registry}, but not recorded ({error}): hosts are sent it over their transport"
        ),
    }
}

/// Builds the image on the control host with `docker build`, from its rendered Dockerfile
/// and files (each with its mode) in a fresh build context, its artifacts and pinned
/// packages fetched into the local store (checked against their sha256) and placed in the
/// context (artifacts under their checksum, archives unpacked; packages as
/// `packages/<name>.deb`). An image already built under its tag is not built again.
fn docker_build(
    image: &ImageNode,
    id: &NodeId,
    context: &mut NodeContext<'_>,
) -> Result<String, NodeError> {
    let tag = image_tag(&image.name, id);
    let exists = context.transport.run(
        &format!(
            "docker image inspect --format . {} >/dev/null 2>&1",
            quote(&tag)
        ),
        b"",
    )?;
    if exists.success() {
        return Ok(format!("{tag} is already built"));
    }
    let build_context = tempfile::tempdir()
        .map_err(|error| NodeError::Failed(format!("a build folder: {error}")))?;
    let write = |relative: &str, content: &[u8], mode: u32| -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let path = build_context.path().join(relative.trim_start_matches('/'));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
    };
    let prepared =
        write("Dockerfile", image.dockerfile.as_str().as_bytes(), 0o644).and_then(|()| {
            image.files.iter().try_for_each(|file| {
                // No secret is ever in an image: the lockfile refuses them there.
                write(
                    &format!("files{}", file.path),
                    file.content.as_str().as_bytes(),
                    file.mode,
                )
            })
        });
    prepared.map_err(|error| NodeError::Failed(format!("preparing the build context: {error}")))?;
    let store = ArtifactStore::default_location();
    let mut downloaded = 0;
    for artifact in &image.artifacts {
        let (stored, fetched) = store
            .fetch(&artifact.url, &artifact.sha256)
            .map_err(|error| NodeError::Failed(error.to_string()))?;
        downloaded += usize::from(fetched);
        artifact_store::place(
            artifact,
            &stored,
            &build_context.path().join(artifact.context_path()),
        )
        .map_err(|error| NodeError::Failed(error.to_string()))?;
    }
    // The pinned packages, each as the Dockerfile installs it: `packages/<name>.deb`.
    let pinned = image.pins.iter().flat_map(|pins| &pins.packages);
    let packages_folder = build_context.path().join("packages");
    for pin in pinned {
        let (stored, fetched) = store
            .fetch(&pin.url, &pin.sha256)
            .map_err(|error| NodeError::Failed(format!("package {}: {error}", pin.name)))?;
        downloaded += usize::from(fetched);
        std::fs::create_dir_all(&packages_folder)
            .and_then(|()| {
                artifact_store::link_or_copy(
                    &stored,
                    &packages_folder.join(format!("{}.deb", pin.name)),
                )
            })
            .map_err(|error| {
                NodeError::Failed(format!(
                    "placing package {} in the build context: {error}",
                    pin.name
                ))
            })?;
    }
    let output = context.transport.run(
        &format!(
            "docker build --quiet --tag {} {} 2>&1",
            quote(&tag),
            quote(&build_context.path().display().to_string())
        ),
        b"",
    )?;
    if !output.success() {
        return Err(NodeError::Failed(format!(
            "docker build of {tag}: {}",
            output.failure_text()
        )));
    }
    let pinned_downloads =
        image.artifacts.len() + image.pins.as_ref().map_or(0, |pins| pins.packages.len());
    if pinned_downloads == 0 {
        Ok(format!("built {tag}"))
    } else {
        Ok(format!(
            "built {tag} ({downloaded} of {pinned_downloads} pinned downloads fetched, the rest from the store)"
        ))
    }
}
