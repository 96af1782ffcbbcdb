//! Writing the imported spec and its secret files: secrets first, each readable by its
//! owner alone (0600, its folder 0700), then the spec, which never overwrites one.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::import_error::WriteError;
use crate::imported_cluster::SecretFile;

pub fn write_files(spec_path: &Path, spec: &str, secrets: &[SecretFile]) -> Result<(), WriteError> {
    if spec_path.exists() {
        return Err(WriteError::SpecExists {
            path: spec_path.display().to_string(),
        });
    }
    let folder = match spec_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    for secret in secrets {
        write_secret(&folder.join(&secret.path), &secret.content)?;
    }
    // Created, never replaced: a spec that appeared since the check above (or a link
    // planted at its name) is left alone.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(spec_path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => WriteError::SpecExists {
                path: spec_path.display().to_string(),
            },
            _ => io_error(spec_path, source),
        })?;
    file.write_all(spec.as_bytes())
        .map_err(|source| io_error(spec_path, source))
}

fn write_secret(path: &Path, content: &str) -> Result<(), WriteError> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        if existing == content {
            return Ok(());
        }
        return Err(WriteError::SecretExists {
            path: path.display().to_string(),
        });
    }
    if let Some(parent) = path.parent() {
        let fresh = !parent.exists();
        std::fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
        if fresh {
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))
                .map_err(|source| io_error(parent, source))?;
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| io_error(path, source))?;
    file.write_all(content.as_bytes())
        .map_err(|source| io_error(path, source))
}

fn io_error(path: &Path, source: std::io::Error) -> WriteError {
    WriteError::Io {
        path: path.display().to_string(),
        source,
    }
}
