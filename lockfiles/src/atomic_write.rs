use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part:
/// a temporary file in the same directory, flushed to disk, then renamed over `path`.
///
/// Returns `false` without touching the file when it already holds exactly `bytes`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    if std::fs::read(path).is_ok_and(|existing| existing == bytes) {
        return Ok(false);
    }
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temporary = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(directory)?;
    temporary.write_all(bytes)?;
    // A temporary file is created private (0600); the result gets the mode of the file it
    // replaces, or the usual 0644 for a new one.
    let permissions = match std::fs::metadata(path) {
        Ok(existing) => existing.permissions(),
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::Permissions::from_mode(0o644)
        }
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
