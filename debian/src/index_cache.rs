//! Packages indexes kept between compiles, named by their sha256: a suite's Release file
//! says which index is current, and an index already here under that checksum is not
//! fetched again. Nothing here is ever trusted by name alone: a file is read back only when
//! its bytes still have the checksum it is named by.

use std::path::{Path, PathBuf};

use crate::checksum::sha256_hex;

/// A folder of indexes, `<sha256>` each, as the repository served them (compressed).
#[derive(Debug, Clone)]
pub struct IndexCache {
    directory: PathBuf,
}

impl IndexCache {
    pub fn new(directory: PathBuf) -> IndexCache {
        IndexCache { directory }
    }

    /// `$XDG_CACHE_HOME/cairn/indexes`, or `~/.cache/cairn/indexes`; `None` where neither
    /// variable names an absolute folder (nothing is cached then).
    pub fn from_environment() -> Option<IndexCache> {
        let absolute = |variable: &str| {
            std::env::var_os(variable)
                .map(PathBuf::from)
                .filter(|path| path.is_absolute())
        };
        let base = absolute("XDG_CACHE_HOME")
            .or_else(|| absolute("HOME").map(|home| home.join(".cache")))?;
        Some(IndexCache::new(base.join("cairn").join("indexes")))
    }

    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The bytes kept under `sha256`, if they are there and still have that checksum.
    pub fn get(&self, sha256: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.directory.join(sha256)).ok()?;
        (sha256_hex(&bytes) == sha256).then_some(bytes)
    }

    /// Keeps `bytes`, whose checksum the caller verified, under `sha256`: written to a
    /// temporary file and renamed, so a reader never sees half of it. A cache that cannot
    /// be written is no error: the next compile fetches again.
    pub fn put(&self, sha256: &str, bytes: &[u8]) {
        if std::fs::create_dir_all(&self.directory).is_err() {
            return;
        }
        let partial = self
            .directory
            .join(format!(".{sha256}.{}.partial", std::process::id()));
        if std::fs::write(&partial, bytes).is_ok()
            && std::fs::rename(&partial, self.directory.join(sha256)).is_ok()
        {
            return;
        }
        let _ = std::fs::remove_file(&partial);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_index_is_read_back_only_while_it_has_its_checksum() {
        let folder = tempfile::tempdir().unwrap();
        let cache = IndexCache::new(folder.path().join("indexes"));
        let bytes = b"Package: hello\n";
        let sha256 = sha256_hex(bytes);
        assert_eq!(cache.get(&sha256), None);
        cache.put(&sha256, bytes);
        assert_eq!(cache.get(&sha256).as_deref(), Some(&bytes[..]));
        std::fs::write(cache.directory().join(&sha256), b"Package: other\n").unwrap();
        assert_eq!(cache.get(&sha256), None);
    }
}
