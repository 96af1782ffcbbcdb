//! Pinning, between emitting the nodes and hashing them (pins are inputs of the nodes that
//! install them, so they move their ids): where the spec names `[packages] sources`, every
//! image's packages (`image_pins`) and every host package node's (`host_pins`), against one
//! fetch of the sources' indexes, keeping the previous lockfile's pins where a request is
//! unchanged. Without sources nothing is pinned and the lockfile does not change.

use cairn_lockfiles::NodeSpec;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::graph::emit::EmittedNode;
use crate::graph::host_pins::pin_hosts;
use crate::graph::image_pins::{PinningOptions, field_span, pin_images};
use crate::graph::package_sources::{PackageSources, SECTION, SharedIndex};
use crate::graph::previous_pins::PreviousPins;
use crate::spec::ClusterSpec;

/// What pinning images and pinning host package nodes both read: one set, so that the two
/// pin against the same sources and keep the same previous lockfile's pins.
#[derive(Clone, Copy)]
pub struct PinningInputs<'a> {
    pub spec: &'a ClusterSpec,
    pub sources: &'a PackageSources,
    /// The previous lockfile's pins, kept where a request is unchanged.
    pub previous: Option<&'a PreviousPins>,
    /// Resolve every request again (`--update-pins`).
    pub update: bool,
}

/// The previous lockfile's pins, and why it cannot be read as a lockfile where it cannot.
pub type ReadPins = (Option<PreviousPins>, Option<String>);

/// The previous lockfile's pins, read before the nodes are emitted where the spec names
/// package sources (else none are pinned). Read after, the reading's own peak (460 MB at
/// ten thousand hosts, the lockfile let go once its pins are out) came on top of the
/// emitted nodes' 400 MB: compile's peak.
pub fn read_pins_ahead(spec: &ClusterSpec, options: &PinningOptions<'_>) -> Option<ReadPins> {
    PackageSources::named(spec).then(|| PreviousPins::read(options.previous))
}

/// Pins the packages of `nodes` (see the module's notes), with the previous lockfile's
/// pins `read_ahead` where they were; what the user should know goes to `notes`.
pub fn pin_packages(
    spec: &ClusterSpec,
    nodes: &mut [EmittedNode<'_>],
    options: &PinningOptions<'_>,
    read_ahead: Option<ReadPins>,
    notes: &mut Vec<String>,
) -> Result<(), Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    refuse_declared_pins(nodes, &mut diagnostics);
    let sources = PackageSources::read(spec, &mut diagnostics);
    let wanted = nodes.iter().any(|node| match &node.spec {
        NodeSpec::Image(image) => !image.packages.is_empty(),
        NodeSpec::Package(_) => true,
        _ => false,
    });
    let Some(sources) = sources.filter(|_| wanted && diagnostics.is_empty()) else {
        return diagnostics.into_result();
    };
    let previous = read_previous(options, read_ahead, notes);
    let mut index = SharedIndex::new(options.cache.clone(), sources.keyring.clone());
    let inputs = PinningInputs {
        spec,
        sources: &sources,
        previous: previous.as_ref(),
        update: options.update,
    };
    let pinned_images = pin_images(&inputs, nodes, &mut index, notes);
    let pinned_hosts = pin_hosts(&inputs, nodes, &mut index, notes);
    for result in [pinned_images, pinned_hosts] {
        if let Err(found) = result {
            diagnostics.append(found);
        }
    }
    if index.was_fetched().is_some() && sources.keyring.is_none() {
        notes.push(format!(
            "the sources' Release files are taken unsigned: name the keyring they must be signed by in `keyring` of [{SECTION}] (Debian's: /usr/share/keyrings/debian-archive-keyring.gpg)"
        ));
    }
    diagnostics.into_result()
}

/// The previous lockfile's pins (those `read_ahead`, else read now), with a note where it
/// cannot be read as a lockfile.
fn read_previous(
    options: &PinningOptions<'_>,
    read_ahead: Option<ReadPins>,
    notes: &mut Vec<String>,
) -> Option<PreviousPins> {
    let (previous, unreadable) = read_ahead.unwrap_or_else(|| PreviousPins::read(options.previous));
    let lockfile_name = options.previous.path().display();
    if let Some(reason) = unreadable {
        notes.push(match &previous {
            Some(pins) if !pins.is_empty() => format!(
                "{lockfile_name} cannot be read as a lockfile ({reason}); its pins are read from its text alone"
            ),
            _ => format!(
                "{lockfile_name} cannot be read ({reason}); its packages are resolved again"
            ),
        });
    }
    previous
}

/// Pins are what compile writes: a module that declares them is refused.
fn refuse_declared_pins(nodes: &[EmittedNode<'_>], diagnostics: &mut Diagnostics) {
    for node in nodes {
        let (pinned, what) = match &node.spec {
            NodeSpec::Image(image) => (image.pins.is_some(), format!("image `{}`", image.name)),
            NodeSpec::Package(package) => (
                package.pins.is_some(),
                format!("package node `{}`", package.name),
            ),
            _ => continue,
        };
        if pinned {
            let span =
                field_span(node.declaration, "pins").unwrap_or(node.declaration.span.clone());
            diagnostics.push(
                Diagnostic::new(format!("{what} declares `pins`, which `cairn compile` writes"))
                    .at(node.declared_at.source, &span)
                    .hint("remove `pins`, `sources` and `architecture` (and a package node's `release`, `base` and `assumed`) from the declaration; name the package sources in `sources` of [packages], and compile pins the packages"),
            );
        }
    }
}
