use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use cairn_images::artifact_store::ArtifactStore;
use cairn_images::offline_repository::{OfflineRepository, OfflineRepositoryError};
use cairn_lockfiles::{Lockfile, NodeSpec};

use crate::failure::Failure;
use crate::output::{counted, print};

/// How many downloads run at once.
const PARALLEL_DOWNLOADS: usize = 8;

/// Everything the lockfile's images pin, artifacts and Debian packages, each fetched once
/// (images share most packages) into the store; every failure is reported, and the exit is
/// 1 if any. With `export`, the pinned packages are then written there as the offline
/// repository, only once every download succeeded.
pub fn run(lockfile_path: &Path, export: Option<&Path>) -> Result<(), Failure> {
    let lockfile = Lockfile::read(lockfile_path)?;
    // Checked before anything is downloaded: a lockfile that cannot be exported says so now.
    let repository = export
        .map(|_| OfflineRepository::of_lockfile(&lockfile))
        .transpose()
        .map_err(|error| Failure::Input(error.to_string()))?;
    // By checksum: what the store is keyed by. The images that use each, for the report.
    let mut wanted: BTreeMap<&str, (&str, Vec<&str>)> = BTreeMap::new();
    for node in lockfile.nodes() {
        if let NodeSpec::Image(image) = &node.spec {
            let pinned_packages = image.pins.iter().flat_map(|pins| &pins.packages);
            let downloads = image
                .artifacts
                .iter()
                .map(|artifact| (artifact.sha256.as_str(), artifact.url.as_str()))
                .chain(pinned_packages.map(|pin| (pin.sha256.as_str(), pin.url.as_str())));
            for (sha256, url) in downloads {
                let users = &mut wanted.entry(sha256).or_insert((url, Vec::new())).1;
                if users.last() != Some(&image.name.as_str()) {
                    users.push(image.name.as_str());
                }
            }
        }
    }
    let store = ArtifactStore::default_location();
    // Downloads overlap: most of their time is waiting on the server.
    let queue = std::sync::Mutex::new(wanted.iter());
    let results: Vec<(bool, u64, Option<String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..PARALLEL_DOWNLOADS)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let next = queue.lock().expect("the download queue").next();
                        let Some((sha256, (url, images))) = next else {
                            return done;
                        };
                        done.push(match store.fetch(url, sha256) {
                            Ok((path, downloaded)) => (
                                downloaded,
                                if downloaded {
                                    std::fs::metadata(&path).map_or(0, |metadata| metadata.len())
                                } else {
                                    0
                                },
                                None,
                            ),
                            Err(error) => (
                                false,
                                0,
                                Some(format!("{error} (for image {})", images.join(", "))),
                            ),
                        });
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a download thread"))
            .collect()
    });
    let fetched = results
        .iter()
        .filter(|(downloaded, ..)| *downloaded)
        .count();
    let bytes: u64 = results.iter().map(|(_, bytes, _)| bytes).sum();
    let mut failures: Vec<String> = results
        .into_iter()
        .filter_map(|(.., failure)| failure)
        .collect();
    failures.sort();
    let present = wanted.len() - fetched - failures.len();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "{} pinned downloads: {fetched} downloaded ({bytes} bytes), {present} already in the store, {} failed",
        wanted.len(),
        failures.len()
    );
    print(&report)?;
    if !failures.is_empty() {
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
            OfflineRepositoryError::Packages(_) | OfflineRepositoryError::Write { .. } => {
                Failure::Failed(error.to_string())
            }
            _ => Failure::Input(error.to_string()),
        })?;
    let architectures: Vec<&str> = repository.architectures().collect();
    print(&format!(
        "exported {} to {}: suite {}, components {}, architectures {} ({} hard-linked from the store, {} copied); {} of an earlier export removed\n",
        counted(exported.packages, "package"),
        folder.display(),
        repository.suite(),
        repository.components().join(" "),
        architectures.join(" "),
        exported.linked,
        exported.copied,
        counted(exported.removed, "stale .deb"),
    ))
}
