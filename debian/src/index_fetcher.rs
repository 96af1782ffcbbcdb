//! Fetching the Packages indexes of the spec's package sources, as apt's `update` does.
//!
//! For each source line, in the spec's order: its suite's `Release` (or, where the
//! repository publishes none, its `InRelease`; with a keyring, `InRelease` first), then for each component the
//! `COMPONENT/binary-ARCH/Packages` index the Release lists, preferring `.xz`, then `.gz`,
//! then the plain file (Debian lists the plain file's checksum without publishing it: an
//! index the server does not have is passed over for the next one listed). Every index is
//! checked against the Release's sha256 and size before it is read, and kept in the
//! [`IndexCache`] by that checksum, so an unchanged suite costs one small Release fetch.
//! Where the Release offers it (`Acquire-By-Hash: yes`), an index is fetched by its
//! checksum (`by-hash/SHA256/<sha256>`), as apt does: a mirror in the middle of an update
//! (or a CDN's stale copy) may serve a `Packages.xz` older than its Release, never another
//! file under the same checksum. `binary-all` is read where apt reads it (see
//! [`ReleaseFile::reads_binary_all`]).
//!
//! Where the spec names a keyring (`[packages] keyring`), the Release's signature is checked
//! first (`crate::release_signature`), as apt checks it.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use crate::architecture::Architecture;
use crate::checksum::sha256_hex;
use crate::index_cache::IndexCache;
use crate::packages_index::{IndexError, IndexSource, PackagesIndex};
use crate::release_file::{ListedFile, ReleaseFile};
use crate::release_signature::{verify_clearsigned, verify_detached};
use crate::source_line::SourceLine;

/// The index files of one architecture's packages, best first.
const INDEX_NAMES: [&str; 3] = ["Packages.xz", "Packages.gz", "Packages"];

/// Fetches indexes over HTTP, through a cache.
#[derive(Debug)]
pub struct IndexFetcher {
    agent: ureq::Agent,
    cache: Option<IndexCache>,
    /// The keyring each suite's Release must be signed by; `None` takes Releases unsigned.
    keyring: Option<PathBuf>,
}

/// The merged index of every source, and how it was had.
#[derive(Debug)]
pub struct FetchedIndex {
    pub index: PackagesIndex,
    /// Indexes downloaded, and read from the cache.
    pub downloaded: usize,
    pub cached: usize,
}

/// Why a source's indexes could not be had.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {kind}")]
pub struct FetchError {
    /// The source line, as the lockfile records it.
    pub source_line: String,
    /// What was being fetched.
    pub url: String,
    pub kind: FetchErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchErrorKind {
    /// No answer: the connection refused, reset or timed out, the name not found, or a
    /// server error (5xx). What a compile away from the repository meets.
    #[error("{0}")]
    Unreachable(String),
    /// The server answered, but not with the file (404, 403...).
    #[error("the server answered {0}")]
    Status(u16),
    #[error("the Release file lists no Packages index for `{0}`")]
    NotListed(String),
    #[error(
        "its sha256 is {actual} ({actual_size} bytes), but the Release file lists {expected} ({expected_size} bytes)"
    )]
    Mismatch {
        expected: String,
        expected_size: u64,
        actual: String,
        actual_size: u64,
    },
    #[error("the Release file cannot be read: {0}")]
    MalformedRelease(String),
    /// The Release's signature is missing or does not verify against the keyring.
    #[error("{0}")]
    Signature(String),
    #[error("{0}")]
    MalformedIndex(IndexError),
}

impl FetchError {
    /// Whether the repository could not be reached at all (rather than answering wrongly),
    /// which is when a compile may keep the pins it already has.
    pub fn is_unreachable(&self) -> bool {
        matches!(self.kind, FetchErrorKind::Unreachable(_))
    }
}

impl IndexFetcher {
    pub fn new(cache: Option<IndexCache>) -> IndexFetcher {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            // The bytes as stored: a transparently decoded `.gz` would not have its checksum.
            .accept_encoding("")
            .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        IndexFetcher {
            agent,
            cache,
            keyring: None,
        }
    }

    /// Checks each suite's Release against `keyring` (`gpgv`) before trusting what it lists.
    pub fn with_keyring(mut self, keyring: Option<PathBuf>) -> IndexFetcher {
        self.keyring = keyring;
        self
    }

    /// One index of every source's components for `architecture`, in the sources' order
    /// (a package at the same version in two keeps the first one's URL).
    pub fn fetch(
        &self,
        sources: &[SourceLine],
        architecture: &Architecture,
    ) -> Result<FetchedIndex, FetchError> {
        let mut fetched = FetchedIndex {
            index: PackagesIndex::new(),
            downloaded: 0,
            cached: 0,
        };
        for source in sources {
            self.fetch_source(source, architecture, &mut fetched)?;
        }
        Ok(fetched)
    }

    fn fetch_source(
        &self,
        source: &SourceLine,
        architecture: &Architecture,
        fetched: &mut FetchedIndex,
    ) -> Result<(), FetchError> {
        let error = |url: &str, kind| FetchError {
            source_line: source.to_string(),
            url: url.to_string(),
            kind,
        };
        // With a keyring, `InRelease` first, as apt: text and signature in one file, where
        // a mirror may serve a `Release` and a `Release.gpg` of two different updates.
        let (first, second) = if self.keyring.is_some() {
            ("InRelease", "Release")
        } else {
            ("Release", "InRelease")
        };
        let mut release_url = source.release_url(first);
        let release_bytes = match self.download(&release_url) {
            Err(FetchErrorKind::Status(404)) => {
                release_url = source.release_url(second);
                self.download(&release_url)
            }
            other => other,
        }
        .map_err(|kind| error(&release_url, kind))?;
        let release_bytes = match &self.keyring {
            None => release_bytes,
            Some(keyring) if release_url.ends_with("/InRelease") => {
                verify_clearsigned(&release_bytes, keyring)
                    .map_err(|message| error(&release_url, FetchErrorKind::Signature(message)))?
            }
            Some(keyring) => {
                let signature_url = source.release_url("Release.gpg");
                let signature = self.download(&signature_url).map_err(|kind| match kind {
                    FetchErrorKind::Status(404) => error(
                        &signature_url,
                        FetchErrorKind::Signature(
                            "the suite publishes no signature of its Release, and the spec names a keyring it must be signed by".to_string(),
                        ),
                    ),
                    kind => error(&signature_url, kind),
                })?;
                verify_detached(&release_bytes, &signature, keyring)
                    .map_err(|message| error(&release_url, FetchErrorKind::Signature(message)))?;
                release_bytes
            }
        };
        let release = ReleaseFile::parse(&String::from_utf8_lossy(&release_bytes))
            .map_err(|message| error(&release_url, FetchErrorKind::MalformedRelease(message)))?;

        let mut binaries = vec![format!("binary-{}", architecture.as_str())];
        if release.reads_binary_all {
            binaries.push("binary-all".to_string());
        }
        for component in &source.components {
            for binary in &binaries {
                let folder = format!("{component}/{binary}");
                let listed: Vec<(String, &ListedFile)> = INDEX_NAMES
                    .iter()
                    .filter_map(|name| {
                        let path = format!("{folder}/{name}");
                        release.get(&path).map(|file| (path, file))
                    })
                    .collect();
                if listed.is_empty() {
                    // `binary-all` is optional; the architecture's own index is not.
                    if binary == "binary-all" {
                        continue;
                    }
                    return Err(error(&release_url, FetchErrorKind::NotListed(folder)));
                }
                self.fetch_index(source, &release, &listed, fetched)
                    .map_err(|(url, kind)| error(&url, kind))?;
            }
        }
        Ok(())
    }

    /// The first of `listed` (paths relative to the suite's folder) that the cache or the
    /// server has, checked and added to the index.
    fn fetch_index(
        &self,
        source: &SourceLine,
        release: &ReleaseFile,
        listed: &[(String, &ListedFile)],
        fetched: &mut FetchedIndex,
    ) -> Result<(), (String, FetchErrorKind)> {
        let mut last_missing = None;
        for (path, file) in listed {
            let url = format!("{}/dists/{}/{path}", source.url, source.suite);
            let bytes = match self
                .cache
                .as_ref()
                .and_then(|cache| cache.get(&file.sha256))
            {
                Some(bytes) => {
                    fetched.cached += 1;
                    bytes
                }
                None => {
                    let by_hash = release.acquire_by_hash.then(|| {
                        let folder = url
                            .rsplit_once('/')
                            .map_or(url.as_str(), |(folder, _)| folder);
                        format!("{folder}/by-hash/SHA256/{}", file.sha256)
                    });
                    let downloaded = match by_hash.map(|by_hash| self.download(&by_hash)) {
                        // A mirror without the by-hash files serves the index by name.
                        None | Some(Err(FetchErrorKind::Status(403 | 404 | 410))) => {
                            self.download(&url)
                        }
                        Some(other) => other,
                    };
                    let bytes = match downloaded {
                        Ok(bytes) => bytes,
                        Err(FetchErrorKind::Status(status @ (403 | 404 | 410))) => {
                            last_missing = Some((url, FetchErrorKind::Status(status)));
                            continue;
                        }
                        Err(kind) => return Err((url, kind)),
                    };
                    let actual = sha256_hex(&bytes);
                    if actual != file.sha256 || bytes.len() as u64 != file.size {
                        return Err((
                            url,
                            FetchErrorKind::Mismatch {
                                expected: file.sha256.clone(),
                                expected_size: file.size,
                                actual,
                                actual_size: bytes.len() as u64,
                            },
                        ));
                    }
                    if let Some(cache) = &self.cache {
                        cache.put(&file.sha256, &bytes);
                    }
                    fetched.downloaded += 1;
                    bytes
                }
            };
            let index_source = IndexSource {
                name: url.clone(),
                repository_url: source.url.clone(),
            };
            return fetched
                .index
                .add_bytes(index_source, &bytes)
                .map_err(|error| (url, FetchErrorKind::MalformedIndex(error)));
        }
        Err(last_missing.expect("at least one index is listed"))
    }

    fn download(&self, url: &str) -> Result<Vec<u8>, FetchErrorKind> {
        let response = self.agent.get(url).call().map_err(|error| match error {
            ureq::Error::StatusCode(status) if status >= 500 => {
                FetchErrorKind::Unreachable(format!("the server answered {status}"))
            }
            ureq::Error::StatusCode(status) => FetchErrorKind::Status(status),
            other => FetchErrorKind::Unreachable(other.to_string()),
        })?;
        let mut bytes = Vec::new();
        response
            .into_body()
            .into_reader()
            .read_to_end(&mut bytes)
            .map_err(|error| FetchErrorKind::Unreachable(error.to_string()))?;
        Ok(bytes)
    }
}
