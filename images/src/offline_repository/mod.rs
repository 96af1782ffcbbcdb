//! The offline package repository: everything a lockfile pins, exported from the artifact
//! store as the repository the control host serves (module repository-server): the `.deb`s
//! of its images and of its hosts' package nodes as the Debian repository every host's apt
//! reads (host-base's `cairn.sources`), and its images' artifacts under `artifacts/`, each
//! as the last part of its URL names it (so an artifact URL naming the control host's
//! repository, `http://CONTROL:8080/artifacts/consul_1.16.1_linux_amd64.zip`, finds it).
//!
//! Design notes:
//! - [`OfflineRepository::of_lockfile`] checks the lockfile first
//!   (`repository_contents`): every pin, each package version once (two pins of one name,
//!   version and architecture with different files are refused, naming what pins each),
//!   every artifact once per file name, the architectures, and the suite and components the
//!   lockfile's hosts read (`hosts_sources`: their rendered `cairn.sources`), so that the
//!   export answers exactly what they ask. A lockfile without those sources exports suite
//!   `cairn`, component `main`.
//! - [`OfflineRepository::export`] reads each `.deb` from the store once, hashing it as it
//!   goes and taking its control paragraph on the way: a store file whose sha256 is not the
//!   pinned one is refused, naming the package, and removed from the store. Then, in the
//!   order a reader needs: the `.deb`s into `pool/` and the artifacts into `artifacts/`
//!   (hard links to the store where the filesystems allow, copies otherwise: `placing`),
//!   each index by a rename (`Packages`, `Packages.gz`), the suite's `Release` last, and
//!   only then what the previous export had and this one has not (indexes, `.deb`s,
//!   artifacts, another suite cairn exported).
//! - The same lockfile exports the same bytes: paragraphs sorted, gzip without a name or a
//!   time, and a `Release` whose `Date` is the epoch (apt warns of a `Release` without one;
//!   it refuses only a date in the future). A file whose bytes do not change is not written
//!   again, so nginx answers an unchanged repository's `apt-get update` with 304s.
//! - Unsigned: no `InRelease`, no `Release.gpg`. Hosts trust it because their source says
//!   `Trusted: yes` (host-base); every `.deb` in it was checked against the lockfile here.
//! - Files are world-readable and folders listable (0644, 0755, whatever the umask): nginx's
//!   workers read them as `www-data`. The store's own copy of a `.deb` is made readable
//!   too, since a hard link shares its mode.

mod error;
mod hosts_sources;
mod placing;
mod repository_contents;
mod stored_package;
mod transfer;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cairn_debian::{ParagraphWriter, sha256_hex};
use cairn_lockfiles::{Lockfile, write_atomically_with_mode};

pub use error::{ConflictingPins, OfflineRepositoryError, PackageProblem};
pub use hosts_sources::HOSTS_SOURCES_PATH;
pub use transfer::{TransferBatch, TransferBatches};

use crate::artifact_store::{ArtifactStore, create_folders};
use crate::compression::gzip;
use crate::work_queue::{cores, map_in_parallel};
use hosts_sources::sources_hosts_read;
use placing::{place, remove_other_cairn_suites, remove_stale};
use repository_contents::{RepositoryArtifact, RepositoryContents, RepositoryPackage};
use stored_package::{StoredPackage, read_stored};

/// The suite of a lockfile whose hosts have no `cairn.sources` (host-base left out).
pub const DEFAULT_SUITE: &str = "cairn";
/// The component of such a lockfile.
pub const DEFAULT_COMPONENT: &str = "main";
/// The folder of the repository holding the images' artifacts, each by its file name.
pub const ARTIFACTS_FOLDER: &str = "artifacts";
/// The `Origin` (and `Label`) of every `Release` cairn writes: how a re-export knows a
/// suite of `dists/` as its own.
const ORIGIN: &str = "cairn";
/// A date derived from nothing: the same lockfile exports the same bytes.
const RELEASE_DATE: &str = "Thu, 01 Jan 1970 00:00:00 UTC";
/// What a file being placed is called until its rename.
const PARTIAL_SUFFIX: &str = ".cairn-partial";

/// What [`OfflineRepository::export`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    pub packages: usize,
    pub artifacts: usize,
    /// Files (`.deb`s and artifacts) that are the store's file itself (a hard link).
    pub linked: usize,
    /// Files that are copies (another filesystem than the store's).
    pub copied: usize,
    /// `.deb`s and artifacts of an earlier export that this lockfile does not pin, removed.
    pub removed: usize,
}

/// The repository a lockfile exports: checked, not yet written.
#[derive(Debug)]
pub struct OfflineRepository {
    suite: String,
    /// The packages go in the first; the others get empty indexes, so that apt finds every
    /// component its source names.
    components: Vec<String>,
    contents: RepositoryContents,
}

impl OfflineRepository {
    /// Every pin and artifact, each once, and the suite and components the lockfile's
    /// hosts read.
    pub fn of_lockfile(lockfile: &Lockfile) -> Result<Self, OfflineRepositoryError> {
        let contents = RepositoryContents::of_lockfile(lockfile)?;
        if contents.packages.is_empty() {
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
            contents,
        };
        repository.check_pool_paths()?;
        Ok(repository)
    }

    /// Every pin and artifact, each once, as the repository that serves `suite` with
    /// `components` (a repository node's): the suite and components the hosts' sources
    /// read are not consulted.
    pub fn serving(
        lockfile: &Lockfile,
        suite: &str,
        components: &[String],
    ) -> Result<Self, OfflineRepositoryError> {
        let contents = RepositoryContents::of_lockfile(lockfile)?;
        if contents.packages.is_empty() {
            return Err(OfflineRepositoryError::NothingPinned);
        }
        let repository = Self {
            suite: suite.to_string(),
            components: components.to_vec(),
            contents,
        };
        repository.check_pool_paths()?;
        Ok(repository)
    }

    /// A digest of what it holds (its suite, components, and each file's path and sha256):
    /// equal digests are the same repository.
    pub fn digest(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(self.suite.as_bytes());
        for component in &self.components {
            hasher.update(b"\0");
            hasher.update(component.as_bytes());
        }
        for (path, sha256) in self.files() {
            hasher.update(b"\n");
            hasher.update(path.as_bytes());
            hasher.update(b" ");
            hasher.update(sha256.as_bytes());
        }
        hasher.finalize().to_hex()[..32].to_string()
    }

    /// Versions differing only in their epoch would share a file name in the pool.
    fn check_pool_paths(&self) -> Result<(), OfflineRepositoryError> {
        let mut pool_paths: BTreeMap<String, &RepositoryPackage> = BTreeMap::new();
        for package in self.contents.packages.values() {
            let path = package.pool_path(self.component());
            if let Some(other) = pool_paths.insert(path, package) {
                return Err(OfflineRepositoryError::ConflictingPins(Box::new(
                    ConflictingPins {
                        name: package.name.clone(),
                        version: format!("{} and {}", other.version, package.version),
                        architecture: package.architecture.clone(),
                        first: other.sha256.clone(),
                        first_users: other.users(),
                        second: package.sha256.clone(),
                        second_users: package.users(),
                    },
                )));
            }
        }
        Ok(())
    }

    /// The suite, as hosts name it in their sources: `dists/<suite>`.
    pub fn suite(&self) -> &str {
        &self.suite
    }

    pub fn components(&self) -> &[String] {
        &self.components
    }

    pub fn architectures(&self) -> impl Iterator<Item = &str> {
        self.contents.architectures.iter().map(String::as_str)
    }

    /// How many package versions it holds.
    pub fn package_count(&self) -> usize {
        self.contents.packages.len()
    }

    /// How many artifacts it holds.
    pub fn artifact_count(&self) -> usize {
        self.contents.artifacts.len()
    }

    /// Every file of the pool and of `artifacts/`, by its path in the repository, with
    /// the sha256 its bytes must have; the indexes, which follow from them, are not listed.
    pub fn files(&self) -> BTreeMap<String, String> {
        let packages = self
            .contents
            .packages
            .values()
            .map(|package| (package.pool_path(self.component()), package.sha256.clone()));
        let artifacts = self.contents.artifacts.iter().map(|(file_name, artifact)| {
            (
                format!("{ARTIFACTS_FOLDER}/{file_name}"),
                artifact.sha256.clone(),
            )
        });
        packages.chain(artifacts).collect()
    }

    /// The indexes an export writes, by their path in the repository, the suite's
    /// `Release` last: what a reader needs after every file they name.
    pub fn index_paths(&self) -> Vec<String> {
        let mut paths = Vec::new();
        for component in &self.components {
            for architecture in &self.contents.architectures {
                for name in ["Packages", "Packages.gz"] {
                    paths.push(format!(
                        "dists/{}/{component}/binary-{architecture}/{name}",
                        self.suite
                    ));
                }
            }
        }
        paths.push(format!("dists/{}/Release", self.suite));
        paths
    }

    /// The component the packages are in.
    fn component(&self) -> &str {
        &self.components[0]
    }

    /// Writes the repository to `folder` from the files in `store`, each checked against
    /// its pinned sha256, replacing an earlier export there: its indexes each by a rename,
    /// the `Release` last, then what it had and this one has not.
    pub fn export(
        &self,
        store: &ArtifactStore,
        folder: &Path,
    ) -> Result<ExportReport, OfflineRepositoryError> {
        let stored = self.read_from_store(store)?;
        let stored_artifacts = self.artifacts_in_store(store)?;
        create_folders(folder).map_err(write_error(folder))?;

        // The pool and the artifacts first: an index never names a file that is not there.
        let mut placed = Placed::default();
        for (package, stored) in self.contents.packages.values().zip(&stored) {
            let destination = folder.join(package.pool_path(self.component()));
            placed.place(&stored.stored, &destination, &package.sha256)?;
        }
        let pool_files = std::mem::take(&mut placed.files);
        for ((file_name, artifact), stored) in self.contents.artifacts.iter().zip(&stored_artifacts)
        {
            let destination = folder.join(ARTIFACTS_FOLDER).join(file_name);
            placed.place(stored, &destination, &artifact.sha256)?;
        }
        let artifact_files = std::mem::take(&mut placed.files);

        let suite_folder = folder.join("dists").join(&self.suite);
        self.write_indexes(&suite_folder, &stored)?;

        // Only now what this export no longer has.
        remove_other_cairn_suites(&folder.join("dists"), &self.suite)
            .map_err(write_error(&folder.join("dists")))?;
        let pool = folder.join("pool");
        let mut removed = remove_stale(&pool, &pool_files, |path| {
            let name = path.to_string_lossy();
            name.ends_with(".deb") || name.ends_with(PARTIAL_SUFFIX)
        })
        .map_err(write_error(&pool))?;
        let artifacts = folder.join(ARTIFACTS_FOLDER);
        removed +=
            remove_stale(&artifacts, &artifact_files, |_| true).map_err(write_error(&artifacts))?;
        Ok(ExportReport {
            packages: self.contents.packages.len(),
            artifacts: self.contents.artifacts.len(),
            linked: placed.linked,
            copied: placed.copied,
            removed,
        })
    }

    /// The suite's indexes, each by a rename, then the `Release` that lists them, then
    /// what an earlier export of the suite had and this one has not.
    fn write_indexes(
        &self,
        suite_folder: &Path,
        stored: &[StoredPackage],
    ) -> Result<(), OfflineRepositoryError> {
        let mut index_files = BTreeSet::new();
        let mut listed = Vec::new();
        for (path, bytes) in self.indexes(stored) {
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
        remove_stale(suite_folder, &index_files, |_| true).map_err(write_error(suite_folder))?;
        Ok(())
    }

    /// Every package's store file, checked against its pin while its control paragraph is
    /// read, on every core; all problems at once, each naming its package.
    fn read_from_store(
        &self,
        store: &ArtifactStore,
    ) -> Result<Vec<StoredPackage>, OfflineRepositoryError> {
        let packages: Vec<&RepositoryPackage> = self.contents.packages.values().collect();
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

    /// Every artifact's store file (checked when it was stored, and again by [`place`]
    /// where it is copied); all missing ones at once.
    fn artifacts_in_store(
        &self,
        store: &ArtifactStore,
    ) -> Result<Vec<PathBuf>, OfflineRepositoryError> {
        let mut paths = Vec::with_capacity(self.contents.artifacts.len());
        let mut missing = Vec::new();
        for RepositoryArtifact { url, sha256 } in self.contents.artifacts.values() {
            let path = store.path_of(sha256);
            if !path.is_file() {
                missing.push(format!(
                    "the artifact {url} (sha256 {sha256}) is not in the store ({})\nhint: `cairn fetch LOCK` downloads it; where its URL is the cluster's own repository, put the file in the store first (`cairn fetch LOCK --from FOLDER`)",
                    path.display()
                ));
            }
            paths.push(path);
        }
        if missing.is_empty() {
            Ok(paths)
        } else {
            Err(OfflineRepositoryError::Artifacts(missing))
        }
    }

    /// Each index, by its path below the suite's folder, in the `Release`'s order:
    /// `Packages` and `Packages.gz` of every component and architecture.
    fn indexes(&self, stored: &[StoredPackage]) -> Vec<(String, Vec<u8>)> {
        let mut indexes = Vec::new();
        for component in &self.components {
            for architecture in &self.contents.architectures {
                let mut text = String::new();
                if component == self.component() {
                    for (package, stored) in self.contents.packages.values().zip(stored) {
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
        let architectures: Vec<&str> = self.architectures().collect();
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

/// Files placed by [`place`], and how.
#[derive(Debug, Default)]
struct Placed {
    files: BTreeSet<PathBuf>,
    linked: usize,
    copied: usize,
}

impl Placed {
    fn place(
        &mut self,
        stored: &Path,
        destination: &Path,
        sha256: &str,
    ) -> Result<(), OfflineRepositoryError> {
        if let Some(parent) = destination.parent() {
            create_folders(parent).map_err(write_error(parent))?;
        }
        if place(stored, destination, sha256).map_err(write_error(destination))? {
            self.linked += 1;
        } else {
            self.copied += 1;
        }
        self.files.insert(destination.to_path_buf());
        Ok(())
    }
}

/// An error writing `path`.
fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> OfflineRepositoryError {
    let path = path.to_path_buf();
    move |error| OfflineRepositoryError::Write { path, error }
}
