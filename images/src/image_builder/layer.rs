//! One image layer, written as a tar archive whose bytes depend on nothing but its
//! entries: paths sorted, every header field set explicitly (mode, owner, mtime, no user or
//! group names), parents present before their children.

use std::collections::BTreeMap;

use cairn_debian::{EntryKind, FileEntry, sha256_hex};
use cairn_lockfiles::LayerCompression;

use crate::compression::{compress, media_type};

/// A layer's paths, kept sorted.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    entries: BTreeMap<String, FileEntry>,
}

/// A written layer: its compressed bytes, their sha256 (the blob's digest) and the sha256
/// of the uncompressed tar (the image config's diff id).
#[derive(Debug, Clone)]
pub struct LayerBlob {
    pub bytes: Vec<u8>,
    pub digest: String,
    pub diff_id: String,
    pub media_type: &'static str,
}

impl Layer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `path` (absolute or relative to the root) and every missing parent folder
    /// (mode 0755, root's). A later entry at the same path replaces the earlier one.
    pub fn insert(&mut self, path: &str, entry: FileEntry) {
        let relative = path.trim_start_matches('/').trim_end_matches('/');
        if relative.is_empty() {
            return;
        }
        let mut parent = String::new();
        let parts: Vec<&str> = relative.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(part);
            self.entries.entry(parent.clone()).or_insert(FileEntry {
                kind: EntryKind::Directory,
                mode: 0o755,
                uid: 0,
                gid: 0,
            });
        }
        self.entries.insert(relative.to_string(), entry);
    }

    /// Adds every file, folder and symlink under `folder` at `destination` in the image,
    /// with the modes they have on disk and root as their owner.
    pub fn insert_tree(
        &mut self,
        folder: &std::path::Path,
        destination: &str,
    ) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let mut stack = vec![(
            folder.to_path_buf(),
            destination.trim_end_matches('/').to_string(),
        )];
        while let Some((on_disk, in_image)) = stack.pop() {
            for item in std::fs::read_dir(&on_disk)? {
                let item = item?;
                let name = item.file_name().to_string_lossy().into_owned();
                let path = item.path();
                let target = format!("{in_image}/{name}");
                let metadata = std::fs::symlink_metadata(&path)?;
                let mode = metadata.permissions().mode() & 0o7777;
                let kind = if metadata.file_type().is_symlink() {
                    EntryKind::Symlink(std::fs::read_link(&path)?.to_string_lossy().into_owned())
                } else if metadata.is_dir() {
                    stack.push((path.clone(), target.clone()));
                    EntryKind::Directory
                } else {
                    EntryKind::File(std::fs::read(&path)?)
                };
                self.insert(
                    &target,
                    FileEntry {
                        kind,
                        mode,
                        uid: 0,
                        gid: 0,
                    },
                );
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every path (relative to the root) and its entry, sorted by path.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &FileEntry)> {
        self.entries
            .iter()
            .map(|(path, entry)| (path.as_str(), entry))
    }

    /// The layer's tar, every member's mtime `mtime` (seconds since the epoch).
    pub fn tar(&self, mtime: u64) -> std::io::Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        builder.mode(tar::HeaderMode::Deterministic);
        // A tar links only to a member written before the link. So each file with hard
        // links is written at whichever of its paths comes first, and the others link to
        // that one, whichever of them the package called the file.
        let mut first_path: BTreeMap<&str, &str> = BTreeMap::new();
        for (path, entry) in &self.entries {
            if let EntryKind::HardLink(target) = &entry.kind {
                let first = first_path.entry(target.as_str()).or_insert(target.as_str());
                if path.as_str() < *first {
                    *first = path.as_str();
                }
            }
        }
        for (path, entry) in &self.entries {
            let file = match &entry.kind {
                EntryKind::HardLink(target) => Some(target.as_str()),
                EntryKind::File(_) if first_path.contains_key(path.as_str()) => Some(path.as_str()),
                _ => None,
            };
            let (path, entry) = match file {
                None => (path, entry),
                Some(file) => {
                    let first = first_path[file];
                    let Some(linked) = self
                        .entries
                        .get(file)
                        .filter(|linked| matches!(linked.kind, EntryKind::File(_)))
                    else {
                        return Err(std::io::Error::other(format!(
                            "`{path}` is a hard link to `{file}`, which is not a file of the same layer"
                        )));
                    };
                    if first != path.as_str() {
                        let mut header = tar::Header::new_gnu();
                        header.set_mode(linked.mode);
                        header.set_uid(linked.uid);
                        header.set_gid(linked.gid);
                        header.set_mtime(mtime);
                        header.set_entry_type(tar::EntryType::Link);
                        header.set_size(0);
                        builder.append_link(&mut header, path, first)?;
                        continue;
                    }
                    (path, linked)
                }
            };
            let mut header = tar::Header::new_gnu();
            header.set_mode(entry.mode);
            header.set_uid(entry.uid);
            header.set_gid(entry.gid);
            header.set_mtime(mtime);
            match &entry.kind {
                EntryKind::Directory => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    builder.append_data(&mut header, format!("{path}/"), std::io::empty())?;
                }
                EntryKind::File(content) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(content.len() as u64);
                    builder.append_data(&mut header, path, content.as_slice())?;
                }
                EntryKind::Symlink(target) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    builder.append_link(&mut header, path, target)?;
                }
                EntryKind::HardLink(_) => unreachable!("hard links are written above"),
            }
        }
        builder.into_inner()
    }

    /// The layer, compressed: the blob an image references.
    pub fn write(&self, mtime: u64, compression: LayerCompression) -> std::io::Result<LayerBlob> {
        let tar = self.tar(mtime)?;
        let diff_id = sha256_digest(&tar);
        let bytes = compress(&tar, compression)?;
        Ok(LayerBlob {
            digest: sha256_digest(&bytes),
            diff_id,
            bytes,
            media_type: media_type(compression),
        })
    }
}

/// `sha256:<hex>`, as OCI descriptors write digests.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(content: &str, mode: u32) -> FileEntry {
        FileEntry {
            kind: EntryKind::File(content.as_bytes().to_vec()),
            mode,
            uid: 0,
            gid: 0,
        }
    }

    #[test]
    fn the_same_entries_in_any_order_make_the_same_bytes() {
        let mut first = Layer::new();
        first.insert("/usr/local/bin/run", file("#!/bin/sh\n", 0o755));
        first.insert("/etc/app.conf", file("a = 1\n", 0o644));
        let mut second = Layer::new();
        second.insert("etc/app.conf", file("a = 1\n", 0o644));
        second.insert("usr/local/bin/run", file("#!/bin/sh\n", 0o755));
        for compression in [
            LayerCompression::Gzip { level: 6 },
            LayerCompression::Zstd { level: 3 },
        ] {
            let one = first.write(1, compression).unwrap();
            let two = second.write(1, compression).unwrap();
            assert_eq!(one.digest, two.digest);
            assert_eq!(one.diff_id, two.diff_id);
        }
        // Another mtime is another layer.
        let later = first.write(2, LayerCompression::Gzip { level: 6 }).unwrap();
        assert_ne!(
            later.diff_id,
            first
                .write(1, LayerCompression::Gzip { level: 6 })
                .unwrap()
                .diff_id
        );
    }

    #[test]
    fn parents_come_before_children_with_every_header_field_fixed() {
        let mut layer = Layer::new();
        layer.insert("/usr/local/bin/run", file("x", 0o750));
        let tar = layer.tar(7).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let members: Vec<(String, u32, u64, u64, u64)> = archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let header = entry.header();
                (
                    entry.path().unwrap().display().to_string(),
                    header.mode().unwrap(),
                    header.uid().unwrap(),
                    header.mtime().unwrap(),
                    header.username_bytes().map_or(0, |name| name.len() as u64),
                )
            })
            .collect();
        assert_eq!(
            members,
            [
                ("usr/".to_string(), 0o755, 0, 7, 0),
                ("usr/local/".to_string(), 0o755, 0, 7, 0),
                ("usr/local/bin/".to_string(), 0o755, 0, 7, 0),
                ("usr/local/bin/run".to_string(), 0o750, 0, 7, 0),
            ]
        );
    }
}
