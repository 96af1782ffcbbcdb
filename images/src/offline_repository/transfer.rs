//! An export's files on their way to a host: tar archives of bounded size, each what one
//! round trip of the host's transport carries on its standard input, so that a repository
//! of hundreds of megabytes never sits whole in memory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The files of `folder` named by `paths` (relative to it), in that order, as tar archives
/// of at most about `limit` bytes each (a file larger than `limit` goes alone). Each file
/// is written with mode 0644, owned by root, dated at the epoch: what the host's copy is
/// placed as.
#[derive(Debug)]
pub struct TransferBatches<'a> {
    folder: &'a Path,
    paths: std::slice::Iter<'a, String>,
    limit: u64,
    pending: Option<&'a String>,
}

/// One archive, and what it holds.
#[derive(Debug)]
pub struct TransferBatch {
    pub tar: Vec<u8>,
    /// The paths it holds, relative to the folder.
    pub paths: Vec<String>,
    /// The bytes of the files in it.
    pub file_bytes: u64,
}

impl<'a> TransferBatches<'a> {
    pub fn new(folder: &'a Path, paths: &'a [String], limit: u64) -> TransferBatches<'a> {
        TransferBatches {
            folder,
            paths: paths.iter(),
            limit,
            pending: None,
        }
    }

    fn next_batch(&mut self) -> io::Result<Option<TransferBatch>> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut batch_paths = Vec::new();
        let mut file_bytes = 0;
        while let Some(path) = self.pending.take().or_else(|| self.paths.next()) {
            let source = self.folder.join(path);
            let size = fs::metadata(&source)?.len();
            if !batch_paths.is_empty() && file_bytes + size > self.limit {
                self.pending = Some(path);
                break;
            }
            append(&mut builder, &source, path, size)?;
            batch_paths.push(path.clone());
            file_bytes += size;
        }
        if batch_paths.is_empty() {
            return Ok(None);
        }
        Ok(Some(TransferBatch {
            tar: builder.into_inner()?,
            paths: batch_paths,
            file_bytes,
        }))
    }
}

impl Iterator for TransferBatches<'_> {
    /// An archive, or why a file could not be read (naming it).
    type Item = Result<TransferBatch, (PathBuf, io::Error)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_batch() {
            Ok(batch) => batch.map(Ok),
            Err(error) => Some(Err((self.folder.to_path_buf(), error))),
        }
    }
}

fn append(
    builder: &mut tar::Builder<Vec<u8>>,
    source: &Path,
    path: &str,
    size: u64,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, path, fs::File::open(source)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_batched_up_to_the_limit_each_whole_and_in_order() {
        let folder = tempfile::tempdir().unwrap();
        let paths: Vec<String> = ["a", "b/c", "d"]
            .iter()
            .map(|path| path.to_string())
            .collect();
        fs::create_dir(folder.path().join("b")).unwrap();
        for (path, size) in paths.iter().zip([600, 500, 2000]) {
            fs::write(folder.path().join(path), vec![b'x'; size]).unwrap();
        }
        let batches: Vec<TransferBatch> = TransferBatches::new(folder.path(), &paths, 1000)
            .collect::<Result<_, _>>()
            .unwrap();
        let held: Vec<Vec<String>> = batches.iter().map(|batch| batch.paths.clone()).collect();
        assert_eq!(held, [vec!["a"], vec!["b/c"], vec!["d"]]);
        assert_eq!(batches[2].file_bytes, 2000);
        let mut archive = tar::Archive::new(batches[1].tar.as_slice());
        let entry = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_string_lossy(), "b/c");
        assert_eq!(entry.header().mode().unwrap(), 0o644);
        assert_eq!(entry.header().size().unwrap(), 500);
    }
}
