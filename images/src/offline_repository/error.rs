//! Why a lockfile cannot be exported, or a package of it not taken from the store.

use std::io;
use std::path::PathBuf;

use super::ARTIFACTS_FOLDER;
use super::hosts_sources::HOSTS_SOURCES_PATH;

/// Why a lockfile cannot be exported as a repository.
#[derive(Debug, thiserror::Error)]
pub enum OfflineRepositoryError {
    /// Nothing is pinned: there is nothing to serve.
    #[error(
        "the lockfile pins no Debian package, so there is no repository to export\nhint: give the spec `[packages] sources` and compile again: every image's and every host's packages are then pinned"
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
    /// Two artifacts that would be one file of `artifacts/`.
    #[error(
        "the artifacts {first_url} (sha256 {first}) and {second_url} (sha256 {second}) would both be {ARTIFACTS_FOLDER}/{file_name} of the repository\nhint: give one of them a URL whose last part names another file"
    )]
    ConflictingArtifacts {
        file_name: String,
        first_url: String,
        first: String,
        second_url: String,
        second: String,
    },
    /// An artifact's URL does not end in a file name.
    #[error(
        "the artifact {url} names no file the repository could serve it as (its URL's last part must be a plain file name)\nhint: give the image an artifact URL ending in the file's name"
    )]
    UnnamedArtifact { url: String },
    /// Artifacts that could not be taken from the store.
    #[error("{}", .0.join("\n"))]
    Artifacts(Vec<String>),
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
    "{name} {version} ({architecture}) is pinned as two different files, sha256 {first} (pinned by {first_users}) and {second} (pinned by {second_users}); one repository serves one file per package version\nhint: compile the whole cluster from one `[packages] sources`"
)]
pub struct ConflictingPins {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub first: String,
    pub first_users: String,
    pub second: String,
    pub second_users: String,
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
        "the store's copy of {package} ({path}) is not the pinned file: its sha256 is {actual}, the lockfile pins {expected} (pinned by {users}); it was removed from the store\nhint: `cairn fetch LOCK` downloads it again"
    )]
    Mismatch {
        package: String,
        path: PathBuf,
        expected: String,
        actual: String,
        users: String,
    },
    #[error("the store's copy of {package} ({path}): {message}")]
    Unreadable {
        package: String,
        path: PathBuf,
        message: String,
    },
    #[error(
        "the file pinned as {package} says it is {actual} in its control file (pinned by {users})"
    )]
    NotThePinnedPackage {
        package: String,
        actual: String,
        users: String,
    },
}
