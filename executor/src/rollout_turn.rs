//! A replacement's turn in its rollout: the host drained (the policy's `drain`, which must
//! succeed), the container replaced, then its gates: the health nodes the rollout names (on
//! the container's host) must pass within the deadline, and pass again once
//! `min_healthy_seconds` have gone by (one of three tries, its interval apart: a probe
//! lost to a loaded host is not a failed release), before the next replacement may start.
//! A gate the host does not have is skipped. Each gate is tried as its health node's probe (its
//! timeout), every interval of its own, until the deadline, and recorded as passed: it
//! ran, on the new release. A new container that stops (it exits at start, and waits in
//! Docker's restart back-off) fails its gates at once: no deadline is waited out for it.
//! One whose gates fail is put back: the previous container (kept, stopped) runs again, and the host's state still says
//! it. The files only the container reads (`files_in_turn.rs`) are written after the drain,
//! before the container is replaced, and put back before the previous container starts
//! again. Either way the host is undrained; the replacement is recorded last, so an apply
//! stopped before that replaces it (and undrains it) again. The turn holds its worker thread while it waits, so at most `--jobs`
//! replacements are in their turn at once.

use std::time::{Duration, Instant};

use cairn_lockfiles::{HealthNode, NodeSpec, Probe, RolloutPolicy};

use crate::container_names::docker_name;
use crate::kinds::container::{put_back, stopped_since_start};
use crate::kinds::previous_file::{forget_script, keep_script, put_back_script};
use crate::kinds::probe_node::{health, probe_once};
use crate::kinds::{NodeContext, NodeError, execute};
use crate::left_drained;
use crate::scheduler::{HostHandle, RunInputs, node_context};
use crate::shell::bounded;

/// The replacement `node` in its turn: drained, replaced (`replace`, the node's action),
/// gated, put back where its gates fail, undrained. The outcome is the replacement's.
pub(crate) fn replace_in_turn(
    inputs: &RunInputs<'_>,
    (node, host, handle): (&cairn_lockfiles::Node, &str, &HostHandle<'_>),
    policy: &RolloutPolicy,
    context: &mut NodeContext<'_>,
    files: &[&cairn_lockfiles::Node],
    replace: impl FnOnce(&mut NodeContext<'_>) -> Result<String, NodeError>,
) -> Result<String, NodeError> {
    if let Some(drain) = &policy.drain
        && let Err(why) = run_drain(context, drain, policy)
    {
        // Half drained is drained: the undrain puts the host back in service.
        let undrained = match undrain(context, policy) {
            Ok(()) => String::new(),
            Err(undrain_failure) => format!("; undraining the host failed too: {undrain_failure}"),
        };
        return Err(NodeError::Failed(format!(
            "draining the host failed, so its container was not replaced: {why}{undrained}"
        )));
    }
    let replaced = write_files(inputs, handle, files, context).and_then(|written| {
        // Whatever stopped the replacement (an image that could not be shipped, a secret
        // that could not be read, `docker run`), the files of the turn go back: the
        // container the host runs is the previous one.
        let summary =
            replace(context).map_err(|error| match context.put_back_first.is_empty() {
                true => error,
                false => files_put_back(context, error),
            })?;
        gate_or_put_back(
            inputs,
            (node, host, handle),
            policy,
            context,
            format!("{written}{summary}"),
        )
    });
    let undrained = undrain(context, policy);
    match (replaced, undrained) {
        // Recorded last: an apply stopped before this replaces (and undrains) again.
        (Ok(summary), Ok(())) => record(inputs, handle, files, context).map(|()| summary),
        (Ok(summary), Err(why)) => Err(NodeError::Failed(format!(
            "{summary}; but undraining the host failed, so the replacement is not recorded: {why}"
        ))),
        (Err(NodeError::Failed(why)), Err(undrain_failure)) => Err(NodeError::Failed(format!(
            "{why}; undraining the host failed too: {undrain_failure}"
        ))),
        (Err(error), _) => Err(error),
    }
}

/// The policy's `drain` run on the node's host, its undrain recorded there first
/// (`left_drained.rs`), so that an apply stopped before the undrain has the next one run it.
fn run_drain(context: &NodeContext<'_>, drain: &str, policy: &RolloutPolicy) -> Result<(), String> {
    let record = match &policy.undrain {
        Some(undrain) => left_drained::record_script(
            &context.entry.name,
            &hook_script(context, undrain, policy.deadline_seconds),
            context.paths,
        ),
        None => String::new(),
    };
    let script = format!(
        "set -eu\n{record}{}",
        hook_script(context, drain, policy.deadline_seconds)
    );
    run_hook(context, &script, policy.deadline_seconds)
}

/// The policy's `undrain` run on the node's host, if it has one, and the record of the
/// drain forgotten.
fn undrain(context: &NodeContext<'_>, policy: &RolloutPolicy) -> Result<(), String> {
    let Some(undrain) = &policy.undrain else {
        return Ok(());
    };
    let script = format!(
        "set -eu\n{}\n{}",
        hook_script(context, undrain, policy.deadline_seconds),
        left_drained::forget_script(&context.entry.name, context.paths)
    );
    run_hook(context, &script, policy.deadline_seconds)
}

/// A drain or undrain command as a script for the node's host: with the module
/// environment, for at most `seconds`.
fn hook_script(context: &NodeContext<'_>, command: &str, seconds: u64) -> String {
    let probe = Probe::Command {
        run: command.to_string(),
    };
    bounded(
        &crate::probe::script(&probe, context.host, context.paths),
        seconds,
    )
}

/// Runs the script of a drain or undrain on the node's host; says why it failed. Past its
/// `seconds`, the last line the command said on stderr tells what it was waiting for.
fn run_hook(context: &NodeContext<'_>, script: &str, seconds: u64) -> Result<(), String> {
    match context.transport.run(script, b"") {
        Ok(output) if output.success() => Ok(()),
        Ok(output) if output.status == 124 => {
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            match stderr.lines().rev().find(|line| !line.trim().is_empty()) {
                Some(last) => Err(format!("it took more than {seconds} s ({})", last.trim())),
                None => Err(format!("it took more than {seconds} s")),
            }
        }
        Ok(output) => Err(output.failure_text()),
        Err(error) => Err(error.to_string()),
    }
}

/// The gates of the replacement `node` (whose action said `summary`) awaited; where they
/// fail, the previous container put back.
fn gate_or_put_back(
    inputs: &RunInputs<'_>,
    (node, host, handle): (&cairn_lockfiles::Node, &str, &HostHandle<'_>),
    policy: &RolloutPolicy,
    context: &NodeContext<'_>,
    summary: String,
) -> Result<String, NodeError> {
    let docker_name = match &*node.spec {
        NodeSpec::Container(container) => Some(docker_name(&container.name, host, context.paths)),
        _ => None,
    };
    let stopped = || match &docker_name {
        Some(name) => stopped_since_start(name, host, context.transport),
        None => Ok(None),
    };
    let why = match await_gates(inputs, host, handle, policy, &stopped) {
        Ok(gates) => return Ok(format!("{summary}; {gates}")),
        // Not recorded: the next apply replaces it again.
        Err(NodeError::Transport(error)) => return Err(NodeError::Transport(error)),
        Err(NodeError::Failed(why)) => why,
    };
    let NodeSpec::Container(container) = &*node.spec else {
        return Err(NodeError::Failed(why));
    };
    Err(NodeError::Failed(
        match put_back(container, host, context) {
            Ok(back) => match back_in_service(inputs, host, handle, policy) {
                Ok(()) => format!("{why}; {back} and passes its gates"),
                Err(failure) => format!("{why}; {back}, but {failure}"),
            },
            Err(error) => format!(
                "{why}; the previous container could not be put back: {}",
                reason(error)
            ),
        },
    ))
}

/// Waits, within the policy's deadline, until every gate of the host passes again with the
/// previous container put back (probed, not recorded: the host's state keeps the release
/// before); says which gate did not.
fn back_in_service(
    inputs: &RunInputs<'_>,
    host: &str,
    handle: &HostHandle<'_>,
    policy: &RolloutPolicy,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(policy.deadline_seconds);
    for (node, gate) in gates_of(inputs, host, policy) {
        let interval = Duration::from_secs(u64::from(gate.interval_seconds.max(1)));
        let context = node_context(inputs, node, handle);
        loop {
            match probe_once(gate, &context) {
                Ok(()) => break,
                Err(error) if Instant::now() >= deadline => {
                    return Err(format!(
                        "its gate {}:{} does not pass: {}",
                        node.name.kind,
                        node.name.key,
                        reason(error)
                    ));
                }
                Err(_) => std::thread::sleep(interval),
            }
        }
    }
    Ok(())
}

/// The health nodes of `policy`'s gates that `host` has.
fn gates_of<'l>(
    inputs: &RunInputs<'l>,
    host: &str,
    policy: &RolloutPolicy,
) -> Vec<(&'l cairn_lockfiles::Node, &'l HealthNode)> {
    policy
        .gates_on(host)
        .filter_map(|name| {
            let node = inputs.lockfile.node(&name)?;
            match &*node.spec {
                NodeSpec::Health(health) => Some((node, health)),
                _ => None,
            }
        })
        .collect()
}

/// Writes the files of the replacement's turn (`files_in_turn.rs`), their previous content
/// kept first, and has a put back of the container put them back first
/// (`context.put_back_first`); says what it wrote. Where one cannot be written, those
/// written are put back, and the container is not touched.
fn write_files(
    inputs: &RunInputs<'_>,
    handle: &HostHandle<'_>,
    files: &[&cairn_lockfiles::Node],
    context: &mut NodeContext<'_>,
) -> Result<String, NodeError> {
    if files.is_empty() {
        return Ok(String::new());
    }
    let file_paths: Vec<(&cairn_lockfiles::Node, &str)> = files
        .iter()
        .filter_map(|file| match &*file.spec {
            NodeSpec::File(spec) => Some((*file, spec.path.as_str())),
            _ => None,
        })
        .collect();
    let keep: String = file_paths
        .iter()
        .map(|(file, path)| keep_script(&turn_entry(inputs, handle, file, path), context.paths))
        .collect();
    let kept = context.transport.run(
        &format!("set -eu\n{}{keep}", context.paths.action_prelude()),
        b"",
    )?;
    if !kept.success() {
        return Err(NodeError::Failed(format!(
            "keeping the previous content of the files of its turn failed, so nothing was written: {}",
            kept.failure_text()
        )));
    }
    context.put_back_first = file_paths
        .iter()
        .map(|(file, path)| put_back_script(&file.name, path, context.paths))
        .collect();
    let mut written = String::new();
    for (file, _) in &file_paths {
        let mut file_context = node_context(inputs, file, handle);
        file_context.record_later = true;
        match execute(file, &mut file_context) {
            Ok(summary) => written.push_str(&format!("{summary}; ")),
            Err(error) => return Err(files_put_back(context, error)),
        }
    }
    Ok(written)
}

/// Puts back the files of the turn after writing one of them failed with `error`; the
/// error, saying so.
fn files_put_back(context: &NodeContext<'_>, error: NodeError) -> NodeError {
    let why = reason(error);
    let script = format!(
        "set -eu\n{}{}[ -z \"${{cairn_files_not_back:-}}\" ] || {{ echo \"not put back:$cairn_files_not_back\" >&2; exit 1; }}\n",
        context.paths.action_prelude(),
        context.put_back_first
    );
    let back = match context.transport.run(&script, b"") {
        Ok(output) if output.success() => "the files of its turn are put back".to_string(),
        Ok(output) => format!(
            "putting the files of its turn back failed: {}",
            output.failure_text()
        ),
        Err(error) => format!("putting the files of its turn back failed: {error}"),
    };
    NodeError::Failed(format!("{why}; the container was not replaced, {back}"))
}

/// The state entry of `file` (at `path`) that its turn records once it succeeds, without
/// the sha256 the host computes.
fn turn_entry(
    inputs: &RunInputs<'_>,
    handle: &HostHandle<'_>,
    file: &cairn_lockfiles::Node,
    path: &str,
) -> crate::state::StateEntry {
    let mut entry = node_context(inputs, file, handle).entry;
    entry.path = Some(path.to_string());
    entry
}

/// Records the replacement in the host's state, its gates passed and its host undrained:
/// the files written in its turn first (their sha256 read on the host, as a file node's
/// action does), then the container, then their previous contents forgotten.
fn record(
    inputs: &RunInputs<'_>,
    handle: &HostHandle<'_>,
    files: &[&cairn_lockfiles::Node],
    context: &NodeContext<'_>,
) -> Result<(), NodeError> {
    let mut script = format!("set -eu\n{}", context.paths.action_prelude());
    let mut forget = String::new();
    for file in files {
        let NodeSpec::File(spec) = &*file.spec else {
            continue;
        };
        let entry = turn_entry(inputs, handle, file, &spec.path);
        script.push_str(&format!(
            "cairn_sha256=$(sha256sum < {})\ncairn_sha256=${{cairn_sha256%% *}}\n{}",
            crate::shell::quote(&context.paths.path(&spec.path)),
            entry.record_script_with(context.paths, &[("sha256", "cairn_sha256")])
        ));
        forget.push_str(&forget_script(&file.name, context.paths));
    }
    script.push_str(&context.entry.record_script(context.paths));
    script.push_str(&forget);
    let output = context.transport.run(&script, b"")?;
    if output.success() {
        Ok(())
    } else {
        Err(NodeError::Failed(format!(
            "recording state: {}",
            output.failure_text()
        )))
    }
}

/// Runs the gates of `policy` on `host` until they pass (and pass again after the healthy
/// time), or the deadline goes by; says what passed, or why the replacement failed.
fn await_gates(
    inputs: &RunInputs<'_>,
    host: &str,
    handle: &HostHandle<'_>,
    policy: &RolloutPolicy,
    stopped: &StoppedSinceStart<'_>,
) -> Result<String, NodeError> {
    let gates = gates_of(inputs, host, policy);
    if gates.is_empty() {
        return Ok("no gate".to_string());
    }
    let deadline = Instant::now() + Duration::from_secs(policy.deadline_seconds);
    for (node, gate) in &gates {
        pass_before(inputs, handle, (node, gate), deadline, stopped)?;
    }
    let mut passed_late = Vec::new();
    if policy.min_healthy_seconds > 0 {
        std::thread::sleep(Duration::from_secs(policy.min_healthy_seconds));
        for (node, gate) in &gates {
            if let Some(note) = still_passes(inputs, handle, (node, gate), policy, stopped)? {
                passed_late.push(note);
            }
        }
    }
    let names: Vec<String> = gates
        .iter()
        .map(|(node, _)| format!("{}:{}", node.name.kind, node.name.key))
        .collect();
    let passed_late = match passed_late.is_empty() {
        true => String::new(),
        false => format!(" ({})", passed_late.join(", ")),
    };
    Ok(format!(
        "gates passed ({}), healthy {} s{passed_late}",
        names.join(", "),
        policy.min_healthy_seconds
    ))
}

/// How many times a gate is tried once the healthy time is over, its interval apart: one
/// probe lost to a loaded host (a `docker exec` past its timeout) is not a failed release,
/// a gate failing three times in a row is. Kubernetes' `failureThreshold` is 3 by default.
const ATTEMPTS_AFTER_HEALTHY_TIME: u32 = 3;

/// Whether `gate` passes again once the healthy time is over, within
/// [`ATTEMPTS_AFTER_HEALTHY_TIME`]; says at which attempt, where not the first. Where it does
/// not pass, the error says why and whether the new container stopped.
fn still_passes(
    inputs: &RunInputs<'_>,
    handle: &HostHandle<'_>,
    (node, gate): (&cairn_lockfiles::Node, &HealthNode),
    policy: &RolloutPolicy,
    stopped: &StoppedSinceStart<'_>,
) -> Result<Option<String>, NodeError> {
    let context = node_context(inputs, node, handle);
    let interval = Duration::from_secs(u64::from(gate.interval_seconds.max(1)));
    let mut missed = 0;
    let why = loop {
        let why = match probe_once(gate, &context) {
            Ok(()) if missed == 0 => return Ok(None),
            Ok(()) => {
                return Ok(Some(format!(
                    "{}:{} passed at the {} attempt after it",
                    node.name.kind,
                    node.name.key,
                    ordinal(missed + 1)
                )));
            }
            Err(NodeError::Transport(error)) => return Err(NodeError::Transport(error)),
            Err(NodeError::Failed(why)) => why,
        };
        missed += 1;
        if let Some(how) = stopped()? {
            break format!("{why}; {how}");
        }
        if missed == ATTEMPTS_AFTER_HEALTHY_TIME {
            break why;
        }
        std::thread::sleep(interval);
    };
    Err(failed_gate(
        node,
        format!(
            "passed, then failed {} s later ({missed} attempt{}): {why}",
            policy.min_healthy_seconds,
            if missed == 1 { "" } else { "s" },
        ),
    ))
}

/// "first", "second", "third", then "4th" and on.
fn ordinal(count: u32) -> String {
    match count {
        1 => "first".to_string(),
        2 => "second".to_string(),
        3 => "third".to_string(),
        _ => format!("{count}th"),
    }
}

/// Whether the replaced container stopped since it started (see
/// [`stopped_since_start`]): a gate waits no longer for a container that is not running.
type StoppedSinceStart<'a> = dyn Fn() -> Result<Option<String>, NodeError> + 'a;

/// Tries `gate` (its probe and timeout, once), every interval of its own, until it passes,
/// while the deadline allows and the new container has not stopped: the rollout's deadline,
/// not the health node's retries, bounds the wait.
fn pass_before(
    inputs: &RunInputs<'_>,
    handle: &HostHandle<'_>,
    (node, gate): (&cairn_lockfiles::Node, &HealthNode),
    deadline: Instant,
    stopped: &StoppedSinceStart<'_>,
) -> Result<(), NodeError> {
    let once = HealthNode {
        retries: 1,
        ..gate.clone()
    };
    let interval = Duration::from_secs(u64::from(gate.interval_seconds.max(1)));
    loop {
        let mut context = node_context(inputs, node, handle);
        let why = match health(&once, &mut context) {
            Ok(_) => return Ok(()),
            Err(NodeError::Transport(error)) => return Err(NodeError::Transport(error)),
            Err(NodeError::Failed(why)) => why,
        };
        if let Some(how) = stopped()? {
            return Err(failed_gate(node, format!("did not pass: {why}; {how}")));
        }
        if Instant::now() >= deadline {
            return Err(failed_gate(
                node,
                format!("did not pass before the deadline: {why}"),
            ));
        }
        std::thread::sleep(interval);
    }
}

fn reason(error: NodeError) -> String {
    match error {
        NodeError::Failed(why) => why,
        NodeError::Transport(error) => error.to_string(),
    }
}

fn failed_gate(node: &cairn_lockfiles::Node, why: String) -> NodeError {
    NodeError::Failed(format!(
        "the new container started, but its gate {}:{} {why}",
        node.name.kind, node.name.key
    ))
}
