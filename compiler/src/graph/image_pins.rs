//! Pins each image's packages, in the manner of Cargo.lock: resolved once, then kept.
//!
//! Only when the spec names package sources (`[packages] sources`); without them images
//! stay unpinned, their versions left to whoever builds them. With them, for each image
//! that installs packages:
//! - the previous lockfile (at the output path) has the same image with the same requested
//!   packages, pinned against the same sources and architecture: its pins are kept, and
//!   nothing is fetched (a compile needs no network while the request is unchanged). A
//!   lockfile this cairn cannot read (an older one) still gives its pins
//!   (`previous_pins`);
//! - otherwise, or for every image under `--update-pins`, the sources' indexes are fetched
//!   once for the whole compile (`package_sources::SharedIndex`, through the index cache)
//!   and the packages resolved as apt would on an empty system (`cairn_debian::resolve`);
//! - a repository that cannot be reached keeps the previous pins where they answer the
//!   same request, with a note; where there are none, the compile fails naming the image,
//!   the source and the cause. A repository that answers wrongly (an index whose checksum
//!   is not the Release's) is always an error.

use std::ops::Range;

use cairn_lockfiles::{ImageNode, ImagePins, NodeSpec, PackagePin};

use crate::diagnostic::{Diagnostic, Diagnostics, SourceSpan};
use crate::graph::emit::EmittedNode;
use crate::graph::offline_pins::OfflinePins;
use crate::graph::package_pins::PinningInputs;
use crate::graph::package_sources::{PackageSources, SharedIndex};
use crate::module::node_declaration::{DeclaredValue, NodeDeclaration};
use crate::module::setting::SettingValue;
use cairn_debian::{Architecture, FetchedIndex, PinnedPackage, Requirement, ResolveError, resolve};

/// How packages are pinned.
#[derive(Debug, Clone)]
pub struct PinningOptions<'a> {
    /// Resolve every request again (`--update-pins`), keeping nothing of the previous pins
    /// but what an unreachable repository leaves.
    pub update: bool,
    /// The lockfile the previous pins are read from: the one at the compile's output.
    pub previous: &'a crate::previous_lockfile::PreviousLockfile,
    /// Where fetched indexes are kept; `None` keeps none.
    pub cache: Option<cairn_debian::IndexCache>,
}

/// An image to resolve, and the previous lockfile's pins for the same request.
struct Unresolved {
    position: usize,
    previous: Option<ImagePins>,
}

/// Pins the packages of every image in `nodes` (see the module's notes) against
/// `inputs.sources`, with `inputs.previous` the previous lockfile's pins; what the user
/// should know goes to `notes`.
pub fn pin_images(
    inputs: &PinningInputs<'_>,
    nodes: &mut [EmittedNode<'_>],
    index: &mut SharedIndex,
    notes: &mut Vec<String>,
) -> Result<(), Diagnostics> {
    let PinningInputs {
        spec,
        sources,
        previous,
        ..
    } = *inputs;
    let unresolved = keep_previous_pins(inputs, nodes);
    if unresolved.is_empty() {
        return Ok(());
    }
    match index.get(sources) {
        Ok(fetched) => resolve_images(nodes, unresolved, sources, fetched, notes),
        Err(error) => {
            let mut offline = OfflinePins::new(error, previous);
            keep_pins_offline(nodes, unresolved, &mut offline, notes);
            let Some(diagnostic) = offline.diagnostic(spec, sources) else {
                return Ok(());
            };
            let mut diagnostics = Diagnostics::default();
            diagnostics.push(diagnostic);
            diagnostics.into_result()
        }
    }
}

/// Adds `[images] base_packages` to every image's request (pinned with the rest, so an
/// image built from its pins alone has the shell and tools its entrypoint runs with) and
/// keeps the previous pins where they answer the same request, unless `update`. Returns
/// the images left to resolve.
fn keep_previous_pins(
    inputs: &PinningInputs<'_>,
    nodes: &mut [EmittedNode<'_>],
) -> Vec<Unresolved> {
    let PinningInputs {
        spec,
        sources,
        previous,
        update,
    } = *inputs;
    let base_packages = match spec
        .sections
        .get("images")
        .and_then(|section| section.values.get("base_packages"))
    {
        Some(SettingValue::Strings(names)) => names.clone(),
        _ => Vec::new(),
    };
    let mut unresolved = Vec::new();
    for (position, node) in nodes.iter_mut().enumerate() {
        let NodeSpec::Image(image) = &mut node.spec else {
            continue;
        };
        if image.packages.is_empty() {
            continue;
        }
        image.packages.extend(base_packages.iter().cloned());
        image.packages.sort();
        image.packages.dedup();
        let kept = previous.and_then(|previous| {
            previous.matching(
                &image.name,
                &image.packages,
                sources.architecture.as_str(),
                &sources.recorded,
            )
        });
        match kept {
            Some(pins) if !update => image.set_pins(Some(pins)),
            previous => unresolved.push(Unresolved { position, previous }),
        }
    }
    unresolved
}

/// The indexes could not be fetched: an unreachable repository keeps the previous pins
/// where they answer the same request, with a note (`offline` gathers the images left
/// unpinned, for one error naming them all).
fn keep_pins_offline(
    nodes: &mut [EmittedNode<'_>],
    unresolved: Vec<Unresolved>,
    offline: &mut OfflinePins<'_>,
    notes: &mut Vec<String>,
) {
    for entry in unresolved {
        let NodeSpec::Image(image) = &mut nodes[entry.position].spec else {
            continue;
        };
        let subject = format!("image `{}`", image.name);
        if let Some(pins) = offline.keep(subject, entry.previous, notes) {
            image.set_pins(Some(pins));
        }
    }
}

/// Resolves each image left against the fetched index; an image that does not resolve is
/// an error at its `packages`.
fn resolve_images(
    nodes: &mut [EmittedNode<'_>],
    unresolved: Vec<Unresolved>,
    sources: &PackageSources,
    fetched: &FetchedIndex,
    notes: &mut Vec<String>,
) -> Result<(), Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let mut pinned_images = Vec::new();
    for entry in unresolved {
        let node = &mut nodes[entry.position];
        let declaration = node.declaration;
        let at = node.declared_at.clone();
        let NodeSpec::Image(image) = &mut node.spec else {
            continue;
        };
        match resolve_image(image, &fetched.index, &sources.architecture) {
            Ok(packages) => {
                pinned_images.push(format!("{} ({})", image.name, packages.len()));
                image.set_pins(Some(ImagePins {
                    architecture: sources.architecture.as_str().to_string(),
                    sources: sources.recorded.clone(),
                    packages,
                }));
            }
            Err((package, message)) => {
                diagnostics.push(resolve_diagnostic(
                    image,
                    declaration,
                    &at,
                    package.as_deref(),
                    &message,
                    sources,
                ));
            }
        }
    }
    if !pinned_images.is_empty() {
        notes.push(format!(
            "pinned the packages of {} against {} ({} downloaded, {} from the cache): {}",
            counted(pinned_images.len(), "image"),
            counted(sources.sources.len(), "source"),
            counted(fetched.downloaded, "index"),
            fetched.cached,
            pinned_images.join(", ")
        ));
    }
    diagnostics.into_result()
}

pub(crate) fn counted(count: usize, noun: &str) -> String {
    match (count, noun) {
        (1, _) => format!("1 {noun}"),
        (_, "index") => format!("{count} indexes"),
        _ => format!("{count} {noun}s"),
    }
}

/// The closure of the image's packages, or the package an error is about (if one) and
/// what it says.
fn resolve_image(
    image: &ImageNode,
    index: &cairn_debian::PackagesIndex,
    architecture: &Architecture,
) -> Result<Vec<PackagePin>, (Option<String>, String)> {
    let mut requirements = Vec::with_capacity(image.packages.len());
    for package in &image.packages {
        let requirement = Requirement::parse(package)
            .map_err(|error| (Some(package.clone()), error.to_string()))?;
        requirements.push(requirement);
    }
    let pinned = resolve(index, &requirements, architecture).map_err(|error| {
        let package = match &error {
            ResolveError::NotInRepository { name, .. }
            | ResolveError::VersionNotInRepository { name, .. }
            | ResolveError::SeveralProviders { name, .. }
            | ResolveError::ConflictingRequirements { name, .. } => Some(name.clone()),
            ResolveError::Unsatisfiable { .. } => None,
        };
        (package, error.to_string())
    })?;
    Ok(pinned.into_iter().map(pin_of).collect())
}

/// The lockfile's record of a package the resolver chose: images and host package nodes
/// pin alike.
pub(crate) fn pin_of(package: PinnedPackage) -> PackagePin {
    PackagePin {
        name: package.name,
        version: package.version.to_string(),
        architecture: package.architecture,
        url: package.url,
        sha256: package.sha256,
        size: package.size,
    }
}

/// The span of a declaration's field `key`.
pub(crate) fn field_span(declaration: &NodeDeclaration, key: &str) -> Option<Range<usize>> {
    declaration
        .fields
        .iter()
        .find(|(field, _)| field.value == key)
        .map(|(field, _)| field.span.clone())
}

/// An error resolving an image's packages, at its `packages` line (the element naming
/// `package`, where the module writes it as it is).
fn resolve_diagnostic(
    image: &ImageNode,
    declaration: &NodeDeclaration,
    at: &SourceSpan<'_>,
    package: Option<&str>,
    message: &str,
    sources: &PackageSources,
) -> Diagnostic {
    let packages = declaration
        .fields
        .iter()
        .find(|(field, _)| field.value == "packages")
        .map(|(_, value)| value);
    let element = packages.and_then(|value| match (&value.value, package) {
        (DeclaredValue::List(items), Some(package)) => items.iter().find(|item| {
            matches!(&item.value, DeclaredValue::String(text)
                if text == package || text.split_once('=').is_some_and(|(name, _)| name == package))
        }),
        _ => None,
    });
    let span = element
        .or(packages)
        .map_or_else(|| at.span.clone(), |located| located.span.clone());
    let (message, hint) = match message.split_once("\nhint: ") {
        Some((message, hint)) => (message, Some(hint.to_string())),
        None => (message, None),
    };
    Diagnostic::new(format!(
        "cannot pin the packages of image `{}`: {message}",
        image.name
    ))
    .at(at.source, &span)
    .note(format!(
        "resolved for {} against [packages] sources: {}",
        sources.architecture.as_str(),
        sources.recorded.join("; ")
    ))
    .maybe_hint(hint.or_else(|| {
        Some(
            "check the package's name with `apt-cache policy NAME` on a machine with these sources, or add the source that has it to `sources` of [packages]"
                .to_string(),
        )
    }))
}
