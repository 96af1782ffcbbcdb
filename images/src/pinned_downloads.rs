//! Every download a lockfile's images pin, artifacts and Debian packages, fetched into the
//! store: what `cairn fetch` does before an offline install or an export. Each is fetched
//! once, however many images pin it (they share most packages), several at a time: most of
//! a download's time is waiting on the server.

use cairn_lockfiles::{Lockfile, NodeSpec};
use std::collections::BTreeMap;

use crate::artifact_store::{ArtifactError, ArtifactStore};
use crate::work_queue::map_in_parallel;

/// How many downloads run at once.
const PARALLEL_DOWNLOADS: usize = 8;

/// The downloads a lockfile pins.
#[derive(Debug, Clone, Default)]
pub struct PinnedDownloads<'a> {
    /// By sha256, what the store is keyed by: the URL, and the images that pin it.
    wanted: BTreeMap<&'a str, (&'a str, Vec<&'a str>)>,
}

/// What [`PinnedDownloads::fetch_into`] did.
#[derive(Debug)]
pub struct DownloadReport {
    /// How many downloads the lockfile pins.
    pub pinned: usize,
    /// Downloaded now, and their bytes.
    pub downloaded: usize,
    pub bytes: u64,
    /// In the store already.
    pub present: usize,
    /// Every download that failed, sorted by what they say.
    pub failures: Vec<DownloadFailure>,
}

/// A download that failed, and the images that pin it.
#[derive(Debug, thiserror::Error)]
#[error("{error} (for image {})", .images.join(", "))]
pub struct DownloadFailure {
    pub error: ArtifactError,
    pub images: Vec<String>,
}

impl<'a> PinnedDownloads<'a> {
    /// Every artifact and pinned package of `lockfile`'s images, each once.
    pub fn of_lockfile(lockfile: &'a Lockfile) -> PinnedDownloads<'a> {
        let mut wanted: BTreeMap<&str, (&str, Vec<&str>)> = BTreeMap::new();
        for node in lockfile.nodes() {
            let NodeSpec::Image(image) = &node.spec else {
                continue;
            };
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
        PinnedDownloads { wanted }
    }

    /// Fetches every download `store` lacks, [`PARALLEL_DOWNLOADS`] at a time; every
    /// failure is reported, none stops the others.
    pub fn fetch_into(&self, store: &ArtifactStore) -> DownloadReport {
        let wanted: Vec<_> = self.wanted.iter().collect();
        let results = map_in_parallel(&wanted, PARALLEL_DOWNLOADS, |(sha256, (url, images))| {
            fetch_one(store, url, sha256, images)
        });
        let mut report = DownloadReport {
            pinned: self.wanted.len(),
            downloaded: 0,
            bytes: 0,
            present: 0,
            failures: Vec::new(),
        };
        for result in results {
            match result {
                Ok(Some(bytes)) => {
                    report.downloaded += 1;
                    report.bytes += bytes;
                }
                Ok(None) => report.present += 1,
                Err(failure) => report.failures.push(failure),
            }
        }
        report.failures.sort_by_cached_key(ToString::to_string);
        report
    }
}

/// One download into the store: `Some` of its size if it was downloaded now, `None` if the
/// store had it.
fn fetch_one(
    store: &ArtifactStore,
    url: &str,
    sha256: &str,
    images: &[&str],
) -> Result<Option<u64>, DownloadFailure> {
    match store.fetch(url, sha256) {
        Ok((path, true)) => Ok(Some(
            std::fs::metadata(&path).map_or(0, |metadata| metadata.len()),
        )),
        Ok((_, false)) => Ok(None),
        Err(error) => Err(DownloadFailure {
            error,
            images: images.iter().map(|image| image.to_string()).collect(),
        }),
    }
}
