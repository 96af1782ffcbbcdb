use std::path::Path;

use cairn_images::distribution::docker_load::{HOST_LAYERS_SCRIPT, load_archive};
use cairn_images::image_builder::built_record::{BuildSlot, built_layout, pushed_as};
use cairn_images::image_builder::image_tag;
use cairn_images::push_once;
use cairn_lockfiles::{ContainerNode, EnvValue, NodeId, NodeKind, NodeName, NodeSpec, Scope};

use crate::confined_folder::refuse_linked_folders;
use crate::container_names::{docker_name, previous_name};
use crate::host_paths::HostPaths;
use crate::kinds::pull_outcome::PullOutcome;
use crate::kinds::{NodeContext, NodeError};
use crate::releases::ReleaseHistory;
use crate::shell::quote;
use crate::transport::Transport;

/// Makes the image present on the host (sent from the control host when missing: the
/// layers the host lacks of the layout cairn built, or the whole image from the control
/// host's engine for one `docker build` made), records it as the container's latest
/// release (`releases.rs`), sets any container of that name aside (kept stopped as its
/// previous one), and starts the new one, putting the previous one back (and its image
/// first in the history again) if `docker run` fails. The environment, secrets resolved,
/// goes to `docker run --env-file /dev/stdin`: never on a command line.
pub fn apply(
    container: &ContainerNode,
    image_id: &NodeId,
    host: &str,
    control: &dyn Transport,
    context: &mut NodeContext<'_>,
) -> Result<String, NodeError> {
    let image_tag = &image_tag(&container.image, image_id);
    let name = docker_name(&container.name, host, context.paths);
    let present = context.transport.run(
        &format!(
            "docker image inspect --format . {} >/dev/null 2>&1",
            quote(image_tag)
        ),
        b"",
    )?;
    let shipped = if present.success() {
        String::new()
    } else {
        ship_image(&container.image, image_id, image_tag, control, context)?
    };

    let mut environment = String::new();
    for (key, value) in &container.env {
        let value = match value {
            EnvValue::Plain(text) => text.clone(),
            EnvValue::Secret(secret) => context
                .secrets
                .value(secret)
                .map_err(NodeError::Failed)?
                .to_string(),
        };
        if value.contains('\n') {
            return Err(NodeError::Failed(format!(
                "the value of `{key}` spans lines, which docker's env files cannot hold"
            )));
        }
        environment.push_str(&format!("{key}={value}\n"));
    }
    let mut arguments = vec![
        "docker run --detach".to_string(),
        format!("--name {}", quote(&name)),
        format!("--label cairn.host={}", quote(host)),
        format!("--label cairn.id={}", context.entry.id),
        format!("--restart {}", quote(&container.restart)),
        "--env-file /dev/stdin".to_string(),
    ];
    if let Some(network) = &container.network {
        arguments.push(format!("--network {}", quote(network)));
    }
    for server in &container.dns {
        arguments.push(format!("--dns {}", quote(server)));
    }
    if container.privileged {
        arguments.push("--privileged".to_string());
    }
    if let Some(pid) = &container.pid {
        arguments.push(format!("--pid {}", quote(pid)));
    }
    for capability in &container.cap_add {
        arguments.push(format!("--cap-add {}", quote(capability)));
    }
    for port in &container.ports {
        arguments.push(format!("--publish {}", quote(port)));
    }
    for volume in &container.volumes {
        arguments.push(format!(
            "--volume {}",
            quote(&host_volume(volume, context.paths))
        ));
    }
    arguments.push(quote(image_tag));
    arguments.extend(container.args.iter().map(|argument| quote(argument)));
    let volume_checks: String = container
        .volumes
        .iter()
        .filter_map(|volume| volume.split_once(':').map(|(source, _)| source))
        .filter(|source| source.starts_with('/'))
        .map(|source| refuse_linked_folders(context.paths, source))
        .collect();
    let record = if context.record_later {
        String::new()
    } else {
        context.entry.record_script(context.paths)
    };
    let script = format!(
        "set -eu\n{prelude}{volume_checks}{release}{set_aside}{run} >/dev/null || {{ status=$?\n{files_back}{back}{back_release}exit $status; }}\n{record}",
        prelude = context.paths.action_prelude(),
        release = ReleaseHistory::record_script(&container.name, &quote(image_tag), context.paths),
        set_aside = set_aside_script(&name),
        run = arguments.join(" "),
        files_back = context.put_back_first,
        back = back_in_place_script(&name, &container.restart),
        back_release = record_running_image_script(&container.name, &name, context.paths),
    );
    let output = context.transport.run(&script, environment.as_bytes())?;
    if !output.success() {
        return Err(NodeError::Failed(format!(
            "docker run {name}: {}",
            output.failure_text()
        )));
    }
    Ok(format!("started {name} from {image_tag}{shipped}"))
}

/// Makes the image present on the host: pulled by digest from the cluster's registry where
/// the image goes through one (pushed first, once, if the image node could not push it:
/// on a first install the registry starts after the images are built, and the hosts that
/// pull from it wait for it to answer); else, or where the pull fails, sent over the
/// transport: the layers the host lacks of cairn's build, or `docker save` of the control
/// host's `docker build`. Returns what the summary says of it.
fn ship_image(
    image: &str,
    image_id: &NodeId,
    image_tag: &str,
    control: &dyn Transport,
    context: &NodeContext<'_>,
) -> Result<String, NodeError> {
    let slot = BuildSlot::for_apply(image, image_id);
    let layout = built_layout(&slot, image_id);
    let pulled = match registry_of(context, image) {
        Some(registry) => pull_from_registry(
            image,
            image_id,
            image_tag,
            &registry,
            &slot,
            layout.is_some(),
            context,
        )?,
        None => PullOutcome::NotTried,
    };
    Ok(match (pulled, layout) {
        (pulled, _) if pulled.pulled() => pulled.to_string(),
        (why, Some(layout)) => format!(
            "{why}{}",
            send_layers(&layout, image_tag, context.transport)?
        ),
        (why, None) => format!(
            "{why}{}",
            send_saved_image(image_tag, control, context.transport)?
        ),
    })
}

/// Pulls the image from `registry` by digest: pushed first where it is not recorded there
/// yet and cairn built it (`built`), and pushed again once where the pull fails although
/// it is recorded (a registry that lost its data: a control host installed anew). Unless
/// pulled, the outcome says why not, for the summary; the image is then sent over the
/// transport.
fn pull_from_registry(
    image: &str,
    image_id: &NodeId,
    image_tag: &str,
    registry: &str,
    slot: &BuildSlot,
    built: bool,
    context: &NodeContext<'_>,
) -> Result<PullOutcome, NodeError> {
    let recorded = pushed_as(slot, image_id, registry);
    let pullable = match (&recorded, built) {
        (Some(pullable), _) => pullable.clone(),
        (None, true) => match push_once(slot, image, image_id, registry, false) {
            Ok(pullable) => pullable,
            Err(error) => {
                return Ok(PullOutcome::NotPushed {
                    registry: registry.to_string(),
                    error,
                });
            }
        },
        (None, false) => return Ok(PullOutcome::NotTried),
    };
    let pulled = pull(&pullable, image_tag, context.transport)?;
    let PullOutcome::PullFailed { pullable, output } = pulled else {
        return Ok(pulled);
    };
    if recorded.is_none() || !built {
        return Ok(PullOutcome::PullFailed { pullable, output });
    }
    match push_once(slot, image, image_id, registry, true) {
        Ok(pullable) => pull(&pullable, image_tag, context.transport),
        Err(error) => Ok(PullOutcome::PushAgainFailed {
            pullable,
            output,
            registry: registry.to_string(),
            error,
        }),
    }
}

/// The registry the lockfile's image `name` goes through, if any.
fn registry_of(context: &NodeContext<'_>, name: &str) -> Option<String> {
    let image = NodeName::new(Scope::Cluster, NodeKind::Image, name);
    match &*context.lockfile.node(&image)?.spec {
        NodeSpec::Image(image) => image.registry.clone(),
        _ => None,
    }
}

/// Pulls the image by digest from the registry it was pushed to and tags it as apply names
/// it; [`PullOutcome::PullFailed`] when the host cannot (the registry does not answer it,
/// say): the image is then sent over the transport.
fn pull(
    pullable: &str,
    image_tag: &str,
    transport: &dyn Transport,
) -> Result<PullOutcome, NodeError> {
    let output = transport.run(
        &format!(
            "docker pull --quiet {pullable} >/dev/null && docker tag {pullable} {image_tag}",
            pullable = quote(pullable),
            image_tag = quote(image_tag)
        ),
        b"",
    )?;
    let pullable = pullable.to_string();
    Ok(if output.success() {
        PullOutcome::Pulled { pullable }
    } else {
        PullOutcome::PullFailed {
            pullable,
            output: output.failure_text().trim().to_string(),
        }
    })
}

/// Sends the layers of `layout` the host lacks to its `docker load`.
fn send_layers(
    layout: &Path,
    image_tag: &str,
    transport: &dyn Transport,
) -> Result<String, NodeError> {
    let listed = transport.run(HOST_LAYERS_SCRIPT, b"")?;
    if !listed.success() {
        return Err(NodeError::Failed(format!(
            "listing the host's image layers: {}",
            listed.failure_text()
        )));
    }
    let archive = load_archive(layout, &listed.stdout_text())
        .map_err(|error| NodeError::Failed(error.to_string()))?;
    let loaded = transport.run("docker load --quiet", &archive.tar)?;
    if !loaded.success() {
        return Err(NodeError::Failed(format!(
            "docker load of {image_tag}: {}",
            loaded.failure_text()
        )));
    }
    Ok(format!(
        " (image sent: {} of {} layers, {} bytes; the host had the other {})",
        archive.layers_sent,
        archive.layers_sent + archive.layers_present,
        archive.layer_bytes_sent,
        archive.layers_present
    ))
}

/// Sends the whole image from the control host's engine (`docker save`) to the host's
/// `docker load`: for an image `docker build` made.
fn send_saved_image(
    image_tag: &str,
    control: &dyn Transport,
    transport: &dyn Transport,
) -> Result<String, NodeError> {
    let saved = control.run(&format!("docker save {}", quote(image_tag)), b"")?;
    if !saved.success() {
        return Err(NodeError::Failed(format!(
            "docker save {image_tag}: {}",
            saved.failure_text()
        )));
    }
    let loaded = transport.run("docker load --quiet", &saved.stdout)?;
    if !loaded.success() {
        return Err(NodeError::Failed(format!(
            "docker load of {image_tag}: {}",
            loaded.failure_text()
        )));
    }
    Ok(format!(
        " (image sent whole, {} MiB)",
        saved.stdout.len() / (1024 * 1024)
    ))
}

/// A volume's host side, under the host's root prefix when it is a path.
fn host_volume(volume: &str, paths: &HostPaths) -> String {
    match volume.split_once(':') {
        Some((source, rest)) if source.starts_with('/') => format!("{}:{rest}", paths.path(source)),
        _ => volume.to_string(),
    }
}

/// Removes an orphaned container.
pub fn remove_script(container: &str, host: &str, paths: &HostPaths) -> String {
    let name = docker_name(container, host, paths);
    format!(
        "docker rm --force {} {} >/dev/null 2>&1 || true\n",
        quote(&name),
        quote(&previous_name(&name))
    )
}

/// Shell commands that stop the running container of Docker name `name` (ten seconds to
/// stop cleanly) and keep it as its previous one, never restarted by Docker, replacing the
/// one kept before; or remove it where it cannot be renamed.
fn set_aside_script(name: &str) -> String {
    format!(
        "if docker container inspect {name} >/dev/null 2>&1; then\n\
         docker rm --force {previous} >/dev/null 2>&1 || true\n\
         docker update --restart no {name} >/dev/null 2>&1 || true\n\
         docker stop --time 10 {name} >/dev/null 2>&1 || true\n\
         docker rename {name} {previous} 2>/dev/null || docker rm --force {name} >/dev/null 2>&1 || true\n\
         fi\n",
        name = quote(name),
        previous = quote(&previous_name(name)),
    )
}

/// Shell commands that put the previous container of `name` (if one is kept) back in its
/// place, with its restart policy `restart` again, and start it.
fn back_in_place_script(name: &str, restart: &str) -> String {
    format!(
        "if docker container inspect {previous} >/dev/null 2>&1; then\n\
         docker rm --force {name} >/dev/null 2>&1 || true\n\
         docker rename {previous} {name} && docker update --restart {restart} {name} >/dev/null && docker start {name} >/dev/null\n\
         fi\n",
        name = quote(name),
        previous = quote(&previous_name(name)),
        restart = quote(restart),
    )
}

/// Whether the container `name` (Docker's name) stopped since it started: exited, dead, or
/// waiting to be restarted by Docker's policy. Says how, and where to look; `None` while it runs, or where
/// Docker cannot tell (the gate's own check decides then).
pub fn stopped_since_start(
    name: &str,
    host: &str,
    transport: &dyn Transport,
) -> Result<Option<String>, NodeError> {
    let output = transport.run(
        &format!(
            "docker container inspect --format '{{{{.State.Status}}}} {{{{.State.ExitCode}}}} {{{{.RestartCount}}}}' {}",
            quote(name)
        ),
        b"",
    )?;
    if !output.success() {
        return Ok(None);
    }
    let state = String::from_utf8_lossy(&output.stdout);
    let mut fields = state.split_whitespace();
    let (Some(status), Some(exit_code), Some(restarts)) =
        (fields.next(), fields.next(), fields.next())
    else {
        return Ok(None);
    };
    // Running again after a restart is running: a service may exit on purpose (a Mesos
    // master losing ZooKeeper) and Docker start it again; its gates decide. One that
    // exits at start spends its time `restarting`, in Docker's back-off.
    if !matches!(status, "exited" | "dead" | "restarting") {
        return Ok(None);
    }
    Ok(Some(format!(
        "the new container stopped after it started (it is {status}, last exit code {exit_code}, restarted {restarts} times): `docker logs {name}` on {host} says why"
    )))
}

/// Shell lines recording the image the container of Docker name `name` runs (a previous
/// container put back) as `container`'s latest release again; nothing where no container
/// of that name is left.
fn record_running_image_script(container: &str, name: &str, paths: &HostPaths) -> String {
    format!(
        "cairn_running_image=$(docker container inspect --format '{{{{.Config.Image}}}}' {name} 2>/dev/null) || cairn_running_image=''\n\
         if [ -n \"$cairn_running_image\" ]; then\n{record}fi\n",
        name = quote(name),
        record = ReleaseHistory::record_script(container, "\"$cairn_running_image\"", paths),
    )
}

/// Shell lines saying, on stdout after [`FILES_NOT_BACK_MARKER`], which files written in
/// the turn could not be put back: the previous container runs, but not with what it read
/// before. Their state entries still name what was there before the turn, so the next
/// apply sees them drifted and writes them again.
const FILES_NOT_BACK_REPORT: &str = "[ -z \"${cairn_files_not_back:-}\" ] || echo \"@@cairn-files-not-back@@$cairn_files_not_back\"\n";

/// What [`FILES_NOT_BACK_REPORT`] prints before the paths, each after a space.
const FILES_NOT_BACK_MARKER: &str = "@@cairn-files-not-back@@";

/// Puts the previous container back in place of the one just started (whose gates
/// failed): the new one removed, the files written in its turn put back
/// (`context.put_back_first`), the previous one renamed back and started, its image
/// first in the container's release history again, and the host's state entry for the
/// node put back to what it was (forgotten where there was none, so
/// the next apply runs the node again). The new release was not recorded (a rollout's
/// replacement is recorded once its gates pass), so this only makes sure of it.
pub fn put_back(
    container: &ContainerNode,
    host: &str,
    context: &NodeContext<'_>,
) -> Result<String, NodeError> {
    let name = docker_name(&container.name, host, context.paths);
    let record = match context.previous {
        Some(previous) => previous.record_script(context.paths),
        None => crate::state::StateEntry::forget_script(&context.entry.name, context.paths),
    };
    let script = format!(
        "set -eu\n{prelude}{files_back}docker container inspect {previous} >/dev/null 2>&1 || {{ echo 'no previous container is kept' >&2; exit 1; }}\n{back}{back_release}{record}{files_not_back}",
        prelude = context.paths.action_prelude(),
        previous = quote(&previous_name(&name)),
        files_back = context.put_back_first,
        files_not_back = FILES_NOT_BACK_REPORT,
        back = back_in_place_script(&name, &container.restart),
        back_release = record_running_image_script(&container.name, &name, context.paths),
    );
    let output = context.transport.run(&script, b"")?;
    if !output.success() {
        return Err(NodeError::Failed(output.failure_text()));
    }
    let stdout = output.stdout_text();
    let not_back = stdout
        .lines()
        .find_map(|line| line.strip_prefix(FILES_NOT_BACK_MARKER));
    Ok(match not_back {
        None => format!("the previous container {name} is back in its place"),
        Some(paths) => format!(
            "the previous container {name} is back in its place, but these files of its turn could not be put back as they were, so it does not read what it read before (the next apply writes them again):{paths}"
        ),
    })
}
