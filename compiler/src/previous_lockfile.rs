//! The lockfile a compile replaces, read at most once, when something first needs it: a
//! secret that cannot be read here keeps its fingerprint from it, package pins are kept
//! from it, `--locked` describes how the new lockfile differs from it. At ten thousand
//! hosts a read costs seconds; a compile with nothing to keep does not read it at all.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use cairn_lockfiles::Lockfile;

/// The lockfile at a compile's output path, as it was before the compile.
#[derive(Debug)]
pub struct PreviousLockfile {
    path: PathBuf,
    reading: OnceCell<Reading>,
}

#[derive(Debug)]
enum Reading {
    /// No file at the path.
    Missing,
    Read(Box<Lockfile>),
    /// A file this cairn cannot read as a lockfile (an older format, say): the first line
    /// of why.
    Unreadable(String),
}

impl PreviousLockfile {
    /// The lockfile at `path`, not read yet.
    pub fn at(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            reading: OnceCell::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lockfile, if there is one this cairn reads.
    pub fn lockfile(&self) -> Option<&Lockfile> {
        match self.read() {
            Reading::Read(lockfile) => Some(lockfile),
            Reading::Missing | Reading::Unreadable(_) => None,
        }
    }

    /// Why the file at the path cannot be read as a lockfile; `None` when it can, or when
    /// there is none.
    pub fn unreadable(&self) -> Option<&str> {
        match self.read() {
            Reading::Unreadable(reason) => Some(reason),
            Reading::Missing | Reading::Read(_) => None,
        }
    }

    fn read(&self) -> &Reading {
        self.reading.get_or_init(|| {
            if !self.path.is_file() {
                return Reading::Missing;
            }
            match Lockfile::read(&self.path) {
                Ok(lockfile) => Reading::Read(Box::new(lockfile)),
                Err(error) => Reading::Unreadable(
                    error
                        .to_string()
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                ),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_neither_a_lockfile_nor_unreadable() {
        let folder = tempfile::tempdir().unwrap();
        let previous = PreviousLockfile::at(&folder.path().join("cluster.lock"));
        assert!(previous.lockfile().is_none());
        assert!(previous.unreadable().is_none());
    }

    #[test]
    fn a_file_that_is_not_a_lockfile_says_why_in_one_line() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("cluster.lock");
        std::fs::write(&path, "version = 1\n").unwrap();
        let previous = PreviousLockfile::at(&path);
        assert!(previous.lockfile().is_none());
        let reason = previous.unreadable().expect("a reason");
        assert!(!reason.contains('\n'), "{reason}");
    }

    #[test]
    fn the_file_is_read_once_however_often_it_is_asked_for() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("cluster.lock");
        std::fs::write(&path, "not a lockfile").unwrap();
        let previous = PreviousLockfile::at(&path);
        let first = previous.unreadable().map(str::to_string);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(previous.unreadable().map(str::to_string), first);
    }
}
