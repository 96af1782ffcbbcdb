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

/// cairn's folder in the user's cache: `$XDG_CACHE_HOME/cairn`, else `~/.cache/cairn`.
pub fn cache_folder() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("cairn")
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
        Self::at(cache_folder().join("store"))
    }

    /// Where the artifact with this checksum is kept.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.root.join("sha256").join(sha256)
    }

    /// The stored artifact, downloaded first if the store lacks it. Returns whether it was
    /// downloaded now. A download that fails for a reason that may pass (a name that did
    /// not resolve, a connection refused or cut, a timeout, a server's 5xx) is tried again
    /// after each of [`RETRY_DELAYS`]; a 4xx, a checksum that differs or the store's own
    /// failure is not.
    pub fn fetch(&self, url: &str, sha256: &str) -> Result<(PathBuf, bool), ArtifactError> {
        let path = self.path_of(sha256);
        if path.is_file() {
            return Ok((path, false));
        }
        let mut delays = RETRY_DELAYS.iter();
        loop {
            match self.download(url, sha256, &path) {
                Ok(()) => return Ok((path, true)),
                Err(Attempt::Transient(message)) => match delays.next() {
                    Some(delay) => std::thread::sleep(*delay),
                    None => {
                        return Err(ArtifactError::Download {
                            url: url.to_string(),
                            message: format!("{message} (tried {} times)", RETRY_DELAYS.len() + 1),
                        });
                    }
                },
                Err(Attempt::Failed(error)) => return Err(error),
            }
        }
    }

    /// One download of `url` into the store at `path`, checked against `sha256` as it is
    /// written.
    fn download(&self, url: &str, sha256: &str, path: &Path) -> Result<(), Attempt> {
        let folder = path.parent().unwrap_or(&self.root).to_path_buf();
        let store_error = |error| {
            Attempt::Failed(ArtifactError::Store {
                path: folder.clone(),
                error,
            })
        };
        fs::create_dir_all(&folder).map_err(store_error)?;
        let mut partial = tempfile::NamedTempFile::new_in(&folder).map_err(store_error)?;
        // Timeouts, so that a stalled server fails the image instead of hanging the apply;
        // no Accept-Encoding, so that a `.tar.gz` served with `Content-Encoding: gzip` comes
        // as the bytes the checksum is of.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(std::time::Duration::from_secs(15)))
            .timeout_per_read(Some(std::time::Duration::from_secs(60)))
            .accept_encoding("")
            .build()
            .into();
        let response = agent.get(url).call().map_err(|error| match error {
            ureq::Error::StatusCode(status) if status < 500 => {
                Attempt::Failed(ArtifactError::Download {
                    url: url.to_string(),
                    message: error.to_string(),
                })
            }
            other => Attempt::Transient(other.to_string()),
        })?;
        let mut body = response.into_body().into_reader();
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            // A connection cut in the middle of the body may pass too.
            let read = body
                .read(&mut buffer)
                .map_err(|error| Attempt::Transient(error.to_string()))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            partial.write_all(&buffer[..read]).map_err(store_error)?;
        }
        let actual = format!("{:x}", hasher.finalize());
        if actual != sha256 {
            return Err(Attempt::Failed(ArtifactError::Mismatch {
                url: url.to_string(),
                expected: sha256.to_string(),
                actual,
            }));
        }
        partial.as_file().sync_all().map_err(store_error)?;
        partial
            .persist(path)
            .map_err(|error| store_error(error.error))?;
        Ok(())
    }
}

/// How long a download that failed for a reason that may pass waits before each retry:
/// an offline repository is hundreds of downloads, and one name lookup that fails for a
/// moment should not fail the apply.
pub const RETRY_DELAYS: [std::time::Duration; 2] = [
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(4),
];

/// How one download ended, when it did not succeed.
enum Attempt {
    /// It may succeed if tried again.
    Transient(String),
    /// It will fail the same way again.
    Failed(ArtifactError),
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
                create_folders(parent).map_err(|error| unpack_error(error.to_string()))?;
            }
            fs::copy(stored, destination).map_err(|error| unpack_error(error.to_string()))?;
            fs::set_permissions(destination, fs::Permissions::from_mode(mode))
                .map_err(|error| unpack_error(error.to_string()))
        }
        ArtifactPlacement::Unpack { strip_components } => {
            create_folders(destination).map_err(|error| unpack_error(error.to_string()))?;
            unpack(stored, destination, strip_components as usize).map_err(unpack_error)
        }
    }
}

/// Puts the stored file `stored` at `destination` as a hard link where the two share a
/// filesystem, else as a copy: a build context of a few hundred MB of packages is then
/// not written again. Only for files whose mode the caller does not change (a hard link
/// shares it with the store's file).
pub fn link_or_copy(stored: &Path, destination: &Path) -> io::Result<()> {
    match fs::hard_link(stored, destination) {
        Ok(()) => Ok(()),
        Err(_) => fs::copy(stored, destination).map(|_| ()),
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
    let mut written = std::collections::BTreeSet::new();
    for entry in entries {
        let mut entry = entry.map_err(|error| error.to_string())?;
        let path = entry
            .path()
            .map_err(|error| error.to_string())?
            .into_owned();
        let Some(relative) = member_path(&path, strip)? else {
            continue;
        };
        let target = prepare_member(destination, &relative)?;
        if entry.header().entry_type().is_hard_link() {
            // A hard link names another member: where that one landed after the strip, a
            // regular file this archive wrote, reached through no symlink.
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
            let source = prepare_member(destination, &linked)?;
            let is_file = fs::symlink_metadata(&source).is_ok_and(|metadata| metadata.is_file());
            if !is_file || !written.contains(&linked) {
                return Err(format!(
                    "hard link `{}` names `{}`, which is no file of this archive",
                    path.display(),
                    linked.display()
                ));
            }
            fs::hard_link(&source, &target).map_err(|error| error.to_string())?;
            continue;
        }
        entry
            .unpack(&target)
            .map_err(|error| format!("member `{}`: {error}", path.display()))?;
        if entry.header().entry_type().is_file() {
            written.insert(relative);
        }
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
        let target = prepare_member(destination, &relative)?;
        let unix_mode = member.unix_mode();
        if member.is_dir() {
            create_folders(&target).map_err(|error| error.to_string())?;
            let mode = unix_mode.map_or(0o755, |mode| mode & 0o7777);
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                .map_err(|error| error.to_string())?;
            continue;
        }
        // A symlink member (S_IFLNK in its unix mode) holds its target as its content.
        if unix_mode.is_some_and(|mode| mode & 0o170000 == 0o120000) {
            let mut link = String::new();
            member
                .read_to_string(&mut link)
                .map_err(|error| error.to_string())?;
            std::os::unix::fs::symlink(&link, &target).map_err(|error| error.to_string())?;
            continue;
        }
        let mut out = File::create(&target).map_err(|error| error.to_string())?;
        io::copy(&mut member, &mut out).map_err(|error| error.to_string())?;
        let mode = unix_mode.unwrap_or(0o644) & 0o7777;
        fs::set_permissions(&target, fs::Permissions::from_mode(mode))
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}

/// Where member `relative` goes under `destination`, its missing parent folders made (mode
/// 0755 whatever the umask, so the layer does not depend on the machine). Refused when a
/// parent is a symlink: an archive's own symlink must never carry a later member outside
/// the folder (`link -> /etc`, then `link/cron.d/x`). The member's own path may be a
/// symlink already (a member written twice): it is removed, so nothing writes through it.
fn prepare_member(destination: &Path, relative: &Path) -> Result<PathBuf, String> {
    let mut current = destination.to_path_buf();
    let parts: Vec<_> = relative.components().collect();
    for (index, part) in parts.iter().enumerate() {
        current.push(part);
        let last = index + 1 == parts.len();
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                if last {
                    fs::remove_file(&current).map_err(|error| error.to_string())?;
                } else {
                    return Err(format!(
                        "member `{}` would be written through the symlink `{}`",
                        relative.display(),
                        current
                            .strip_prefix(destination)
                            .unwrap_or(&current)
                            .display()
                    ));
                }
            }
            Ok(metadata) if !last && !metadata.is_dir() => {
                return Err(format!(
                    "member `{}` has a file where its folder `{}` should be",
                    relative.display(),
                    current
                        .strip_prefix(destination)
                        .unwrap_or(&current)
                        .display()
                ));
            }
            Ok(_) => {}
            Err(_) if !last => create_folders(&current).map_err(|error| error.to_string())?,
            Err(_) => {}
        }
    }
    Ok(current)
}

/// Makes `folder` and its missing parents with mode 0755, whatever the umask.
pub(crate) fn create_folders(folder: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if folder.is_dir() {
        return Ok(());
    }
    if let Some(parent) = folder.parent() {
        create_folders(parent)?;
    }
    match fs::create_dir(folder) {
        Ok(()) => fs::set_permissions(folder, fs::Permissions::from_mode(0o755)),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server on loopback answering its connections, one each, with `responses` in turn
    /// (status line and body); how many it answered is returned when it is joined.
    fn scripted_server(
        responses: Vec<(&'static str, &'static str)>,
    ) -> (String, std::thread::JoinHandle<usize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/artifact", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let mut answered = 0;
            for (status, body) in responses {
                let (mut connection, _) = listener.accept().unwrap();
                let mut request = [0u8; 4096];
                let _ = connection.read(&mut request).unwrap();
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                connection.write_all(response.as_bytes()).unwrap();
                answered += 1;
            }
            answered
        });
        (url, server)
    }

    fn sha256_of(text: &str) -> String {
        format!("{:x}", Sha256::digest(text.as_bytes()))
    }

    #[test]
    fn a_download_a_server_fails_for_a_moment_is_tried_again_and_kept() {
        let (url, server) = scripted_server(vec![
            ("503 Service Unavailable", "busy"),
            ("200 OK", "the artifact"),
        ]);
        let folder = tempfile::tempdir().unwrap();
        let store = ArtifactStore::at(folder.path());
        let (path, downloaded) = store.fetch(&url, &sha256_of("the artifact")).unwrap();
        assert!(downloaded);
        assert_eq!(fs::read_to_string(path).unwrap(), "the artifact");
        assert_eq!(server.join().unwrap(), 2, "one failure, one retry");
    }

    #[test]
    fn a_download_the_server_refuses_is_not_tried_again() {
        let (url, server) = scripted_server(vec![("404 Not Found", "no such file")]);
        let folder = tempfile::tempdir().unwrap();
        let store = ArtifactStore::at(folder.path());
        let error = store.fetch(&url, &sha256_of("anything")).unwrap_err();
        assert!(error.to_string().contains("404"), "{error}");
        assert!(!error.to_string().contains("tried"), "{error}");
        assert_eq!(server.join().unwrap(), 1);
    }

    #[test]
    fn a_download_that_keeps_failing_says_how_often_it_was_tried() {
        let attempts = RETRY_DELAYS.len() + 1;
        let (url, server) = scripted_server(vec![("502 Bad Gateway", ""); attempts]);
        let folder = tempfile::tempdir().unwrap();
        let store = ArtifactStore::at(folder.path());
        let error = store.fetch(&url, &sha256_of("anything")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains(&format!("(tried {attempts} times)")),
            "{error}"
        );
        assert_eq!(server.join().unwrap(), attempts);
    }

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

    /// A tar archive of `members`: (path, kind, content or link target).
    fn tar_of(members: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, data) in members {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            if kind.is_file() {
                header.set_size(data.len() as u64);
                builder
                    .append_data(&mut header, path, data.as_bytes())
                    .unwrap();
            } else {
                header.set_size(0);
                builder.append_link(&mut header, path, data).unwrap();
            }
        }
        builder.into_inner().unwrap()
    }

    fn unpack_bytes(bytes: &[u8], destination: &Path) -> Result<(), String> {
        let archive = tempfile::NamedTempFile::new().unwrap();
        fs::write(archive.path(), bytes).unwrap();
        unpack(archive.path(), destination, 0)
    }

    #[test]
    fn a_member_written_through_the_archives_own_symlink_is_refused_and_nothing_lands_outside() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "outside's secret").unwrap();
        let destination = tempfile::tempdir().unwrap();
        let target = outside.path().display().to_string();
        let planted = tar_of(&[
            ("escape", tar::EntryType::Symlink, &target),
            ("escape/planted", tar::EntryType::Regular, "planted"),
        ]);
        let error = unpack_bytes(&planted, destination.path()).unwrap_err();
        assert!(error.contains("through the symlink `escape`"), "{error}");
        assert!(!outside.path().join("planted").exists());

        let fresh = tempfile::tempdir().unwrap();
        let copied = tar_of(&[
            ("escape", tar::EntryType::Symlink, &target),
            ("copied-secret", tar::EntryType::Link, "escape/secret"),
        ]);
        let error = unpack_bytes(&copied, fresh.path()).unwrap_err();
        assert!(error.contains("through the symlink `escape`"), "{error}");
        assert!(!fresh.path().join("copied-secret").exists());

        // A hard link to a file of the archive itself is what hard links are for.
        let linked = tempfile::tempdir().unwrap();
        let fine = tar_of(&[
            ("bin/tool", tar::EntryType::Regular, "#!/bin/sh\n"),
            ("bin/tool-alias", tar::EntryType::Link, "bin/tool"),
        ]);
        unpack_bytes(&fine, linked.path()).unwrap();
        assert_eq!(
            fs::read_to_string(linked.path().join("bin/tool-alias")).unwrap(),
            "#!/bin/sh\n"
        );
    }

    #[test]
    fn a_zip_symlink_member_becomes_a_symlink() {
        let archive = tempfile::NamedTempFile::new().unwrap();
        let mut zip = zip::ZipWriter::new(fs::File::create(archive.path()).unwrap());
        zip.start_file("lib/libfoo.so.1", zip::write::SimpleFileOptions::default())
            .unwrap();
        io::Write::write_all(&mut zip, b"ELF").unwrap();
        zip.add_symlink(
            "lib/libfoo.so",
            "libfoo.so.1",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.finish().unwrap();
        let destination = tempfile::tempdir().unwrap();
        unpack(archive.path(), destination.path(), 0).unwrap();
        let link = destination.path().join("lib/libfoo.so");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("libfoo.so.1"));
    }
}
