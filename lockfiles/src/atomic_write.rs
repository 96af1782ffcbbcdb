use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::parent_folder::parent_folder;

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part:
/// a temporary file in the same directory, flushed to disk, then renamed over `path`.
///
/// Returns `false` without touching the file when it already holds exactly `bytes`. A new
/// file gets mode 0644; a replaced one keeps its mode.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    write_file(path, bytes, None)
}

/// [`write_atomically`], leaving the file with `mode` whether it was written or already held
/// `bytes`: for a file others must read whatever the umask, and whatever mode it had.
pub fn write_atomically_with_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<bool> {
    write_file(path, bytes, Some(mode))
}

fn write_file(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<bool> {
    if std::fs::read(path).is_ok_and(|existing| existing == bytes) {
        if let Some(mode) = mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
        return Ok(false);
    }
    let directory = parent_folder(path);
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temporary = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(directory)?;
    temporary.write_all(bytes)?;
    // A temporary file is created private (0600); the result gets the mode asked for, else
    // the mode of the file it replaces, else the usual 0644.
    let permissions = match (mode, std::fs::metadata(path)) {
        (Some(mode), _) => std::fs::Permissions::from_mode(mode),
        (None, Ok(existing)) => existing.permissions(),
        (None, Err(_)) => std::fs::Permissions::from_mode(0o644),
    };
    temporary.as_file().set_permissions(permissions)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    if let Ok(directory_handle) = std::fs::File::open(directory) {
        // Make the rename itself durable; not every filesystem supports it, hence no `?`.
        let _ = directory_handle.sync_all();
    }
    Ok(true)
}
