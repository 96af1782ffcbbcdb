//! cairn's own image builder: layers written by cairn (sorted paths, fixed owners, modes
//! and mtimes, the compressor and its level chosen), an OCI image layout that `docker load`
//! also takes. No Docker daemon, no RUN step: the same inputs give the same digests on any
//! machine.
//!
//! Today it builds an image's artifacts and module files (its top layer); the layers of
//! pinned Debian packages come with package pinning (issue 6).

pub mod build;
pub mod layer;
pub mod oci_layout;

use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename: a
/// reader never sees half a blob.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(folder)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}
