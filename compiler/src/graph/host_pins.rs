//! Pins each host package node's closure, in the manner of Cargo.lock: resolved once, then
//! kept.
//!
//! Only where the spec names package sources (`[packages] sources`). A package node's
//! request (`docker.io`) is resolved as apt resolves it on a host of the sources' release
//! that has the assumed base system (`[packages] assume_installed`: the release's
//! `required` packages, or `important` ones too, with their closure): what the base has is
//! counted as installed and not pinned; the rest, the closure apt would install, is pinned
//! at exact versions, with the packages of the base it relies on recorded as `assumed`.
//! Nodes with the same request on many hosts share one resolution.
//!
//! As for images: the previous lockfile's pins are kept while the request, the sources,
//! the architecture and the base are unchanged (nothing fetched), unless `--update-pins`;
//! an unreachable repository keeps them with a note, and fails where there are none.
//! Finally each host's nodes are checked together: apt installs them on one system, so two
//! nodes pinning one package at two versions are refused.

use std::collections::{BTreeMap, BTreeSet};

use cairn_lockfiles::{HostPackagePins, NodeName, NodeSpec, PinSet};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::graph::emit::EmittedNode;
use crate::graph::image_pins::{counted, field_span, pin_of};
use crate::graph::offline_pins::OfflinePins;
use crate::graph::package_pins::PinningInputs;
use crate::graph::package_sources::{PackageSources, SECTION, SharedIndex};
use cairn_debian::{PackagesIndex, Requirement, base_system, resolve_on_base};

/// One distinct request, and the nodes that make it.
struct Request {
    packages: Vec<String>,
    /// Positions in `nodes`.
    positions: Vec<usize>,
    pins: Option<HostPackagePins>,
    previous: Option<HostPackagePins>,
}

/// Pins every package node of `nodes` (see the module's notes).
pub fn pin_hosts(
    inputs: &PinningInputs<'_>,
    nodes: &mut [EmittedNode<'_>],
    index: &mut SharedIndex,
    notes: &mut Vec<String>,
) -> Result<(), Diagnostics> {
    let PinningInputs {
        sources,
        previous,
        update,
        ..
    } = *inputs;
    let mut requests = distinct_requests(nodes);
    if requests.is_empty() {
        return Ok(());
    }
    let mut diagnostics = Diagnostics::default();
    for request in &mut requests {
        request.previous = previous.and_then(|previous| {
            previous.matching_host(&request.packages, sources, sources.assumed_base_name())
        });
        if !update {
            request.pins = request.previous.clone();
        }
    }
    if requests.iter().any(|request| request.pins.is_none()) {
        resolve(inputs, nodes, &mut requests, index, notes, &mut diagnostics);
    }
    for request in &requests {
        // One set per request, shared by its nodes on every host.
        let pin_set = request.pins.clone().map(PinSet::new);
        for &position in &request.positions {
            if let NodeSpec::Package(package) = &mut nodes[position].spec {
                package.set_pins(pin_set.clone());
            }
        }
    }
    check_each_host(nodes, &mut diagnostics);
    diagnostics.into_result()
}

/// The package nodes of `nodes`, grouped by what they request, in request order.
fn distinct_requests(nodes: &[EmittedNode<'_>]) -> Vec<Request> {
    let mut by_request: BTreeMap<&[String], Vec<usize>> = BTreeMap::new();
    for (position, node) in nodes.iter().enumerate() {
        if let NodeSpec::Package(package) = &node.spec {
            by_request
                .entry(package.packages.as_slice())
                .or_default()
                .push(position);
        }
    }
    by_request
        .into_iter()
        .map(|(packages, positions)| Request {
            packages: packages.to_vec(),
            positions,
            pins: None,
            previous: None,
        })
        .collect()
}

/// Resolves each request that has no pins yet, from the sources' indexes; where they cannot
/// be had, keeps the previous pins of an unreachable repository's requests.
fn resolve(
    inputs: &PinningInputs<'_>,
    nodes: &[EmittedNode<'_>],
    requests: &mut [Request],
    index: &mut SharedIndex,
    notes: &mut Vec<String>,
    diagnostics: &mut Diagnostics,
) {
    let PinningInputs {
        spec,
        sources,
        previous,
        ..
    } = *inputs;
    let fetched = match index.get(sources) {
        Ok(fetched) => fetched,
        Err(error) => {
            let mut offline = OfflinePins::new(error, previous);
            for request in requests.iter_mut().filter(|request| request.pins.is_none()) {
                let subject = subject(nodes, request);
                if let Some(pins) = offline.keep(subject, request.previous.clone(), notes) {
                    request.pins = Some(pins);
                }
            }
            diagnostics.extend(offline.diagnostic(spec, sources));
            return;
        }
    };
    let base = match base_system(&fetched.index, &sources.architecture, sources.assumed_base) {
        Ok(base) => base,
        Err(error) => {
            diagnostics.push(
            Diagnostic::new(format!(
                "the base system of {} (`assume_installed = \"{}\"` in [{SECTION}]) does not resolve: {error}",
                sources.release,
                sources.assumed_base_name()
            ))
            .at(&spec.source, &spec.setting_span(SECTION, "assume_installed", None))
            .hint("check that the first of `sources` is the release's main suite"),
        );
            return;
        }
    };
    let mut pinned = Vec::new();
    for request in requests.iter_mut().filter(|request| request.pins.is_none()) {
        match resolve_request(&fetched.index, &request.packages, sources, &base) {
            Ok(pins) => {
                pinned.push(format!(
                    "{} ({})",
                    request.packages.join(" "),
                    pins.packages.len()
                ));
                request.pins = Some(pins);
            }
            Err(message) => diagnostics.push(resolve_diagnostic(nodes, request, &message, sources)),
        }
    }
    if !pinned.is_empty() {
        notes.push(format!(
            "pinned the host packages of {} on {}'s {} base: {}",
            counted(pinned.len(), "request"),
            sources.release,
            sources.assumed_base_name(),
            pinned.join(", ")
        ));
    }
}

/// The pins of one request on `base`, or what the resolver says.
fn resolve_request(
    index: &PackagesIndex,
    packages: &[String],
    sources: &PackageSources,
    base: &BTreeSet<String>,
) -> Result<HostPackagePins, String> {
    let requirements = packages
        .iter()
        .map(|package| Requirement::parse(package).map_err(|error| error.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let resolution = resolve_on_base(index, &requirements, &sources.architecture, base)
        .map_err(|error| error.to_string())?;
    let mut pins = HostPackagePins {
        architecture: sources.architecture.as_str().to_string(),
        release: sources.release.clone(),
        sources: sources.recorded.clone(),
        base: sources.assumed_base_name().to_string(),
        assumed: resolution
            .assumed
            .iter()
            .map(|package| format!("{}={}", package.name, package.version))
            .collect(),
        packages: resolution.packages.into_iter().map(pin_of).collect(),
    };
    pins.normalise();
    Ok(pins)
}

/// How errors name a request: by its nodes' key, and how many hosts have it.
fn subject(nodes: &[EmittedNode<'_>], request: &Request) -> String {
    let keys: BTreeSet<&str> = request
        .positions
        .iter()
        .map(|&position| nodes[position].name.key.as_ref())
        .collect();
    let keys: Vec<String> = keys.iter().map(|key| format!("`{key}`")).collect();
    format!(
        "package node {} ({})",
        keys.join(", "),
        counted(request.positions.len(), "host")
    )
}

/// A request that does not resolve: at the `packages` field of its first node's
/// declaration.
fn resolve_diagnostic(
    nodes: &[EmittedNode<'_>],
    request: &Request,
    message: &str,
    sources: &PackageSources,
) -> Diagnostic {
    let node = &nodes[request.positions[0]];
    let span = field_span(node.declaration, "packages").unwrap_or(node.declared_at.span.clone());
    let (message, hint) = match message.split_once("\nhint: ") {
        Some((message, hint)) => (message, hint.to_string()),
        None => (
            message,
            "check the package's name with `apt-cache policy NAME` on a host of the release, or add the source that has it to `sources` of [packages]".to_string(),
        ),
    };
    Diagnostic::new(format!(
        "cannot pin the packages of {}: {message}",
        subject(nodes, request)
    ))
    .at(node.declared_at.source, &span)
    .note(format!(
        "resolved for {} on {} with its {} base, against [{SECTION}] sources: {}",
        sources.architecture.as_str(),
        sources.release,
        sources.assumed_base_name(),
        sources.recorded.join("; ")
    ))
    .hint(hint)
}

/// Refuses a host whose package nodes pin one package at two versions: apt installs them
/// on one system.
fn check_each_host(nodes: &[EmittedNode<'_>], diagnostics: &mut Diagnostics) {
    let mut pinned: BTreeMap<(&str, &str), (&str, &NodeName)> = BTreeMap::new();
    let mut reported: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut current_host = None;
    // The hosts met so far: a host met again would have been checked in two halves.
    let mut finished_hosts: BTreeSet<&str> = BTreeSet::new();
    for node in nodes {
        let (NodeSpec::Package(package), Some(host)) = (&node.spec, node.name.host()) else {
            continue;
        };
        // A host's nodes are emitted together (`emit_hosts.rs`): the pins of the hosts
        // before are not looked at again, and a map of every host's was most of pinning's
        // time at ten thousand hosts.
        if current_host != Some(host) {
            debug_assert!(
                finished_hosts.insert(host),
                "the package nodes of {host} are not emitted together"
            );
            current_host = Some(host);
            pinned.clear();
            reported.clear();
        }
        for pin in package.pins.iter().flat_map(|pins| &pins.packages) {
            match pinned.get(&(host, pin.name.as_str())) {
                None => {
                    pinned.insert(
                        (host, pin.name.as_str()),
                        (pin.version.as_str(), &node.name),
                    );
                }
                Some((version, first)) if *version != pin.version => {
                    if reported.insert((host, pin.name.as_str())) {
                        diagnostics.push(
                            Diagnostic::new(format!(
                                "`{}` pins `{}` at {}, and `{first}` at {version}: one host installs both",
                                node.name, pin.name, pin.version
                            ))
                            .at_location(node.declared_at.location())
                            .hint("ask for the same version of it in both nodes' `packages` (`name=version`), or move them into one node"),
                        );
                    }
                }
                Some(_) => {}
            }
        }
    }
}
