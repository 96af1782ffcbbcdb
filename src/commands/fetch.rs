use std::path::Path;

use cairn_images::PinnedDownloads;
use cairn_images::artifact_store::ArtifactStore;
use cairn_images::offline_repository::{OfflineRepository, OfflineRepositoryError};
use cairn_lockfiles::Lockfile;

use crate::failure::Failure;
use crate::output::{counted, print};

/// Everything the lockfile's images pin, artifacts and Debian packages, each fetched once
/// into the store; every failure is reported, and the exit is 1 if any. With `export`, the
/// pinned packages are then written there as the offline repository, only once every
/// download succeeded.
pub fn run(lockfile_path: &Path, export: Option<&Path>) -> Result<(), Failure> {
    let lockfile = Lockfile::read(lockfile_path)?;
    // Checked before anything is downloaded: a lockfile that cannot be exported says so now.
    let repository = export
        .map(|_| OfflineRepository::of_lockfile(&lockfile))
        .transpose()
        .map_err(|error| Failure::Input(error.to_string()))?;
    let store = ArtifactStore::default_location();
    let fetched = PinnedDownloads::of_lockfile(&lockfile).fetch_into(&store);
    print(&format!(
        "{} pinned downloads: {} downloaded ({} bytes), {} already in the store, {} failed\n",
        fetched.pinned,
        fetched.downloaded,
        fetched.bytes,
        fetched.present,
        fetched.failures.len()
    ))?;
    if !fetched.failures.is_empty() {
        let failures: Vec<String> = fetched.failures.iter().map(ToString::to_string).collect();
        return Err(Failure::Failed(failures.join("\n")));
    }
    if let (Some(repository), Some(folder)) = (repository, export) {
        export_repository(&repository, &store, folder)?;
    }
    Ok(())
}

/// Writes the offline repository to `folder` and says what it holds.
fn export_repository(
    repository: &OfflineRepository,
    store: &ArtifactStore,
    folder: &Path,
) -> Result<(), Failure> {
    let exported = repository
        .export(store, folder)
        .map_err(|error| match error {
            OfflineRepositoryError::Packages(_)
            | OfflineRepositoryError::Artifacts(_)
            | OfflineRepositoryError::Write { .. } => Failure::Failed(error.to_string()),
            _ => Failure::Input(error.to_string()),
        })?;
    let architectures: Vec<&str> = repository.architectures().collect();
    let artifacts = if exported.artifacts > 0 {
        format!(" and {}", counted(exported.artifacts, "artifact"))
    } else {
        String::new()
    };
    print(&format!(
        "exported {}{artifacts} to {}: suite {}, components {}, architectures {} ({} hard-linked from the store, {} copied); {} of an earlier export removed\n",
        counted(exported.packages, "package"),
        folder.display(),
        repository.suite(),
        repository.components().join(" "),
        architectures.join(" "),
        exported.linked,
        exported.copied,
        counted(exported.removed, "stale file"),
    ))
}
