//! Files put into an export folder by a rename, and what an earlier export left removed.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use cairn_debian::paragraphs;
use sha2::{Digest, Sha256};

use super::{ORIGIN, PARTIAL_SUFFIX};
use crate::artifact_store::link_or_copy;

/// Puts the store's `stored` at `destination` unless it is there already: a hard link where
/// the two share a filesystem, else a copy, either by a rename. Returns whether it is a
/// hard link.
pub(super) fn place(stored: &Path, destination: &Path, sha256: &str) -> io::Result<bool> {
    let stored_metadata = fs::metadata(stored)?;
    let same_file = |metadata: &fs::Metadata| {
        metadata.dev() == stored_metadata.dev() && metadata.ino() == stored_metadata.ino()
    };
    if let Ok(existing) = fs::symlink_metadata(destination) {
        // (A rename onto another name of the same file would do nothing and leave the
        // temporary name behind.)
        if same_file(&existing) {
            return Ok(true);
        }
        if existing.is_file() && existing.len() == stored_metadata.len() {
            let mut file = BufReader::new(fs::File::open(destination)?);
            let mut hasher = Sha256::new();
            io::copy(&mut file, &mut hasher)?;
            if format!("{:x}", hasher.finalize()) == sha256 {
                fs::set_permissions(destination, fs::Permissions::from_mode(0o644))?;
                return Ok(false);
            }
        }
    }
    // nginx's workers must read it, and a hard link has the store file's mode: the store
    // writes its files 0600.
    let readable = stored_metadata.mode() & 0o004 != 0
        || fs::set_permissions(
            stored,
            fs::Permissions::from_mode(stored_metadata.mode() & 0o7777 | 0o444),
        )
        .is_ok();
    let file_name = destination
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = destination.with_file_name(format!(".{file_name}{PARTIAL_SUFFIX}"));
    let _ = fs::remove_file(&partial);
    if readable {
        link_or_copy(stored, &partial)?;
    } else {
        fs::copy(stored, &partial)?;
    }
    let is_link = same_file(&fs::symlink_metadata(&partial)?);
    if !is_link {
        fs::set_permissions(&partial, fs::Permissions::from_mode(0o644))?;
        fs::File::open(&partial)?.sync_all()?;
    }
    fs::rename(&partial, destination)?;
    Ok(is_link)
}

/// Removes the files under `folder` that `removable` says are this export's kind and that
/// `keep` does not hold, then the folders left empty. Returns how many files it removed.
pub(super) fn remove_stale(
    folder: &Path,
    keep: &BTreeSet<PathBuf>,
    removable: impl Fn(&Path) -> bool + Copy,
) -> io::Result<usize> {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            removed += remove_stale(&path, keep, removable)?;
            if fs::read_dir(&path)?.next().is_none() {
                fs::remove_dir(&path)?;
            }
        } else if !keep.contains(&path) && removable(&path) {
            fs::remove_file(&path)?;
            if path.extension().is_some_and(|extension| extension == "deb") {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Removes every suite of `dists` but `suite` whose `Release` cairn wrote (an export before
/// the hosts' suite was renamed): its indexes would name `.deb`s this export removed.
pub(super) fn remove_other_cairn_suites(dists: &Path, suite: &str) -> io::Result<()> {
    for entry in fs::read_dir(dists)? {
        let entry = entry?;
        if entry.file_name() == suite || !entry.file_type()?.is_dir() {
            continue;
        }
        let release = fs::read_to_string(entry.path().join("Release")).unwrap_or_default();
        let origin = paragraphs(&release)
            .next()
            .and_then(Result::ok)
            .and_then(|paragraph| paragraph.value("Origin").map(|origin| origin.into_owned()));
        if origin.as_deref() == Some(ORIGIN) {
            fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}
