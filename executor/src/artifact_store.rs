//! The local store of artifacts: files images take from outside the package repository
//! (Consul's release archive, Marathon's, cAdvisor's binary), pinned in the lockfile by
//! sha256. Each is downloaded once, checked while it is written, and kept under its
//! checksum; a file of the store is never anything but the bytes its name says.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use cairn_lockfiles::{ArtifactPlacement, ImageArtifact};
use sha2::{Digest, Sha256};

/// Why an artifact could not be had or placed.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("downloading {url}: {message}")]
    Download { url: String, message: String },
    #[error(
        "{url} is not the pinned artifact: its sha256 is {actual}, the lockfile pins {expected}; the file changed upstream or the URL is wrong (nothing was kept)"
    )]
    Mismatch {
        url: String,
        expected: String,
        actual: String,
    },
    #[error("the artifact store at {path}: {error}")]
    Store { path: PathBuf, error: io::Error },
    #[error("unpacking {url}: {message}")]
    Unpack { url: String, message: String },
}

/// A folder of artifacts named by their sha256.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    root: PathBuf,
}

impl ArtifactStore {
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `$CAIRN_STORE`, else `$XDG_CACHE_HOME/cairn/store`, else `~/.cache/cairn/store`.
    pub fn default_location() -> Self {
        if let Some(folder) = std::env::var_os("CAIRN_STORE") {
            return Self::at(folder);
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        Self::at(cache.join("cairn").join("store"))
    }

    /// Where the artifact with this checksum is kept.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.root.join("sha256").join(sha256)
    }

    /// The stored artifact, downloaded first if the store lacks it. Returns whether it was
    /// downloaded now.
    pub fn fetch(&self, url: &str, sha256: &str) -> Result<(PathBuf, bool), ArtifactError> {
        let path = self.path_of(sha256);
        if path.is_file() {
            return Ok((path, false));
        }
        let folder = path.parent().unwrap_or(&self.root).to_path_buf();
        let store_error = |error| ArtifactError::Store {
            path: folder.clone(),
            error,
        };
        fs::create_dir_all(&folder).map_err(store_error)?;
        let mut partial = tempfile::NamedTempFile::new_in(&folder).map_err(store_error)?;
        let download = |message: String| ArtifactError::Download {
            url: url.to_string(),
            message,
        };
        let response = ureq::get(url)
            .call()
            .map_err(|error| download(error.to_string()))?;
        let mut body = response.into_body().into_reader();
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let read = body
                .read(&mut buffer)
                .map_err(|error| download(error.to_string()))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            partial.write_all(&buffer[..read]).map_err(store_error)?;
        }
        let actual = hex(&hasher.finalize());
        if actual != sha256 {
            return Err(ArtifactError::Mismatch {
                url: url.to_string(),
                expected: sha256.to_string(),
                actual,
            });
        }
        partial.as_file().sync_all().map_err(store_error)?;
        partial
            .persist(&path)
            .map_err(|error| store_error(error.error))?;
        Ok((path, true))
    }
}

/// Places a stored artifact at `destination` (a build context's `artifacts/<sha256>`): the
/// file itself with its mode, or the archive unpacked into that folder.
pub fn place(
    artifact: &ImageArtifact,
    stored: &Path,
    destination: &Path,
) -> Result<(), ArtifactError> {
    let unpack_error = |message: String| ArtifactError::Unpack {
        url: artifact.url.clone(),
        message,
    };
    match artifact.placement {
        ArtifactPlacement::File { mode } => {
            use std::os::unix::fs::PermissionsExt;
            if let Some(parent) = destination.parent() {
                fs::create_dir_all(parent).map_err(|error| unpack_error(error.to_string()))?;
            }
            fs::copy(stored, destination).map_err(|error| unpack_error(error.to_string()))?;
            fs::set_permissions(destination, fs::Permissions::from_mode(mode))
                .map_err(|error| unpack_error(error.to_string()))
        }
        ArtifactPlacement::Unpack { strip_components } => {
            fs::create_dir_all(destination).map_err(|error| unpack_error(error.to_string()))?;
            unpack(stored, destination, strip_components as usize).map_err(unpack_error)
        }
    }
}

/// What an archive is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArchiveFormat {
    Zip,
    Gzip,
    Zstd,
    Xz,
    Tar,
}

fn archive_format(path: &Path) -> io::Result<ArchiveFormat> {
    let mut head = [0u8; 512];
    let mut file = File::open(path)?;
    let mut filled = 0;
    while filled < head.len() {
        let read = file.read(&mut head[filled..])?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    let head = &head[..filled];
    Ok(
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            ArchiveFormat::Zip
        } else if head.starts_with(&[0x1f, 0x8b]) {
            ArchiveFormat::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            ArchiveFormat::Zstd
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            ArchiveFormat::Xz
        } else {
            ArchiveFormat::Tar
        },
    )
}

fn unpack(archive: &Path, destination: &Path, strip: usize) -> Result<(), String> {
    let open = || File::open(archive).map_err(|error| error.to_string());
    match archive_format(archive).map_err(|error| error.to_string())? {
        ArchiveFormat::Zip => unpack_zip(open()?, destination, strip),
        ArchiveFormat::Gzip => {
            unpack_tar(flate2::read::GzDecoder::new(open()?), destination, strip)
        }
        ArchiveFormat::Zstd => unpack_tar(
            zstd::stream::read::Decoder::new(open()?).map_err(|error| error.to_string())?,
            destination,
            strip,
        ),
        ArchiveFormat::Xz => {
            Err("xz-compressed archives are not supported; repack it with gzip or zstd".to_string())
        }
        ArchiveFormat::Tar => unpack_tar(open()?, destination, strip),
    }
}

/// The member's path below the destination, with `strip` leading parts dropped; `None` for
/// a member stripped away entirely. A member reaching outside (`..`, an absolute path) is
/// refused.
fn member_path(path: &Path, strip: usize) -> Result<Option<PathBuf>, String> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "member `{}` reaches outside the archive's folder",
                    path.display()
                ));
            }
        }
    }
    if parts.len() <= strip {
        return Ok(None);
    }
    Ok(Some(parts[strip..].iter().collect()))
}

fn unpack_tar(reader: impl Read, destination: &Path, strip: usize) -> Result<(), String> {
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(false);
    let entries = archive.entries().map_err(|error| error.to_string())?;
    for entry in entries {
        let mut entry = entry.map_err(|error| error.to_string())?;
        let path = entry
            .path()
            .map_err(|error| error.to_string())?
            .into_owned();
        let Some(relative) = member_path(&path, strip)? else {
            continue;
        };
        let target = destination.join(&relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|error| error.to_string())?;
        }
        if entry.header().entry_type().is_hard_link() {
            // A hard link names another member: where that one landed after the strip.
            let linked = entry
                .link_name()
                .map_err(|error| error.to_string())?
                .ok_or_else(|| format!("hard link `{}` names no member", path.display()))?;
            let Some(linked) = member_path(&linked, strip)? else {
                return Err(format!(
                    "hard link `{}` names a member stripped away",
                    path.display()
                ));
            };
            fs::hard_link(destination.join(linked), &target).map_err(|error| error.to_string())?;
            continue;
        }
        entry
            .unpack(&target)
            .map_err(|error| format!("member `{}`: {error}", path.display()))?;
    }
    Ok(())
}

fn unpack_zip(file: File, destination: &Path, strip: usize) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mut archive = zip::ZipArchive::new(file).map_err(|error| error.to_string())?;
    for index in 0..archive.len() {
        let mut member = archive.by_index(index).map_err(|error| error.to_string())?;
        let Some(name) = member.enclosed_name() else {
            return Err(format!(
                "member `{}` reaches outside the archive's folder",
                member.name()
            ));
        };
        let Some(relative) = member_path(&name, strip)? else {
            continue;
        };
        let target = destination.join(relative);
        if member.is_dir() {
            fs::create_dir_all(&target).map_err(|error| error.to_string())?;
            continue;
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|error| error.to_string())?;
        }
        let mut out = File::create(&target).map_err(|error| error.to_string())?;
        io::copy(&mut member, &mut out).map_err(|error| error.to_string())?;
        let mode = member.unix_mode().unwrap_or(0o644) & 0o7777;
        fs::set_permissions(&target, fs::Permissions::from_mode(mode))
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_stripped_of_its_leading_parts_and_one_reaching_outside_is_refused() {
        assert_eq!(
            member_path(Path::new("marathon-1.11/bin/start"), 1).unwrap(),
            Some(PathBuf::from("bin/start"))
        );
        assert_eq!(member_path(Path::new("marathon-1.11/"), 1).unwrap(), None);
        assert_eq!(
            member_path(Path::new("./usr/local/lib"), 0).unwrap(),
            Some(PathBuf::from("usr/local/lib"))
        );
        assert!(member_path(Path::new("../etc/passwd"), 0).is_err());
        assert!(member_path(Path::new("/etc/passwd"), 0).is_err());
    }
}
