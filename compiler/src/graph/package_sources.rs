//! `[packages]`: the Debian sources every pinned package is resolved against (images' and
//! hosts'), their architecture and keyring, and the base system hosts are assumed to have;
//! and the one fetch of their indexes that image and host pinning share.

use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::module::setting::SettingValue;
use crate::spec::ClusterSpec;
use cairn_debian::{
    Architecture, FetchError, FetchErrorKind, FetchedIndex, IndexCache, IndexFetcher, Priority,
    SourceLine,
};

/// The settings section.
pub const SECTION: &str = "packages";

/// Suite names that are aliases of a release, not the release: hosts name their release by
/// its codename (`/etc/os-release`'s `VERSION_CODENAME`), so the first source must too.
const SUITE_ALIASES: [&str; 6] = [
    "stable",
    "oldstable",
    "oldoldstable",
    "testing",
    "unstable",
    "experimental",
];

/// `[packages]`, checked.
#[derive(Debug)]
pub struct PackageSources {
    pub sources: Vec<SourceLine>,
    /// As the lockfile records them.
    pub recorded: Vec<String>,
    pub architecture: Architecture,
    /// Each suite's Release must be signed by it.
    pub keyring: Option<PathBuf>,
    /// The release every host must run: the first source's suite, up to its first `-`
    /// (`bookworm-updates` is `bookworm`).
    pub release: String,
    /// The least important `Priority` of the base system hosts are assumed to have.
    pub assumed_base: Priority,
}

impl PackageSources {
    /// The lines of `sources` in `[packages]`, where the spec gives them.
    fn lines(spec: &ClusterSpec) -> Option<&Vec<String>> {
        match spec.sections.get(SECTION)?.values.get("sources") {
            Some(SettingValue::Strings(lines)) => Some(lines),
            _ => None,
        }
    }

    /// Whether the spec names sources: [`PackageSources::read`] has them to check.
    pub fn named(spec: &ClusterSpec) -> bool {
        Self::lines(spec).is_some()
    }

    /// `[packages]` of the spec, each line checked; `None` when the spec names no sources,
    /// or a problem was recorded.
    pub fn read(spec: &ClusterSpec, diagnostics: &mut Diagnostics) -> Option<PackageSources> {
        let section = spec.sections.get(SECTION)?;
        let lines = Self::lines(spec)?;
        let sources = read_source_lines(spec, lines, diagnostics)?;
        let architecture = match section.values.get("architecture") {
            Some(SettingValue::String(name)) => name.as_str(),
            _ => "amd64",
        };
        let architecture = match Architecture::new(architecture) {
            Ok(architecture) => architecture,
            Err(error) => {
                diagnostics.push(
                    Diagnostic::new(format!("`architecture` in [{SECTION}]: {error}"))
                        .at(
                            &spec.source,
                            &spec.setting_span(SECTION, "architecture", None),
                        )
                        .hint(
                            "name a Debian architecture, as `dpkg --print-architecture` prints it",
                        ),
                );
                return None;
            }
        };
        let release = release_of(spec, &sources[0], diagnostics)?;
        let recorded = sources.iter().map(SourceLine::to_string).collect();
        let keyring = match section.values.get("keyring") {
            Some(SettingValue::String(path)) => Some(PathBuf::from(path)),
            _ => None,
        };
        let assumed_base = match section.values.get("assume_installed") {
            Some(SettingValue::String(word)) if word == "important" => Priority::Important,
            _ => Priority::Required,
        };
        Some(PackageSources {
            sources,
            recorded,
            architecture,
            keyring,
            release,
            assumed_base,
        })
    }

    /// `assume_installed` as the lockfile records it.
    pub fn assumed_base_name(&self) -> &'static str {
        match self.assumed_base {
            Priority::Important => "important",
            _ => "required",
        }
    }
}

/// Each `sources` line parsed; `None` (with the problems recorded) when one does not parse
/// or there is none.
fn read_source_lines(
    spec: &ClusterSpec,
    lines: &[String],
    diagnostics: &mut Diagnostics,
) -> Option<Vec<SourceLine>> {
    let mut sources = Vec::with_capacity(lines.len());
    let mut problems = false;
    for (position, line) in lines.iter().enumerate() {
        match SourceLine::parse(line) {
            Ok(source) => sources.push(source),
            Err(error) => {
                problems = true;
                diagnostics.push(
                    Diagnostic::new(format!("`sources` in [{SECTION}]: {}", error.message))
                        .at(
                            &spec.source,
                            &spec.setting_span(SECTION, "sources", Some(position)),
                        )
                        .hint(error.hint),
                );
            }
        }
    }
    if sources.is_empty() && !problems {
        diagnostics.push(
            Diagnostic::new(format!("`sources` in [{SECTION}] is empty"))
                .at(&spec.source, &spec.setting_span(SECTION, "sources", None))
                .hint("name at least one source, such as \"http://deb.debian.org/debian bookworm main\", or remove `sources` to leave packages unpinned"),
        );
        return None;
    }
    (!problems).then_some(sources)
}

/// The release the first source is: its suite's codename, up to the first `-`.
fn release_of(
    spec: &ClusterSpec,
    first: &SourceLine,
    diagnostics: &mut Diagnostics,
) -> Option<String> {
    let suite = first.suite.as_str();
    let release = suite.split('-').next().unwrap_or(suite);
    let codename = !release.is_empty()
        && release
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit());
    if codename && !SUITE_ALIASES.contains(&release) {
        return Some(release.to_string());
    }
    diagnostics.push(
        Diagnostic::new(format!(
            "`sources` in [{SECTION}]: the first source's suite `{suite}` does not name a release by its codename"
        ))
        .at(&spec.source, &spec.setting_span(SECTION, "sources", Some(0)))
        .hint("name the release as hosts do in /etc/os-release's VERSION_CODENAME, such as `bookworm` for Debian 12: an alias like `stable` moves to another release one day, and hosts are checked against it"),
    );
    None
}

/// The sources' indexes, fetched at most once for every pinning of a compile.
#[derive(Debug)]
pub struct SharedIndex {
    fetcher: IndexFetcher,
    fetched: Option<Result<FetchedIndex, FetchError>>,
}

impl SharedIndex {
    pub fn new(cache: Option<IndexCache>, keyring: Option<PathBuf>) -> SharedIndex {
        SharedIndex {
            fetcher: IndexFetcher::new(cache).with_keyring(keyring),
            fetched: None,
        }
    }

    /// The merged index of every source, fetched on the first call.
    pub fn get(&mut self, sources: &PackageSources) -> Result<&FetchedIndex, &FetchError> {
        self.fetched
            .get_or_insert_with(|| self.fetcher.fetch(&sources.sources, &sources.architecture))
            .as_ref()
    }

    /// Whether the indexes were fetched (or their fetch tried).
    pub fn was_fetched(&self) -> Option<&FetchedIndex> {
        self.fetched
            .as_ref()
            .and_then(|fetched| fetched.as_ref().ok())
    }
}

/// A source whose indexes could not be had, for the nodes (`subjects`, such as "image
/// `haproxy`") that need them: at the spec's line naming the source.
pub fn fetch_diagnostic(
    spec: &ClusterSpec,
    subjects: &[String],
    sources: &PackageSources,
    error: &FetchError,
    had_pins: bool,
) -> Diagnostic {
    let position = sources
        .recorded
        .iter()
        .position(|line| *line == error.source_line);
    let hint = match &error.kind {
        FetchErrorKind::Unreachable(_) => {
            "compile where the repository is reachable, or check its URL in `sources` of [packages]; once the lockfile pins the packages, compiles need no network until a request changes"
        }
        FetchErrorKind::Status(_) => {
            "check the URL and the suite in `sources` of [packages]: the repository has no such file"
        }
        FetchErrorKind::NotListed(_) => {
            "check the components in `sources` and `architecture` in [packages]: the suite does not publish that index"
        }
        FetchErrorKind::Mismatch { .. } => {
            "the mirror may be in the middle of an update, or the index was altered on the way: try again later, or another mirror"
        }
        FetchErrorKind::MalformedRelease(_) | FetchErrorKind::MalformedIndex(_) => {
            "check that the URL in `sources` of [packages] is a Debian repository"
        }
        FetchErrorKind::Signature(_) => {
            "the repository is not the one `keyring` in [packages] vouches for, or its answer was altered on the way: check the source's URL, and that the keyring holds the repository's signing key"
        }
    };
    let mut diagnostic = Diagnostic::new(format!(
        "cannot pin the packages of {}: source `{}`: {error}",
        subjects.join(", "),
        error.source_line
    ))
    .at(
        &spec.source,
        &spec.setting_span(SECTION, "sources", position),
    )
    .hint(hint);
    if had_pins {
        diagnostic = diagnostic.note(
            "the lockfile's pins are kept only where the repository cannot be reached, not where it answers wrongly",
        );
    }
    diagnostic
}
