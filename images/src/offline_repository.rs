//! The offline package repository: the `.deb`s a lockfile pins, exported from the artifact
//! store as the Debian repository the control host serves (module repository-server) and
//! every host's apt reads (host-base's `cairn.sources`).
//!
//! Design notes:
//! - [`OfflineRepository::of_lockfile`] checks the lockfile first: every image's pins, each
//!   package version once (two images pinning one name, version and architecture with
//!   different files are refused), the architectures, and the suite and components the
//!   lockfile's hosts read (their rendered `cairn.sources`), so that the export answers
//!   exactly what they ask. A lockfile without those sources exports suite `cairn`,
//!   component `main`.
//! - [`OfflineRepository::export`] reads each `.deb` from the store once, hashing it as it
//!   goes and taking its control paragraph on the way: a store file whose sha256 is not the
//!   pinned one is refused, naming the package, and removed from the store. Then, in the
//!   order a reader needs: the `.deb`s into `pool/` (hard links to the store where the
//!   filesystems allow, copies otherwise), each index by a rename (`Packages`,
//!   `Packages.gz`), the suite's `Release` last, and only then what the previous export had
//!   and this one has not (indexes, `.deb`s, another suite cairn exported).
//! - The same lockfile exports the same bytes: paragraphs sorted, gzip without a name or a
//!   time, and a `Release` whose `Date` is the epoch (apt warns of a `Release` without one;
//!   it refuses only a date in the future). A file whose bytes do not change is not written
//!   again, so nginx answers an unchanged repository's `apt-get update` with 304s.
//! - Unsigned: no `InRelease`, no `Release.gpg`. Hosts trust it because their source says
//!   `Trusted: yes` (host-base); every `.deb` in it was checked against the lockfile here.
//! - Files are world-readable and folders listable (0644, 0755, whatever the umask): nginx's
//!   workers read them as `www-data`. The store's own copy of a `.deb` is made readable
//!   too, since a hard link shares its mode.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use cairn_debian::{Paragraph, ParagraphWriter, paragraphs, read_control_paragraph, sha256_hex};
use cairn_lockfiles::{Lockfile, NodeSpec, write_atomically_with_mode};
use sha2::{Digest, Sha256};

use crate::artifact_store::{ArtifactStore, create_folders, link_or_copy};
use crate::compression::gzip;
use crate::work_queue::{cores, map_in_parallel};

/// The suite of a lockfile whose hosts have no `cairn.sources` (host-base left out).
pub const DEFAULT_SUITE: &str = "cairn";
/// The component of such a lockfile.
pub const DEFAULT_COMPONENT: &str = "main";
/// Where host-base writes each host's apt source.
pub const HOSTS_SOURCES_PATH: &str = "/etc/apt/sources.list.d/cairn.sources";
/// The `Origin` (and `Label`) of every `Release` cairn writes: how a re-export knows a
/// suite of `dists/` as its own.
const ORIGIN: &str = "cairn";
/// A date derived from nothing: the same lockfile exports the same bytes.
const RELEASE_DATE: &str = "Thu, 01 Jan 1970 00:00:00 UTC";
/// What a file being placed is called until its rename.
const PARTIAL_SUFFIX: &str = ".cairn-partial";

/// Why a lockfile cannot be exported as a repository.
#[derive(Debug, thiserror::Error)]
pub enum OfflineRepositoryError {
    /// No image has pins: there is nothing to serve.
    #[error(
        "the lockfile pins no Debian package, so there is no repository to export\nhint: give the spec `[packages] sources` and compile again: each image's packages are then pinned"
    )]
    NothingPinned,
    /// The hosts' sources do not agree on what they ask for.
    #[error(
        "the hosts read different suites or components from the repository ({}), and one export serves one suite\nhint: set host-base's `[repository] suite` and `components` once for the whole cluster",
        .0.join("; ")
    )]
    HostsDisagree(Vec<String>),
    /// A host's source names no suite, or several.
    #[error("{host}'s {HOSTS_SOURCES_PATH} {message}")]
    UnreadableSources { host: String, message: String },
    /// Two pins that must be one package in the index are different files.
    #[error(transparent)]
    ConflictingPins(Box<ConflictingPins>),
    /// Packages that could not be taken from the store, each named.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Packages(Vec<PackageProblem>),
    /// The export folder could not be written.
    #[error("exporting the repository to {path}: {error}")]
    Write { path: PathBuf, error: io::Error },
}

/// Two pins that are one package version of the repository, with different files.
#[derive(Debug, thiserror::Error)]
#[error(
    "{name} {version} ({architecture}) is pinned as two different files, sha256 {first} (image {first_images}) and {second} (image {second_images}); one repository serves one file per package version\nhint: compile every image from the same `[packages] sources`"
)]
pub struct ConflictingPins {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub first: String,
    pub first_images: String,
    pub second: String,
    pub second_images: String,
}

/// Why one pinned package could not go into the repository.
#[derive(Debug, thiserror::Error)]
pub enum PackageProblem {
    #[error(
        "{package} is not in the store ({path}): {error}\nhint: `cairn fetch LOCK` downloads it"
    )]
    Missing {
        package: String,
        path: PathBuf,
        error: io::Error,
    },
    #[error(
        "the store's copy of {package} ({path}) is not the pinned file: its sha256 is {actual}, the lockfile pins {expected} (for image {images}); it was removed from the store\nhint: `cairn fetch LOCK` downloads it again"
    )]
    Mismatch {
        package: String,
        path: PathBuf,
        expected: String,
        actual: String,
        images: String,
    },
    #[error("the store's copy of {package} ({path}): {message}")]
    Unreadable {
        package: String,
        path: PathBuf,
        message: String,
    },
    #[error(
        "the file pinned as {package} says it is {actual} in its control file (for image {images})"
    )]
    NotThePinnedPackage {
        package: String,
        actual: String,
        images: String,
    },
}

/// What [`OfflineRepository::export`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    pub packages: usize,
    /// `.deb`s in `pool/` that are the store's file itself (a hard link).
    pub linked: usize,
    /// `.deb`s in `pool/` that are copies (another filesystem than the store's).
    pub copied: usize,
    /// `.deb`s of an earlier export that this lockfile does not pin, removed.
    pub removed: usize,
}

/// One package version of the repository.
#[derive(Debug, Clone)]
struct PinnedPackage {
    name: String,
    version: String,
    /// The package's own `Architecture`: an image's architecture, or `all`.
    architecture: String,
    sha256: String,
    /// The images that pin it, sorted.
    images: BTreeSet<String>,
}

impl PinnedPackage {
    /// `cairn-lib 1.0 (all)`: how errors name it.
    fn label(&self) -> String {
        format!("{} {} ({})", self.name, self.version, self.architecture)
    }

    fn images(&self) -> String {
        self.images.iter().cloned().collect::<Vec<_>>().join(", ")
    }

    /// Where it goes in the repository, as Debian's pools lay packages out: by component,
    /// the name's first letter (`lib` and one more for libraries), the name; the file
    /// named as dpkg-deb names it, the version without its epoch.
    fn pool_path(&self, component: &str) -> String {
        let prefix = if self.name.starts_with("lib") && self.name.len() > 3 {
            &self.name[..4]
        } else {
            &self.name[..1]
        };
        let upstream = self
            .version
            .split_once(':')
            .map_or(self.version.as_str(), |(_, rest)| rest);
        format!(
            "pool/{component}/{prefix}/{name}/{name}_{upstream}_{architecture}.deb",
            name = self.name,
            architecture = self.architecture
        )
    }
}

/// A package read from the store: its file there, and its paragraph of the `Packages`
/// index.
#[derive(Debug)]
struct StoredPackage {
    stored: PathBuf,
    index_paragraph: String,
}

/// The repository a lockfile exports: checked, not yet written.
#[derive(Debug)]
pub struct OfflineRepository {
    suite: String,
    /// The packages go in the first; the others get empty indexes, so that apt finds every
    /// component its source names.
    components: Vec<String>,
    /// The images' architectures, sorted: one index each, `all` packages in every one.
    architectures: BTreeSet<String>,
    /// By name, version and architecture: the indexes' order.
    packages: BTreeMap<(String, String, String), PinnedPackage>,
}

impl OfflineRepository {
    /// Every image's pins, each package version once, and the suite and components the
    /// lockfile's hosts read.
    pub fn of_lockfile(lockfile: &Lockfile) -> Result<Self, OfflineRepositoryError> {
        let mut packages: BTreeMap<(String, String, String), PinnedPackage> = BTreeMap::new();
        let mut architectures = BTreeSet::new();
        for node in lockfile.nodes() {
            let NodeSpec::Image(image) = &node.spec else {
                continue;
            };
            let Some(pins) = &image.pins else {
                continue;
            };
            architectures.insert(pins.architecture.clone());
            for pin in &pins.packages {
                let key = (
                    pin.name.clone(),
                    pin.version.clone(),
                    pin.architecture.clone(),
                );
                let package = packages.entry(key).or_insert_with(|| PinnedPackage {
                    name: pin.name.clone(),
                    version: pin.version.clone(),
                    architecture: pin.architecture.clone(),
                    sha256: pin.sha256.clone(),
                    images: BTreeSet::new(),
                });
                if package.sha256 != pin.sha256 {
                    return Err(OfflineRepositoryError::ConflictingPins(Box::new(
                        ConflictingPins {
                            name: pin.name.clone(),
                            version: pin.version.clone(),
                            architecture: pin.architecture.clone(),
                            first: package.sha256.clone(),
                            first_images: package.images(),
                            second: pin.sha256.clone(),
                            second_images: image.name.clone(),
                        },
                    )));
                }
                package.images.insert(image.name.clone());
                if pin.architecture != "all" {
                    architectures.insert(pin.architecture.clone());
                }
            }
        }
        if packages.is_empty() {
            return Err(OfflineRepositoryError::NothingPinned);
        }
        let (suite, components) = sources_hosts_read(lockfile)?.unwrap_or_else(|| {
            (
                DEFAULT_SUITE.to_string(),
                vec![DEFAULT_COMPONENT.to_string()],
            )
        });
        let repository = Self {
            suite,
            components,
            architectures,
            packages,
        };
        // Versions differing only in their epoch would share a file name in the pool.
        let mut pool_paths: BTreeMap<String, &PinnedPackage> = BTreeMap::new();
        for package in repository.packages.values() {
            let path = package.pool_path(repository.component());
            if let Some(other) = pool_paths.insert(path, package) {
                return Err(OfflineRepositoryError::ConflictingPins(Box::new(
                    ConflictingPins {
                        name: package.name.clone(),
                        version: format!("{} and {}", other.version, package.version),
                        architecture: package.architecture.clone(),
                        first: other.sha256.clone(),
                        first_images: other.images(),
                        second: package.sha256.clone(),
                        second_images: package.images(),
                    },
                )));
            }
        }
        Ok(repository)
    }

    /// The suite, as hosts name it in their sources: `dists/<suite>`.
    pub fn suite(&self) -> &str {
        &self.suite
    }

    pub fn components(&self) -> &[String] {
        &self.components
    }

    pub fn architectures(&self) -> impl Iterator<Item = &str> {
        self.architectures.iter().map(String::as_str)
    }

    /// How many package versions it holds.
    pub fn package_count(&self) -> usize {
        self.packages.len()
    }

    /// The component the packages are in.
    fn component(&self) -> &str {
        &self.components[0]
    }

    /// Writes the repository to `folder` from the `.deb`s in `store`, each checked against
    /// its pinned sha256, replacing an earlier export there: its indexes each by a rename,
    /// the `Release` last, then what it had and this one has not.
    pub fn export(
        &self,
        store: &ArtifactStore,
        folder: &Path,
    ) -> Result<ExportReport, OfflineRepositoryError> {
        let stored = self.read_from_store(store)?;
        let write_error = |path: &Path| {
            let path = path.to_path_buf();
            move |error| OfflineRepositoryError::Write { path, error }
        };
        create_folders(folder).map_err(write_error(folder))?;

        // The pool first: an index never names a file that is not there yet.
        let mut pool_files = BTreeSet::new();
        let (mut linked, mut copied) = (0, 0);
        for (package, stored) in self.packages.values().zip(&stored) {
            let relative = package.pool_path(self.component());
            let destination = folder.join(&relative);
            if let Some(parent) = destination.parent() {
                create_folders(parent).map_err(write_error(parent))?;
            }
            let is_link = place(&stored.stored, &destination, &package.sha256)
                .map_err(write_error(&destination))?;
            if is_link {
                linked += 1;
            } else {
                copied += 1;
            }
            pool_files.insert(destination);
        }

        // The indexes, then the Release that lists them.
        let suite_folder = folder.join("dists").join(&self.suite);
        let mut index_files = BTreeSet::new();
        let mut listed = Vec::new();
        for (path, bytes) in self.indexes(&stored) {
            let destination = suite_folder.join(&path);
            if let Some(parent) = destination.parent() {
                create_folders(parent).map_err(write_error(parent))?;
            }
            write_atomically_with_mode(&destination, &bytes, 0o644)
                .map_err(write_error(&destination))?;
            listed.push((path, bytes.len(), sha256_hex(&bytes)));
            index_files.insert(destination);
        }
        let release_path = suite_folder.join("Release");
        write_atomically_with_mode(&release_path, self.release(&listed).as_bytes(), 0o644)
            .map_err(write_error(&release_path))?;
        index_files.insert(release_path);

        // Only now what this export no longer has.
        remove_stale(&suite_folder, &index_files, |_| true).map_err(write_error(&suite_folder))?;
        remove_other_cairn_suites(&folder.join("dists"), &self.suite)
            .map_err(write_error(&folder.join("dists")))?;
        let pool = folder.join("pool");
        let removed = remove_stale(&pool, &pool_files, |path| {
            let name = path.to_string_lossy();
            name.ends_with(".deb") || name.ends_with(PARTIAL_SUFFIX)
        })
        .map_err(write_error(&pool))?;
        Ok(ExportReport {
            packages: self.packages.len(),
            linked,
            copied,
            removed,
        })
    }

    /// Every package's store file, checked against its pin while its control paragraph is
    /// read, on every core; all problems at once, each naming its package.
    fn read_from_store(
        &self,
        store: &ArtifactStore,
    ) -> Result<Vec<StoredPackage>, OfflineRepositoryError> {
        let packages: Vec<&PinnedPackage> = self.packages.values().collect();
        let results = map_in_parallel(&packages, cores(), |package| {
            read_stored(store, package, &package.pool_path(self.component()))
        });
        let mut stored = Vec::with_capacity(results.len());
        let mut problems = Vec::new();
        for result in results {
            match result {
                Ok(package) => stored.push(package),
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty() {
            Ok(stored)
        } else {
            Err(OfflineRepositoryError::Packages(problems))
        }
    }

    /// Each index, by its path below the suite's folder, in the `Release`'s order:
    /// `Packages` and `Packages.gz` of every component and architecture.
    fn indexes(&self, stored: &[StoredPackage]) -> Vec<(String, Vec<u8>)> {
        let mut indexes = Vec::new();
        for component in &self.components {
            for architecture in &self.architectures {
                let mut text = String::new();
                if component == self.component() {
                    for (package, stored) in self.packages.values().zip(stored) {
                        if package.architecture == *architecture || package.architecture == "all" {
                            text.push_str(&stored.index_paragraph);
                            text.push('\n');
                        }
                    }
                }
                let folder = format!("{component}/binary-{architecture}");
                indexes.push((format!("{folder}/Packages.gz"), gzip(text.as_bytes(), 9)));
                indexes.push((format!("{folder}/Packages"), text.into_bytes()));
            }
        }
        indexes.sort();
        indexes
    }

    /// The suite's `Release`: what it is, and each index with its size and sha256.
    fn release(&self, listed: &[(String, usize, String)]) -> String {
        let architectures: Vec<&str> = self.architectures.iter().map(String::as_str).collect();
        let mut files = String::new();
        for (path, size, sha256) in listed {
            files.push_str(&format!("\n{sha256} {size:>8} {path}"));
        }
        let mut release = ParagraphWriter::new();
        release
            .field("Origin", ORIGIN)
            .field("Label", ORIGIN)
            .field("Suite", &self.suite)
            .field("Codename", &self.suite)
            .field("Date", RELEASE_DATE)
            .field("Architectures", &architectures.join(" "))
            .field("Components", &self.components.join(" "))
            .field(
                "Description",
                "the Debian packages a cairn lockfile pins (cairn fetch --export)",
            )
            .field("SHA256", &files);
        release.finish()
    }
}

/// The suite and components the lockfile's hosts ask the repository for: those of the
/// `cairn.sources` host-base renders for each (`Suites`, `Components`). `None` where no host
/// has one.
fn sources_hosts_read(
    lockfile: &Lockfile,
) -> Result<Option<(String, Vec<String>)>, OfflineRepositoryError> {
    let mut read: BTreeMap<(String, Vec<String>), Vec<String>> = BTreeMap::new();
    for node in lockfile.nodes() {
        let NodeSpec::File(file) = &node.spec else {
            continue;
        };
        if file.path != HOSTS_SOURCES_PATH {
            continue;
        }
        let host = node.name.scope.host().unwrap_or("cluster").to_string();
        let sources: Vec<Paragraph<'_>> = paragraphs(file.content.as_str())
            .collect::<Result<_, _>>()
            .map_err(|error| OfflineRepositoryError::UnreadableSources {
                host: host.clone(),
                message: format!("is not deb822, as apt reads it: {error}"),
            })?;
        // Every paragraph's: one export serves one suite, whatever the paragraphs.
        let field = |name: &str| -> Vec<String> {
            sources
                .iter()
                .flat_map(Paragraph::fields)
                .filter(|field| field.is(name))
                .flat_map(|field| {
                    let value = field.value();
                    value
                        .split_whitespace()
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let suites = field("Suites");
        let [suite] = suites.as_slice() else {
            return Err(OfflineRepositoryError::UnreadableSources {
                host,
                message: format!(
                    "names {} suites ({}), and an export serves exactly one",
                    suites.len(),
                    suites.join(" ")
                ),
            });
        };
        let components = field("Components");
        if components.is_empty() {
            return Err(OfflineRepositoryError::UnreadableSources {
                host,
                message: "names no component".to_string(),
            });
        }
        if let Some(name) = std::iter::once(suite)
            .chain(&components)
            .find(|name| !is_plain_name(name))
        {
            return Err(OfflineRepositoryError::UnreadableSources {
                host,
                message: format!(
                    "names `{name}`, which is not a plain suite or component name (letters, digits, `.+_-`): the export makes a folder of each"
                ),
            });
        }
        read.entry((suite.clone(), components))
            .or_default()
            .push(host);
    }
    if read.len() > 1 {
        return Err(OfflineRepositoryError::HostsDisagree(
            read.iter()
                .map(|((suite, components), hosts)| {
                    format!(
                        "{} read suite {suite}, components {}",
                        hosts.join(", "),
                        components.join(" ")
                    )
                })
                .collect(),
        ));
    }
    Ok(read.into_keys().next())
}

/// A name that is one folder of `dists/`, never `.`, `..` or a path.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".+_-".contains(&byte))
}

/// Reads `package`'s file from the store: its sha256 and size over every byte, its control
/// paragraph from the first ones, in one pass; its index paragraph names it `filename`. A
/// file that is not the pinned one is removed from the store, so the next fetch downloads it
/// again.
fn read_stored(
    store: &ArtifactStore,
    package: &PinnedPackage,
    filename: &str,
) -> Result<StoredPackage, PackageProblem> {
    let path = store.path_of(&package.sha256);
    let file = fs::File::open(&path).map_err(|error| PackageProblem::Missing {
        package: package.label(),
        path: path.clone(),
        error,
    })?;
    let mut reader = HashingReader {
        inner: BufReader::with_capacity(256 * 1024, file),
        hasher: Sha256::new(),
        size: 0,
    };
    let control = read_control_paragraph(&mut reader, &package.label());
    let unreadable = |message: String| PackageProblem::Unreadable {
        package: package.label(),
        path: path.clone(),
        message,
    };
    io::copy(&mut reader, &mut io::sink()).map_err(|error| unreadable(error.to_string()))?;
    let actual = format!("{:x}", reader.hasher.finalize());
    if actual != package.sha256 {
        let _ = fs::remove_file(&path);
        return Err(PackageProblem::Mismatch {
            package: package.label(),
            path: path.clone(),
            expected: package.sha256.clone(),
            actual,
            images: package.images(),
        });
    }
    let control = control.map_err(|error| unreadable(error.message))?;
    let control = Paragraph::parse(&control)
        .map_err(|error| unreadable(format!("its control file: {error}")))?;
    check_is_pinned(&control, package)?;
    Ok(StoredPackage {
        index_paragraph: index_paragraph(&control, filename, reader.size, &package.sha256),
        stored: path,
    })
}

/// Whether the control paragraph says it is the package `package` pins.
fn check_is_pinned(control: &Paragraph<'_>, package: &PinnedPackage) -> Result<(), PackageProblem> {
    let field = |name: &str| control.value(name).unwrap_or_default();
    let actual = (field("Package"), field("Version"), field("Architecture"));
    if (actual.0.as_ref(), actual.1.as_ref(), actual.2.as_ref())
        != (
            package.name.as_str(),
            package.version.as_str(),
            package.architecture.as_str(),
        )
    {
        return Err(PackageProblem::NotThePinnedPackage {
            package: package.label(),
            actual: format!("{} {} ({})", actual.0, actual.1, actual.2),
            images: package.images(),
        });
    }
    Ok(())
}

/// A reader that hashes and counts what is read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        self.size += read as u64;
        Ok(read)
    }
}

/// A package's paragraph of a `Packages` index: its control paragraph as the package
/// wrote it (comment lines dropped, and any field the index sets itself), then where apt
/// finds it and what apt checks it against.
fn index_paragraph(control: &Paragraph<'_>, filename: &str, size: u64, sha256: &str) -> String {
    const INDEX_FIELDS: [&str; 6] = ["Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512"];
    let mut paragraph = ParagraphWriter::new();
    for field in control.fields() {
        if !INDEX_FIELDS.iter().any(|index_field| field.is(index_field)) {
            paragraph.field_as_read(field);
        }
    }
    paragraph
        .field("Filename", filename)
        .field("Size", &size.to_string())
        .field("SHA256", sha256);
    paragraph.finish()
}

/// Puts the store's `stored` at `destination` unless it is there already: a hard link where
/// the two share a filesystem, else a copy, either by a rename. Returns whether it is a
/// hard link.
fn place(stored: &Path, destination: &Path, sha256: &str) -> io::Result<bool> {
    let stored_metadata = fs::metadata(stored)?;
    let same_file = |metadata: &fs::Metadata| {
        metadata.dev() == stored_metadata.dev() && metadata.ino() == stored_metadata.ino()
    };
    if let Ok(existing) = fs::symlink_metadata(destination) {
        // (A rename onto another name of the same file would do nothing and leave the
        // temporary name behind.)
        if same_file(&existing) {
            return Ok(true);
        }
        if existing.is_file() && existing.len() == stored_metadata.len() {
            let mut file = BufReader::new(fs::File::open(destination)?);
            let mut hasher = Sha256::new();
            io::copy(&mut file, &mut hasher)?;
            if format!("{:x}", hasher.finalize()) == sha256 {
                fs::set_permissions(destination, fs::Permissions::from_mode(0o644))?;
                return Ok(false);
            }
        }
    }
    // nginx's workers must read it, and a hard link has the store file's mode: the store
    // writes its files 0600.
    let readable = stored_metadata.mode() & 0o004 != 0
        || fs::set_permissions(
            stored,
            fs::Permissions::from_mode(stored_metadata.mode() & 0o7777 | 0o444),
        )
        .is_ok();
    let file_name = destination
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = destination.with_file_name(format!(".{file_name}{PARTIAL_SUFFIX}"));
    let _ = fs::remove_file(&partial);
    if readable {
        link_or_copy(stored, &partial)?;
    } else {
        fs::copy(stored, &partial)?;
    }
    let is_link = same_file(&fs::symlink_metadata(&partial)?);
    if !is_link {
        fs::set_permissions(&partial, fs::Permissions::from_mode(0o644))?;
        fs::File::open(&partial)?.sync_all()?;
    }
    fs::rename(&partial, destination)?;
    Ok(is_link)
}

/// Removes the files under `folder` that `removable` says are this export's kind and that
/// `keep` does not hold, then the folders left empty. Returns how many files it removed.
fn remove_stale(
    folder: &Path,
    keep: &BTreeSet<PathBuf>,
    removable: impl Fn(&Path) -> bool + Copy,
) -> io::Result<usize> {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            removed += remove_stale(&path, keep, removable)?;
            if fs::read_dir(&path)?.next().is_none() {
                fs::remove_dir(&path)?;
            }
        } else if !keep.contains(&path) && removable(&path) {
            fs::remove_file(&path)?;
            if path.extension().is_some_and(|extension| extension == "deb") {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Removes every suite of `dists` but `suite` whose `Release` cairn wrote (an export before
/// the hosts' suite was renamed): its indexes would name `.deb`s this export removed.
fn remove_other_cairn_suites(dists: &Path, suite: &str) -> io::Result<()> {
    for entry in fs::read_dir(dists)? {
        let entry = entry?;
        if entry.file_name() == suite || !entry.file_type()?.is_dir() {
            continue;
        }
        let release = fs::read_to_string(entry.path().join("Release")).unwrap_or_default();
        let origin = paragraphs(&release)
            .next()
            .and_then(Result::ok)
            .and_then(|paragraph| paragraph.value("Origin").map(|origin| origin.into_owned()));
        if origin.as_deref() == Some(ORIGIN) {
            fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, version: &str, architecture: &str) -> PinnedPackage {
        PinnedPackage {
            name: name.to_string(),
            version: version.to_string(),
            architecture: architecture.to_string(),
            sha256: "0".repeat(64),
            images: BTreeSet::new(),
        }
    }

    #[test]
    fn packages_are_pooled_as_debian_pools_them_without_the_epoch() {
        assert_eq!(
            package("libssl3", "3.0.11-1~deb12u2", "amd64").pool_path("main"),
            "pool/main/libs/libssl3/libssl3_3.0.11-1~deb12u2_amd64.deb"
        );
        assert_eq!(
            package("bash", "5.2.15-2+b2", "amd64").pool_path("main"),
            "pool/main/b/bash/bash_5.2.15-2+b2_amd64.deb"
        );
        assert_eq!(
            package("lib", "1:2.0", "all").pool_path("contrib"),
            "pool/contrib/l/lib/lib_2.0_all.deb"
        );
    }

    #[test]
    fn an_index_paragraph_is_the_control_paragraph_with_where_and_what_apt_checks() {
        let control = "Package: hello\nVersion: 1.0\nSize: 12\nDescription: greets\n long text\n .\n more\n\n";
        let control = Paragraph::parse(control).unwrap();
        assert_eq!(
            index_paragraph(&control, "pool/main/h/hello/hello_1.0_all.deb", 900, "ab"),
            "Package: hello\nVersion: 1.0\nDescription: greets\n long text\n .\n more\n\
             Filename: pool/main/h/hello/hello_1.0_all.deb\nSize: 900\nSHA256: ab\n"
        );
        assert_eq!(control.value("version").as_deref(), Some("1.0"));
        assert!(Paragraph::parse(" Package: no\n").is_err());
    }

    #[test]
    fn a_suite_or_component_is_one_folder_name_never_a_path() {
        for name in [
            "bookworm",
            "bookworm-updates",
            "main",
            "non-free-firmware",
            "v1.2+x_y",
        ] {
            assert!(is_plain_name(name), "{name}");
        }
        for name in [
            "",
            ".",
            "..",
            "../etc",
            "bookworm/updates",
            "/srv",
            "./",
            "a b",
        ] {
            assert!(!is_plain_name(name), "{name}");
        }
    }
}
