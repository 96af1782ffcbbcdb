//! The lockfile a compile replaces, read when something first needs it: a secret that
//! cannot be read here keeps its fingerprint from it, package pins are kept from it,
//! `--locked` describes how the new lockfile differs from it. At ten thousand hosts a read
//! costs seconds; a compile with nothing to keep does not read it at all. What is read is
//! kept, but for a lockfile only lent (the pins': [`PreviousLockfile::lend`]), which is let
//! go once read from: at ten thousand hosts it is 300 MB the rest of a compile does not
//! need, and kept, it was the largest part of compile's peak memory.

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
        self.read().lockfile()
    }

    /// Why the file at the path cannot be read as a lockfile; `None` when it can, or when
    /// there is none.
    pub fn unreadable(&self) -> Option<&str> {
        match self.read() {
            Reading::Unreadable(reason) => Some(reason),
            Reading::Missing | Reading::Read(_) => None,
        }
    }

    /// Hands `read_from` the lockfile, if there is one this cairn reads, and lets it go
    /// after unless it is kept already: asked for again ([`PreviousLockfile::lockfile`]),
    /// it is read again. A file that is missing or unreadable is remembered as such.
    pub fn lend<T>(&self, read_from: impl FnOnce(Option<&Lockfile>) -> T) -> T {
        if self.reading.get().is_some() {
            return read_from(self.lockfile());
        }
        match self.read_now() {
            Reading::Read(lockfile) => read_from(Some(&lockfile)),
            not_read => read_from(self.reading.get_or_init(|| not_read).lockfile()),
        }
    }

    fn read(&self) -> &Reading {
        self.reading.get_or_init(|| self.read_now())
    }

    fn read_now(&self) -> Reading {
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
    }
}

impl Reading {
    fn lockfile(&self) -> Option<&Lockfile> {
        match self {
            Reading::Read(lockfile) => Some(lockfile),
            Reading::Missing | Reading::Unreadable(_) => None,
        }
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
    fn a_lent_lockfile_is_not_kept_and_a_missing_file_is_remembered() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("cluster.lock");
        let previous = PreviousLockfile::at(&path);
        assert!(previous.lend(|lockfile| lockfile.is_none()));
        std::fs::write(&path, "not a lockfile").unwrap();
        assert!(previous.unreadable().is_none(), "missing, as first read");
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
