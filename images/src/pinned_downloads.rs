//! Every download a lockfile pins, its images' artifacts and every Debian package its images
//! and its hosts' package nodes pin, fetched into the store: what `cairn fetch` does before
//! an offline install or an export, and apply before it places the repository on the
//! control host. Each is fetched once, however many nodes pin it (they share most
//! packages), several at a time: most of a download's time is waiting on the server.

use cairn_lockfiles::{Lockfile, NodeSpec};
use std::collections::BTreeMap;

use crate::artifact_store::{ArtifactError, ArtifactStore};
use crate::work_queue::map_in_parallel;

/// How many downloads run at once.
const PARALLEL_DOWNLOADS: usize = 8;

/// The downloads a lockfile pins.
#[derive(Debug, Clone, Default)]
pub struct PinnedDownloads<'a> {
    /// By sha256, what the store is keyed by: the URL, and what pins it (`image haproxy`,
    /// `package node docker`).
    wanted: BTreeMap<&'a str, (&'a str, Vec<String>)>,
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

/// A download that failed, and what pins it.
#[derive(Debug, thiserror::Error)]
#[error("{error} (pinned by {})", .users.join(", "))]
pub struct DownloadFailure {
    pub error: ArtifactError,
    pub users: Vec<String>,
}

impl<'a> PinnedDownloads<'a> {
    /// Every artifact of `lockfile`'s images and every package its images and package
    /// nodes pin, each once.
    pub fn of_lockfile(lockfile: &'a Lockfile) -> PinnedDownloads<'a> {
        let mut downloads = PinnedDownloads::default();
        for node in lockfile.nodes() {
            match &*node.spec {
                NodeSpec::Image(image) => {
                    let user = format!("image {}", image.name);
                    for artifact in &image.artifacts {
                        downloads.want(&artifact.sha256, &artifact.url, &user);
                    }
                    for pin in image.pins.iter().flat_map(|pins| &pins.packages) {
                        downloads.want(&pin.sha256, &pin.url, &user);
                    }
                }
                NodeSpec::Package(package) => {
                    let user = format!("package node {}", package.name);
                    for pin in package.pins.iter().flat_map(|pins| &pins.packages) {
                        downloads.want(&pin.sha256, &pin.url, &user);
                    }
                }
                _ => {}
            }
        }
        downloads
    }

    fn want(&mut self, sha256: &'a str, url: &'a str, user: &str) {
        let users = &mut self.wanted.entry(sha256).or_insert((url, Vec::new())).1;
        if !users.iter().any(|known| known == user) {
            users.push(user.to_string());
        }
    }

    /// Fetches every download `store` lacks, [`PARALLEL_DOWNLOADS`] at a time; every
    /// failure is reported, none stops the others.
    pub fn fetch_into(&self, store: &ArtifactStore) -> DownloadReport {
        let wanted: Vec<_> = self.wanted.iter().collect();
        let results = map_in_parallel(&wanted, PARALLEL_DOWNLOADS, |(sha256, (url, users))| {
            fetch_one(store, url, sha256, users)
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
    users: &[String],
) -> Result<Option<u64>, DownloadFailure> {
    match store.fetch(url, sha256) {
        Ok((path, true)) => Ok(Some(
            std::fs::metadata(&path).map_or(0, |metadata| metadata.len()),
        )),
        Ok((_, false)) => Ok(None),
        Err(error) => Err(DownloadFailure {
            error,
            users: users.to_vec(),
        }),
    }
}
