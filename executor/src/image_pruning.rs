//! The old images of a container, pruned at the end of an apply: each host keeps the
//! images of the container's last `keep_releases` releases (its rollout policy's), as its
//! release history (`releases.rs`) orders them, and loses the older ones.
//!
//! Only once the release is healthy everywhere: a container name is pruned when its node
//! ran on some host in this apply and, on every host of the lockfile that runs it, its node
//! ran or was skipped (none failed, was not run or was held back, no host unreachable or in
//! trouble) and every gate of its rollout there passed. Until then every image stays, so a
//! rollback, which is applying the previous lockfile, finds its image on each host.
//!
//! On each such host: the images of its history beyond the newest `keep_releases`, but
//! never one that another container name's history holds, nor one any container of the
//! engine uses (running, or stopped: the `<name>.previous` a failed replacement would be
//! put back from). With `keep_releases = 1`, the previous container is removed first where
//! it runs a pruned image: the release is healthy everywhere, so no put back needs it in
//! this apply, and the next replacement would remove it anyway; keeping it would keep the
//! image the operator asked not to keep. An image is removed with `docker image rm`,
//! never forced, then taken out of the history; one that cannot be removed is a warning,
//! never the apply's failure, and is tried again after the next release.
//!
//! A container name that left the lockfile, whose container this apply removed as an
//! orphan, loses every image of its history (the same rules: none another name's history
//! holds, none a container uses) and then its history; an image it shares with another
//! name's history stays, and so does its history.
//!
//! A no-op apply runs no container, so it prunes nothing and costs no round trip; a host
//! with something to prune costs two (its histories read, then the removals).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use cairn_lockfiles::{Lockfile, NodeKind, NodeName, RolloutPolicy, Scope};

use crate::container_names::{docker_name, previous_name};
use crate::releases::{ReleaseHistory, parse_histories};
use crate::report::{ApplyReport, ContainerPruning, NodeOutcome};
use crate::scheduler::HostHandle;
use crate::shell::quote;

/// One image to prune on a host: of which container name, and how many releases it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    container: String,
    image: String,
    keep_releases: u32,
}

/// What became of one candidate on its host.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pruned {
    /// Removed, or gone already: out of the history.
    Removed,
    /// A container of the engine uses it: kept, and in the history still.
    InUse,
    /// `docker image rm` refused: why.
    Failed(String),
}

/// What became of one candidate image on one host.
type HostOutcome = (String, Candidate, Result<Pruned, String>);

/// Prunes the old images of every container name this apply settled, and every image of
/// those whose container it removed as an orphan (see the module's note), `jobs` hosts at
/// a time, into `report.pruned`.
pub(crate) fn prune_old_images(
    lockfile: &Lockfile,
    handles: &BTreeMap<String, HostHandle<'_>>,
    jobs: usize,
    report: &mut ApplyReport,
) {
    let settled = settled_containers(lockfile, report);
    let mut by_host = containers_by_host(lockfile, &settled);
    let removed = removed_containers(report);
    for (host, containers) in &removed {
        let work = by_host.entry(host.as_str()).or_default();
        work.extend(containers.iter().map(|name| (name.as_str(), ALL_RELEASES)));
    }
    let work: Vec<(&str, Vec<(&str, u32)>)> = by_host
        .into_iter()
        .filter(|(host, _)| handles.contains_key(*host))
        .collect();
    for (host, candidate, outcome) in prune_on_hosts(work, handles, jobs) {
        let pruning = report.pruned.entry(candidate.container).or_default();
        record_outcome(pruning, host, candidate.image, outcome);
    }
}

/// Runs [`prune_host`] for each `(host, containers)` of `work`, at most `jobs` at once.
fn prune_on_hosts(
    work: Vec<(&str, Vec<(&str, u32)>)>,
    handles: &BTreeMap<String, HostHandle<'_>>,
    jobs: usize,
) -> Vec<HostOutcome> {
    let threads = jobs.clamp(1, work.len().max(1));
    let queue = Mutex::new(work);
    let results: Mutex<Vec<HostOutcome>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let next = queue
                        .lock()
                        .unwrap_or_else(|poison| poison.into_inner())
                        .pop();
                    let Some((host, containers)) = next else {
                        return;
                    };
                    let pruned = prune_host(host, &handles[host], &containers);
                    results
                        .lock()
                        .unwrap_or_else(|poison| poison.into_inner())
                        .extend(
                            pruned
                                .into_iter()
                                .map(|(candidate, outcome)| (host.to_string(), candidate, outcome)),
                        );
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner())
}

/// Adds what became of `image` on `host` to `pruning`: an image in use is no news.
fn record_outcome(
    pruning: &mut ContainerPruning,
    host: String,
    image: String,
    outcome: Result<Pruned, String>,
) {
    match outcome {
        Ok(Pruned::Removed) => pruning.removed.entry(host).or_default().push(image),
        Ok(Pruned::InUse) => {}
        Ok(Pruned::Failed(reason)) | Err(reason) => pruning
            .failed
            .entry(host)
            .or_default()
            .push((image, reason)),
    }
}

/// The container names whose node ran on some host in this apply and whose release is
/// healthy on every host that runs it, with their `keep_releases`.
fn settled_containers(lockfile: &Lockfile, report: &ApplyReport) -> BTreeMap<String, u32> {
    let container_ran = report.hosts.values().any(|host| {
        host.nodes.iter().any(|(name, outcome)| {
            name.kind == NodeKind::Container && matches!(outcome, NodeOutcome::Ran(_))
        })
    });
    if !container_ran {
        // The common no-op apply: no need to index every node's outcome.
        return BTreeMap::new();
    }
    let outcomes: BTreeMap<&NodeName, &NodeOutcome> = report
        .hosts
        .values()
        .flat_map(|host| host.nodes.iter().map(|(name, outcome)| (name, outcome)))
        .collect();
    lockfile
        .container_hosts()
        .iter()
        .filter_map(|(container, hosts)| {
            let policy = lockfile.rollout(container)?;
            let nodes: Vec<NodeName> = hosts
                .iter()
                .map(|host| {
                    NodeName::new(
                        Scope::Host(host.as_str().into()),
                        NodeKind::Container,
                        container.as_str(),
                    )
                })
                .collect();
            let ran = nodes
                .iter()
                .any(|name| matches!(outcomes.get(name), Some(NodeOutcome::Ran(_))));
            let healthy = nodes.iter().all(|name| {
                healthy_on(
                    lockfile,
                    report,
                    &outcomes,
                    name,
                    &gates_on_host_of(policy, name),
                )
            });
            (ran && healthy).then(|| (container.to_string(), policy.keep_releases))
        })
        .collect()
}

/// Whether the container node `name` and its `gates` (those its host has) ran or were
/// skipped, on a host without a problem.
fn healthy_on(
    lockfile: &Lockfile,
    report: &ApplyReport,
    outcomes: &BTreeMap<&NodeName, &NodeOutcome>,
    name: &NodeName,
    gates: &[NodeName],
) -> bool {
    let settled = |name: &NodeName| {
        matches!(
            outcomes.get(name),
            Some(NodeOutcome::Ran(_) | NodeOutcome::Skipped)
        )
    };
    let host_fine = report
        .hosts
        .get(name.scope.as_str())
        .is_some_and(|host| host.problem.is_none());
    host_fine
        && settled(name)
        && gates
            .iter()
            .filter(|gate| lockfile.node(gate).is_some())
            .all(settled)
}

/// The gates of `policy` on the host of the container node `name`, as node names.
fn gates_on_host_of(policy: &RolloutPolicy, name: &NodeName) -> Vec<NodeName> {
    name.host()
        .map(|host| policy.gates_on(host).collect())
        .unwrap_or_default()
}

/// The `keep_releases` of a container name that left the lockfile: none of its releases
/// is kept.
const ALL_RELEASES: u32 = 0;

/// By host, the container names whose container this apply removed as an orphan (the
/// name left the lockfile): their images go too, and their histories.
fn removed_containers(report: &ApplyReport) -> BTreeMap<String, Vec<String>> {
    report
        .hosts
        .iter()
        .map(|(host, host_report)| {
            let names: Vec<String> = host_report
                .orphans_removed
                .iter()
                .filter(|(name, _)| name.kind == NodeKind::Container)
                .map(|(name, _)| name.key.to_string())
                .collect();
            (host.clone(), names)
        })
        .filter(|(_, names)| !names.is_empty())
        .collect()
}

/// By host, the settled container names it runs, with their `keep_releases`.
fn containers_by_host<'l>(
    lockfile: &'l Lockfile,
    settled: &'l BTreeMap<String, u32>,
) -> BTreeMap<&'l str, Vec<(&'l str, u32)>> {
    let mut by_host: BTreeMap<&str, Vec<(&str, u32)>> = BTreeMap::new();
    for (container, keep_releases) in settled {
        for host in lockfile
            .container_hosts()
            .get(container)
            .into_iter()
            .flatten()
        {
            by_host
                .entry(host.as_str())
                .or_default()
                .push((container.as_str(), *keep_releases));
        }
    }
    by_host
}

/// Reads the host's histories, then removes the images beyond each container's kept
/// releases; what became of each. A history that cannot be read prunes nothing.
fn prune_host(
    host: &str,
    handle: &HostHandle<'_>,
    containers: &[(&str, u32)],
) -> Vec<(Candidate, Result<Pruned, String>)> {
    let histories = match handle
        .transport
        .run(&ReleaseHistory::read_script(handle.paths), b"")
    {
        Ok(output) if output.success() => parse_histories(&output.stdout_text()),
        Ok(output) => return unreadable(containers, output.failure_text()),
        Err(error) => return unreadable(containers, error.to_string()),
    };
    let candidates = images_to_prune(&histories, containers);
    if candidates.is_empty() {
        return Vec::new();
    }
    let script = prune_script(host, handle.paths, &candidates);
    let outcomes = match handle.transport.run(&script, b"") {
        Ok(output) => parse_prune_output(&output.stdout_text(), candidates.len()),
        Err(error) => vec![Err(error.to_string()); candidates.len()],
    };
    candidates.into_iter().zip(outcomes).collect()
}

/// One failure per container of the host, whose histories could not be read.
fn unreadable(
    containers: &[(&str, u32)],
    reason: String,
) -> Vec<(Candidate, Result<Pruned, String>)> {
    containers
        .iter()
        .map(|(container, keep_releases)| {
            let candidate = Candidate {
                container: container.to_string(),
                image: "(its release history)".to_string(),
                keep_releases: *keep_releases,
            };
            (
                candidate,
                Err(format!("reading the release history: {}", reason.trim())),
            )
        })
        .collect()
}

/// The images of `containers` (name, `keep_releases`) beyond their kept releases, none that
/// another container name's history holds.
fn images_to_prune(
    histories: &BTreeMap<String, ReleaseHistory>,
    containers: &[(&str, u32)],
) -> Vec<Candidate> {
    let mut candidates = Vec::new();
    for (container, keep_releases) in containers {
        let Some(history) = histories.get(*container) else {
            continue;
        };
        let others: BTreeSet<&String> = histories
            .values()
            .filter(|other| other.container != *container)
            .flat_map(|other| &other.images)
            .collect();
        candidates.extend(
            history
                .beyond(*keep_releases)
                .iter()
                .filter(|image| !others.contains(image))
                .map(|image| Candidate {
                    container: container.to_string(),
                    image: image.clone(),
                    keep_releases: *keep_releases,
                }),
        );
    }
    candidates
}

/// A script removing each candidate from the host's engine and its history, printing one
/// line per candidate, in order: `removed` (or gone already: another host of the same
/// engine, a sandbox, may remove it first), `in-use` or `failed REASON`. A candidate goes
/// with the digests it was pulled by (`REGISTRY/cairn/NAME@sha256:...`): removing its tag
/// alone would leave the image and its layers on the disk.
fn prune_script(
    host: &str,
    paths: &crate::host_paths::HostPaths,
    candidates: &[Candidate],
) -> String {
    let mut script = paths.action_prelude() + &ReleaseHistory::refuse_linked_folder_script(paths);
    for candidate in candidates {
        let image = quote(&candidate.image);
        if candidate.keep_releases == 1 {
            let previous = previous_name(&docker_name(&candidate.container, host, paths));
            script.push_str(&format!(
                "[ \"$(docker container inspect --format '{{{{.Config.Image}}}}' {previous} 2>/dev/null)\" != {image} ] || docker rm --force {previous} >/dev/null 2>&1 || true\n",
                previous = quote(&previous),
            ));
        }
        script.push_str(&format!(
            "if ! docker image inspect {image} >/dev/null 2>&1; then {forget}echo removed\n\
             elif [ -n \"$(docker ps --all --quiet --filter ancestor={image})\" ]; then echo in-use\n\
             elif cairn_error=$(docker image rm {image} $(docker image inspect --format '{{{{range .RepoDigests}}}}{{{{.}}}} {{{{end}}}}' {image}) 2>&1 >/dev/null); then {forget}echo removed\n\
             elif ! docker image inspect {image} >/dev/null 2>&1; then {forget}echo removed\n\
             else echo \"failed $cairn_error\" | tr '\\n' ' '; echo; fi\n",
            forget = ReleaseHistory::forget_script(&candidate.container, &candidate.image, paths)
                .replace('\n', "; "),
        ));
    }
    // A name that left the lockfile: its history goes once it lists no image.
    let left: BTreeSet<&str> = candidates
        .iter()
        .filter(|candidate| candidate.keep_releases == ALL_RELEASES)
        .map(|candidate| candidate.container.as_str())
        .collect();
    for container in left {
        script.push_str(&ReleaseHistory::remove_when_empty_script(container, paths));
    }
    script
}

/// What became of each of `count` candidates, from the prune script's lines; a candidate
/// the output does not reach (the script cut short) failed.
fn parse_prune_output(text: &str, count: usize) -> Vec<Result<Pruned, String>> {
    let mut lines = text.lines();
    (0..count)
        .map(|_| match lines.next() {
            Some("removed") => Ok(Pruned::Removed),
            Some("in-use") => Ok(Pruned::InUse),
            Some(line) => Ok(Pruned::Failed(
                line.strip_prefix("failed ")
                    .unwrap_or(line)
                    .trim()
                    .to_string(),
            )),
            None => Err("the pruning script stopped before it".to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(container: &str, images: &[&str]) -> (String, ReleaseHistory) {
        let history = ReleaseHistory {
            container: container.to_string(),
            images: images.iter().map(|image| image.to_string()).collect(),
        };
        (container.to_string(), history)
    }

    fn pruned(candidates: Vec<Candidate>) -> Vec<(String, String)> {
        candidates
            .into_iter()
            .map(|candidate| (candidate.container, candidate.image))
            .collect()
    }

    #[test]
    fn a_host_loses_the_images_beyond_each_containers_kept_releases() {
        let histories = BTreeMap::from([
            history("web", &["web:4", "web:3", "web:2", "web:1"]),
            history("db", &["db:2", "db:1"]),
        ]);
        assert_eq!(
            pruned(images_to_prune(&histories, &[("web", 2), ("db", 1)])),
            [
                ("web".to_string(), "web:2".to_string()),
                ("web".to_string(), "web:1".to_string()),
                ("db".to_string(), "db:1".to_string()),
            ]
        );
    }

    #[test]
    fn a_container_not_settled_or_without_history_prunes_nothing() {
        let histories = BTreeMap::from([history("web", &["web:3", "web:2", "web:1"])]);
        assert!(images_to_prune(&histories, &[("db", 1)]).is_empty());
        assert!(images_to_prune(&histories, &[]).is_empty());
        assert!(images_to_prune(&histories, &[("web", 3)]).is_empty());
    }

    #[test]
    fn an_image_another_container_name_ran_is_never_pruned() {
        let histories = BTreeMap::from([
            history("web", &["shared:2", "shared:1"]),
            history("web-admin", &["shared:1"]),
        ]);
        assert!(images_to_prune(&histories, &[("web", 1)]).is_empty());
    }

    fn candidate(keep_releases: u32) -> Candidate {
        Candidate {
            container: "web".to_string(),
            image: "cairn/web:1".to_string(),
            keep_releases,
        }
    }

    #[test]
    fn only_keeping_one_release_removes_the_previous_container_running_a_pruned_image() {
        let paths = crate::host_paths::HostPaths::default();
        let keeping_one = prune_script("h1", &paths, &[candidate(1)]);
        assert!(
            keeping_one.contains("docker rm --force 'web.previous'"),
            "{keeping_one}"
        );
        assert!(keeping_one.contains("!= 'cairn/web:1' ]"), "{keeping_one}");
        let keeping_two = prune_script("h1", &paths, &[candidate(2)]);
        assert!(!keeping_two.contains("web.previous"), "{keeping_two}");
        assert!(
            keeping_two.contains("docker image rm 'cairn/web:1'")
                && !keeping_two.contains("--force 'cairn"),
            "never forced: {keeping_two}"
        );
    }

    #[test]
    fn each_line_of_the_prune_script_says_what_became_of_its_image() {
        let outcomes = parse_prune_output("removed\nin-use\nfailed conflict: in use \n", 4);
        assert_eq!(
            outcomes,
            [
                Ok(Pruned::Removed),
                Ok(Pruned::InUse),
                Ok(Pruned::Failed("conflict: in use".to_string())),
                Err("the pruning script stopped before it".to_string()),
            ]
        );
    }

    #[test]
    fn an_image_in_use_is_no_news_and_a_failure_is_kept_by_host() {
        let mut pruning = ContainerPruning::default();
        record_outcome(
            &mut pruning,
            "h1".into(),
            "web:1".into(),
            Ok(Pruned::Removed),
        );
        record_outcome(&mut pruning, "h2".into(), "web:1".into(), Ok(Pruned::InUse));
        record_outcome(
            &mut pruning,
            "h2".into(),
            "web:0".into(),
            Err("lost".into()),
        );
        assert_eq!(
            pruning.removed,
            BTreeMap::from([("h1".into(), vec!["web:1".into()])])
        );
        assert_eq!(
            pruning.failed,
            BTreeMap::from([("h2".into(), vec![("web:0".into(), "lost".into())])])
        );
        assert_eq!(
            pruning.line("web").as_deref(),
            Some("pruned 1 old image of web on 1 host")
        );
        assert_eq!(
            pruning.warnings("web"),
            ["warning: h2: cannot prune image web:0 of web: lost"]
        );
    }
}
