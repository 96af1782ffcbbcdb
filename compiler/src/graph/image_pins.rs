//! Pins each image's packages, in the manner of Cargo.lock: resolved once, then kept.
//!
//! Only when the spec names package sources (`[images] sources`); without them images stay
//! unpinned, their versions left to whoever builds them. With them, for each image that
//! installs packages:
//! - the previous lockfile (at the output path) has the same image with the same requested
//!   packages, pinned against the same sources and architecture: its pins are kept, and
//!   nothing is fetched (a compile needs no network while the request is unchanged). A
//!   lockfile this cairn cannot read (an older one) still gives its pins
//!   (`previous_pins`);
//! - otherwise, or for every image under `--update-pins`, the sources' indexes are fetched
//!   once (`cairn_debian::IndexFetcher`, through the index cache) and the packages resolved as
//!   apt would (`cairn_debian::resolve`);
//! - a repository that cannot be reached keeps the previous pins where they answer the
//!   same request, with a note; where there are none, the compile fails naming the image,
//!   the source and the cause. A repository that answers wrongly (an index whose checksum
//!   is not the Release's) is always an error.

use std::ops::Range;
use std::path::Path;

use cairn_lockfiles::{ImageNode, ImagePins, NodeSpec, PackagePin};

use crate::diagnostic::{Diagnostic, Diagnostics, SourceSpan};
use crate::graph::emit::EmittedNode;
use crate::graph::previous_pins::PreviousPins;
use crate::module::node_declaration::{DeclaredValue, NodeDeclaration};
use crate::module::setting::SettingValue;
use crate::spec::ClusterSpec;
use crate::toml_reader::parse_document;
use cairn_debian::{
    Architecture, FetchError, FetchErrorKind, IndexCache, IndexFetcher, PinnedPackage, Requirement,
    ResolveError, SourceLine, resolve,
};

/// The settings section the sources and architecture are in.
const SECTION: &str = "images";

/// How images are pinned.
#[derive(Debug, Clone)]
pub struct PinningOptions<'a> {
    /// Resolve every image again (`--update-pins`), keeping nothing of the previous pins
    /// but what an unreachable repository leaves.
    pub update: bool,
    /// The lockfile the previous pins are read from: the compile's output.
    pub lockfile_path: &'a Path,
    /// Where fetched indexes are kept; `None` keeps none.
    pub cache: Option<IndexCache>,
}

/// `[images] sources` and `architecture`, checked.
struct Settings {
    sources: Vec<SourceLine>,
    /// As the lockfile records them.
    recorded: Vec<String>,
    architecture: Architecture,
    /// `[images] base_packages`: what every pinned image installs besides its own
    /// packages, in place of a base image's.
    base_packages: Vec<String>,
    /// `[images] keyring`: what each suite's Release must be signed by.
    keyring: Option<std::path::PathBuf>,
}

/// An image to resolve, and the previous lockfile's pins for the same request.
struct Unresolved {
    position: usize,
    previous: Option<ImagePins>,
}

/// Pins the packages of every image in `nodes` (see the module's notes); what the user
/// should know goes to `notes`.
pub fn pin_images(
    spec: &ClusterSpec,
    nodes: &mut [EmittedNode<'_>],
    options: &PinningOptions<'_>,
    notes: &mut Vec<String>,
) -> Result<(), Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    for node in nodes.iter() {
        if let NodeSpec::Image(image) = &node.spec
            && image.pins.is_some()
        {
            let span =
                field_span(node.declaration, "pins").unwrap_or(node.declaration.span.clone());
            diagnostics.push(
                Diagnostic::new(format!(
                    "image `{}` declares `pins`, which `cairn compile` writes",
                    image.name
                ))
                .at(node.declared_at.source, &span)
                .hint("remove `pins`, `sources` and `architecture` from the image; name the package sources in `sources` of [images], and compile pins the packages"),
            );
        }
    }
    let Some(settings) = read_settings(spec, &mut diagnostics) else {
        return finish(diagnostics);
    };
    let wanted: Vec<usize> = nodes
        .iter()
        .enumerate()
        .filter(
            |(_, node)| matches!(&node.spec, NodeSpec::Image(image) if !image.packages.is_empty()),
        )
        .map(|(position, _)| position)
        .collect();
    if wanted.is_empty() || !diagnostics.is_empty() {
        return finish(diagnostics);
    }

    let (previous, unreadable) = PreviousPins::read(options.lockfile_path);
    let lockfile_name = options.lockfile_path.display();
    let previous_problem = unreadable.map(|reason| match &previous {
        Some(pins) if !pins.is_empty() => format!(
            "{lockfile_name} cannot be read as a lockfile ({reason}); its images' pins are read from its text alone"
        ),
        _ => format!(
            "{lockfile_name} cannot be read ({reason}); its images' packages are resolved again"
        ),
    });
    if let Some(problem) = &previous_problem {
        notes.push(problem.clone());
    }
    let mut unresolved = Vec::new();
    for position in wanted {
        let NodeSpec::Image(image) = &mut nodes[position].spec else {
            continue;
        };
        // The base packages join the request: pinned with the rest, so an image built from
        // its pins alone has the shell and tools its entrypoint runs with.
        image
            .packages
            .extend(settings.base_packages.iter().cloned());
        image.packages.sort();
        image.packages.dedup();
        let kept = previous.as_ref().and_then(|previous| {
            previous.matching(
                &image.name,
                &image.packages,
                settings.architecture.as_str(),
                &settings.recorded,
            )
        });
        match kept {
            Some(pins) if !options.update => image.set_pins(Some(pins)),
            previous => unresolved.push(Unresolved { position, previous }),
        }
    }
    if unresolved.is_empty() {
        return finish(diagnostics);
    }

    let fetcher = IndexFetcher::new(options.cache.clone()).with_keyring(settings.keyring.clone());
    if settings.keyring.is_none() {
        notes.push(format!(
            "the sources' Release files are taken unsigned: name the keyring they must be signed by in `keyring` of [{SECTION}] (Debian's: /usr/share/keyrings/debian-archive-keyring.gpg)"
        ));
    }
    let fetched = match fetcher.fetch(&settings.sources, &settings.architecture) {
        Ok(fetched) => fetched,
        Err(error) => {
            // One error for every image the source leaves unpinned.
            let mut unpinned = Vec::new();
            let mut had_pins = false;
            for entry in unresolved {
                let NodeSpec::Image(image) = &mut nodes[entry.position].spec else {
                    continue;
                };
                match entry.previous {
                    Some(pins) if error.is_unreachable() => {
                        notes.push(format!(
                            "kept the pins of {} for image `{}`: {error}",
                            options.lockfile_path.display(),
                            image.name
                        ));
                        image.set_pins(Some(pins));
                    }
                    previous => {
                        had_pins |= previous.is_some();
                        unpinned.push(format!("`{}`", image.name));
                    }
                }
            }
            if !unpinned.is_empty() {
                let mut diagnostic = fetch_diagnostic(spec, &unpinned, &settings, &error, had_pins);
                if let Some(problem) = &previous_problem {
                    diagnostic = diagnostic.note(problem.clone());
                }
                diagnostics.push(diagnostic);
            }
            return finish(diagnostics);
        }
    };

    let mut pinned_images = Vec::new();
    for entry in unresolved {
        let node = &mut nodes[entry.position];
        let declaration = node.declaration;
        let at = node.declared_at.clone();
        let NodeSpec::Image(image) = &mut node.spec else {
            continue;
        };
        match resolve_image(image, &fetched.index, &settings.architecture) {
            Ok(packages) => {
                pinned_images.push(format!("{} ({})", image.name, packages.len()));
                image.set_pins(Some(ImagePins {
                    architecture: settings.architecture.as_str().to_string(),
                    sources: settings.recorded.clone(),
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
                    &settings,
                ));
            }
        }
    }
    if !pinned_images.is_empty() {
        notes.push(format!(
            "pinned the packages of {} against {} ({} downloaded, {} from the cache): {}",
            counted(pinned_images.len(), "image"),
            counted(settings.sources.len(), "source"),
            counted(fetched.downloaded, "index"),
            fetched.cached,
            pinned_images.join(", ")
        ));
    }
    finish(diagnostics)
}

fn finish(diagnostics: Diagnostics) -> Result<(), Diagnostics> {
    if diagnostics.is_empty() {
        Ok(())
    } else {
        Err(diagnostics)
    }
}

fn counted(count: usize, noun: &str) -> String {
    match (count, noun) {
        (1, _) => format!("1 {noun}"),
        (_, "index") => format!("{count} indexes"),
        _ => format!("{count} {noun}s"),
    }
}

/// The spec's `[images] sources` and `architecture`, each line checked; `None` when the
/// spec names no sources, or a problem was recorded.
fn read_settings(spec: &ClusterSpec, diagnostics: &mut Diagnostics) -> Option<Settings> {
    let section = spec.sections.get(SECTION)?;
    let Some(SettingValue::Strings(lines)) = section.values.get("sources") else {
        return None;
    };
    let mut sources = Vec::with_capacity(lines.len());
    let mut problems = false;
    for (position, line) in lines.iter().enumerate() {
        match SourceLine::parse(line) {
            Ok(source) => sources.push(source),
            Err(error) => {
                problems = true;
                diagnostics.push(
                    Diagnostic::new(format!("`sources` in [{SECTION}]: {}", error.message))
                        .at(&spec.source, &spec_span(spec, "sources", Some(position)))
                        .hint(error.hint),
                );
            }
        }
    }
    if sources.is_empty() && !problems {
        diagnostics.push(
            Diagnostic::new(format!("`sources` in [{SECTION}] is empty"))
                .at(&spec.source, &spec_span(spec, "sources", None))
                .hint("name at least one source, such as \"http://deb.debian.org/debian bookworm main\", or remove `sources` to leave images unpinned"),
        );
        return None;
    }
    let architecture = match section.values.get("architecture") {
        Some(SettingValue::String(name)) => name.as_str(),
        _ => "amd64",
    };
    let architecture = match Architecture::new(architecture) {
        Ok(architecture) => architecture,
        Err(error) => {
            diagnostics.push(
                Diagnostic::new(format!("`architecture` in [{SECTION}]: {error}"))
                    .at(&spec.source, &spec_span(spec, "architecture", None))
                    .hint("name a Debian architecture, as `dpkg --print-architecture` prints it"),
            );
            return None;
        }
    };
    if problems {
        return None;
    }
    let recorded = sources.iter().map(SourceLine::to_string).collect();
    let base_packages = match section.values.get("base_packages") {
        Some(SettingValue::Strings(names)) => names.clone(),
        _ => Vec::new(),
    };
    let keyring = match section.values.get("keyring") {
        Some(SettingValue::String(path)) => Some(std::path::PathBuf::from(path)),
        _ => None,
    };
    Some(Settings {
        sources,
        recorded,
        architecture,
        base_packages,
        keyring,
    })
}

/// Where the spec gives `[images] KEY` (its element at `position`, for a list): the spec is
/// parsed again, which only an error pays for.
pub(crate) fn spec_span(spec: &ClusterSpec, key: &str, position: Option<usize>) -> Range<usize> {
    let fallback = spec
        .sections
        .get(SECTION)
        .and_then(|section| section.span.clone())
        .unwrap_or(0..0);
    let Ok(document) = parse_document(&spec.source) else {
        return fallback;
    };
    let Some(toml::de::DeValue::Table(section)) =
        document.get_ref().get(SECTION).map(|item| item.get_ref())
    else {
        return fallback;
    };
    let Some(item) = section.get(key) else {
        return fallback;
    };
    match (item.get_ref(), position) {
        (toml::de::DeValue::Array(items), Some(position)) => items
            .get(position)
            .map_or_else(|| item.span(), |element| element.span()),
        _ => item.span(),
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

fn pin_of(package: PinnedPackage) -> PackagePin {
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
fn field_span(declaration: &NodeDeclaration, key: &str) -> Option<Range<usize>> {
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
    settings: &Settings,
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
        "resolved for {} against [{SECTION}] sources: {}",
        settings.architecture.as_str(),
        settings.recorded.join("; ")
    ))
    .maybe_hint(hint.or_else(|| {
        Some(
            "check the package's name with `apt-cache policy NAME` on a machine with these sources, or add the source that has it to `sources` of [images]"
                .to_string(),
        )
    }))
}

/// A source whose indexes could not be had, for the images that need them: at the spec's
/// line naming the source.
fn fetch_diagnostic(
    spec: &ClusterSpec,
    images: &[String],
    settings: &Settings,
    error: &FetchError,
    had_pins: bool,
) -> Diagnostic {
    let position = settings
        .recorded
        .iter()
        .position(|line| *line == error.source_line);
    let hint = match &error.kind {
        FetchErrorKind::Unreachable(_) => {
            "compile where the repository is reachable, or check its URL in `sources` of [images]; once the lockfile pins the image, compiles need no network until its packages change"
        }
        FetchErrorKind::Status(_) => {
            "check the URL and the suite in `sources` of [images]: the repository has no such file"
        }
        FetchErrorKind::NotListed(_) => {
            "check the components in `sources` and `architecture` in [images]: the suite does not publish that index"
        }
        FetchErrorKind::Mismatch { .. } => {
            "the mirror may be in the middle of an update, or the index was altered on the way: try again later, or another mirror"
        }
        FetchErrorKind::MalformedRelease(_) | FetchErrorKind::MalformedIndex(_) => {
            "check that the URL in `sources` of [images] is a Debian repository"
        }
        FetchErrorKind::Signature(_) => {
            "the repository is not the one `keyring` in [images] vouches for, or its answer was altered on the way: check the source's URL, and that the keyring holds the repository's signing key"
        }
    };
    let mut diagnostic = Diagnostic::new(format!(
        "cannot pin the packages of image{} {}: source `{}`: {error}",
        if images.len() == 1 { "" } else { "s" },
        images.join(", "),
        error.source_line
    ))
    .at(&spec.source, &spec_span(spec, "sources", position))
    .hint(hint);
    if had_pins {
        diagnostic = diagnostic.note(
            "the lockfile's pins are kept only where the repository cannot be reached, not where it answers wrongly",
        );
    }
    diagnostic
}
