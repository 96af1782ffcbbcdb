//! A Debian binary package read without dpkg: the `ar` archive (deb(5)) holding
//! `debian-binary`, `control.tar.*` and `data.tar.*`. The control file gives the package's
//! fields (for an image's dpkg status, or an index paragraph), the data archive its files
//! as [`FileEntry`]s. Maintainer scripts are not run; what images need of them is done by
//! cairn's image builder.

use std::io::Read;

use crate::file_entry::{EntryKind, FileEntry};

/// A package's control file and its files, paths relative to the root, in archive order.
#[derive(Debug)]
pub struct DebianPackage {
    /// The `control` file's paragraph, as the package wrote it (ends with a newline).
    pub control: String,
    pub members: Vec<(String, FileEntry)>,
}

/// Why a `.deb` could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{package}: {message}")]
pub struct PackageError {
    pub package: String,
    pub message: String,
}

/// What a slim image leaves out, as Debian's own container images do (their dpkg
/// `path-exclude`s): manuals, info pages, and documentation save its copyright files.
fn excluded(path: &str, kind: &EntryKind) -> bool {
    if matches!(kind, EntryKind::Directory) {
        return false;
    }
    path.starts_with("usr/share/man/")
        || path.starts_with("usr/share/info/")
        || (path.starts_with("usr/share/doc/") && !path.ends_with("/copyright"))
}

/// Reads the `.deb` `bytes`; `package` names it in errors.
pub fn read_debian_package(bytes: &[u8], package: &str) -> Result<DebianPackage, PackageError> {
    let error = package_error(package);
    let mut control = None;
    let mut members = None;
    read_members(bytes, package, |name, content| {
        if let Some(compression) = name.strip_prefix("control.tar") {
            let tar = decompress(&content, compression)
                .map_err(|cause| error(format!("unpacking `{name}`: {cause}")))?;
            control = Some(
                read_control(&tar).map_err(|cause| error(format!("reading `{name}`: {cause}")))?,
            );
        } else if let Some(compression) = name.strip_prefix("data.tar") {
            let tar = decompress(&content, compression)
                .map_err(|cause| error(format!("unpacking `{name}`: {cause}")))?;
            members = Some(read_data(&tar).map_err(|cause| error(format!("`{name}`: {cause}")))?);
        }
        Ok(true)
    })?;
    match (control, members) {
        (Some(control), Some(members)) => Ok(DebianPackage { control, members }),
        _ => Err(error(
            "not a Debian package: `debian-binary`, `control.tar` or `data.tar` is missing"
                .to_string(),
        )),
    }
}

/// The `control` file's paragraph of the `.deb` read from `reader`, and nothing else: the
/// data archive, which follows it, is neither read nor unpacked (the caller may go on
/// reading `reader`, to hash the whole file in one pass). `package` names it in errors.
pub fn read_control_paragraph(reader: impl Read, package: &str) -> Result<String, PackageError> {
    let error = package_error(package);
    let mut control = None;
    read_members(reader, package, |name, content| {
        let Some(compression) = name.strip_prefix("control.tar") else {
            return Ok(true);
        };
        let tar = decompress(&content, compression)
            .map_err(|cause| error(format!("unpacking `{name}`: {cause}")))?;
        control =
            Some(read_control(&tar).map_err(|cause| error(format!("reading `{name}`: {cause}")))?);
        Ok(false)
    })?;
    control.ok_or_else(|| {
        error("not a Debian package: `debian-binary` or `control.tar` is missing".to_string())
    })
}

fn package_error(package: &str) -> impl Fn(String) -> PackageError + '_ {
    move |message| PackageError {
        package: package.to_string(),
        message,
    }
}

/// Walks the `ar` archive of a `.deb` from `reader`: `debian-binary` must come first and
/// say format 2.x; `visit` then gets each other member's name and bytes, in order, and
/// says whether to go on.
fn read_members(
    reader: impl Read,
    package: &str,
    mut visit: impl FnMut(&str, Vec<u8>) -> Result<bool, PackageError>,
) -> Result<(), PackageError> {
    let error = package_error(package);
    let mut archive = ar::Archive::new(reader);
    let mut format_seen = false;
    while let Some(entry) = archive.next_entry() {
        let mut entry =
            entry.map_err(|cause| error(format!("not a Debian package (deb(5)): {cause}")))?;
        let name = String::from_utf8_lossy(entry.header().identifier()).into_owned();
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .map_err(|cause| error(format!("reading its member `{name}`: {cause}")))?;
        if !format_seen {
            if name != "debian-binary" || !content.starts_with(b"2.") {
                return Err(error(format!(
                    "not a Debian package of format 2.x: its first member is `{name}`, saying {:?}",
                    String::from_utf8_lossy(&content[..content.len().min(16)]).trim()
                )));
            }
            format_seen = true;
        } else if !visit(&name, content)? {
            break;
        }
    }
    Ok(())
}

/// A member's bytes, uncompressed by the suffix after `.tar` in its name.
fn decompress(content: &[u8], suffix: &str) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match suffix {
        "" => out.extend_from_slice(content),
        ".gz" => {
            flate2::read::GzDecoder::new(content).read_to_end(&mut out)?;
        }
        ".xz" => {
            liblzma::read::XzDecoder::new(content).read_to_end(&mut out)?;
        }
        ".zst" => {
            zstd::stream::read::Decoder::new(content)?.read_to_end(&mut out)?;
        }
        other => {
            return Err(std::io::Error::other(format!(
                "compression `{other}` is not one cairn reads (gzip, xz, zstd or none)"
            )));
        }
    }
    Ok(out)
}

fn read_control(tar: &[u8]) -> std::io::Result<String> {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if normalise(&entry.path_bytes()) == "control" {
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            if !text.ends_with('\n') {
                text.push('\n');
            }
            return Ok(text);
        }
    }
    Err(std::io::Error::other("it has no `control` file"))
}

/// `./usr/bin/x` and `usr/bin/x/` alike as `usr/bin/x`.
fn normalise(path: &[u8]) -> String {
    let text = String::from_utf8_lossy(path);
    text.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

fn read_data(tar: &[u8]) -> std::io::Result<Vec<(String, FileEntry)>> {
    let mut archive = tar::Archive::new(tar);
    let mut members = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = normalise(&entry.path_bytes());
        if path.is_empty() {
            continue;
        }
        if path.split('/').any(|part| part == ".." || part == ".") {
            return Err(std::io::Error::other(format!(
                "member `{path}` reaches outside the root"
            )));
        }
        let header = entry.header();
        let mode = header.mode()? & 0o7777;
        let uid = header.uid()?;
        let gid = header.gid()?;
        let link_target = || -> std::io::Result<String> {
            let name = entry
                .link_name_bytes()
                .ok_or_else(|| std::io::Error::other(format!("link `{path}` has no target")))?;
            Ok(String::from_utf8_lossy(&name).into_owned())
        };
        let kind = match header.entry_type() {
            tar::EntryType::Directory => EntryKind::Directory,
            tar::EntryType::Symlink => EntryKind::Symlink(link_target()?),
            tar::EntryType::Link => EntryKind::HardLink(normalise(link_target()?.as_bytes())),
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut content = Vec::with_capacity(header.size()? as usize);
                entry.read_to_end(&mut content)?;
                EntryKind::File(content)
            }
            other => {
                return Err(std::io::Error::other(format!(
                    "member `{path}` is a {other:?}, which an image layer does not take"
                )));
            }
        };
        if excluded(&path, &kind) {
            continue;
        }
        members.push((
            path,
            FileEntry {
                kind,
                mode,
                uid,
                gid,
            },
        ));
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.deb` made here: an ar archive of the three members, as dpkg-deb writes them.
    fn deb(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut builder = ar::Builder::new(Vec::new());
        for (name, content) in members {
            let header = ar::Header::new(name.as_bytes().to_vec(), content.len() as u64);
            builder.append(&header, content.as_slice()).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn tar_of(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, content_or_target) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            if path.contains("..") {
                // The tar crate refuses to write such a name; a hostile archive has one.
                header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
                header.set_size(content_or_target.len() as u64);
                header.set_cksum();
                builder
                    .append(&header, content_or_target.as_bytes())
                    .unwrap();
                continue;
            }
            match kind {
                tar::EntryType::Regular => {
                    header.set_size(content_or_target.len() as u64);
                    builder
                        .append_data(&mut header, path, content_or_target.as_bytes())
                        .unwrap();
                }
                _ => {
                    header.set_size(0);
                    builder
                        .append_link(&mut header, path, content_or_target)
                        .unwrap();
                }
            }
        }
        builder.into_inner().unwrap()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn reads_the_control_paragraph_and_the_files_leaving_out_documentation() {
        let control = tar_of(&[(
            "./control",
            tar::EntryType::Regular,
            "Package: hello\nVersion: 1.0\n",
        )]);
        let data = tar_of(&[
            ("./usr/bin/hello", tar::EntryType::Regular, "binary"),
            ("./usr/bin/hi", tar::EntryType::Link, "./usr/bin/hello"),
            ("./usr/bin/greet", tar::EntryType::Symlink, "hello"),
            (
                "./usr/share/man/man1/hello.1.gz",
                tar::EntryType::Regular,
                "man",
            ),
            (
                "./usr/share/doc/hello/changelog.gz",
                tar::EntryType::Regular,
                "log",
            ),
            (
                "./usr/share/doc/hello/copyright",
                tar::EntryType::Regular,
                "GPL",
            ),
        ]);
        let bytes = deb(&[
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar.gz", gzip(&control)),
            (
                "data.tar.zst",
                zstd::stream::encode_all(data.as_slice(), 3).unwrap(),
            ),
        ]);
        let package = read_debian_package(&bytes, "hello").unwrap();
        assert_eq!(package.control, "Package: hello\nVersion: 1.0\n");
        let paths: Vec<(&str, &EntryKind)> = package
            .members
            .iter()
            .map(|(path, entry)| (path.as_str(), &entry.kind))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("usr/bin/hello", &EntryKind::File(b"binary".to_vec())),
                (
                    "usr/bin/hi",
                    &EntryKind::HardLink("usr/bin/hello".to_string())
                ),
                ("usr/bin/greet", &EntryKind::Symlink("hello".to_string())),
                (
                    "usr/share/doc/hello/copyright",
                    &EntryKind::File(b"GPL".to_vec())
                ),
            ]
        );
    }

    #[test]
    fn the_control_paragraph_alone_is_read_without_unpacking_the_data_archive() {
        let control = tar_of(&[(
            "./control",
            tar::EntryType::Regular,
            "Package: hello\nVersion: 1.0",
        )]);
        let bytes = deb(&[
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar.gz", gzip(&control)),
            ("data.tar.xz", b"never unpacked".to_vec()),
        ]);
        assert_eq!(
            read_control_paragraph(bytes.as_slice(), "hello").unwrap(),
            "Package: hello\nVersion: 1.0\n"
        );
        let error = read_control_paragraph(&b"not an archive"[..], "broken").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("broken: not a Debian package"),
            "{error}"
        );
    }

    #[test]
    fn anything_else_is_refused_naming_the_package() {
        let error = read_debian_package(b"not an archive", "broken").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("broken: not a Debian package"),
            "{error}"
        );
        let bytes = deb(&[("debian-binary", b"2.0\n".to_vec())]);
        let error = read_debian_package(&bytes, "empty").unwrap_err();
        assert!(error.to_string().contains("is missing"), "{error}");
        let data = tar_of(&[("./../etc/passwd", tar::EntryType::Regular, "x")]);
        let control = tar_of(&[("./control", tar::EntryType::Regular, "Package: x\n")]);
        let bytes = deb(&[
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar", control),
            ("data.tar", data),
        ]);
        let error = read_debian_package(&bytes, "escape").unwrap_err();
        assert!(error.to_string().contains("reaches outside"), "{error}");
    }
}
