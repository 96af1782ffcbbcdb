//! Secret fingerprints: what the lockfile holds in place of a secret's value.
//!
//! A fingerprint is blake3, keyed by a key derived from the cluster's `fingerprint_key`
//! secret (required as soon as the spec has secrets), over the secret's name and value. A
//! rotated secret changes its fingerprint, so the nodes that use it change id and re-run;
//! the value itself is read, hashed and dropped, and never written anywhere.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use cairn_lockfiles::{FingerprintKey, SecretEntry, SecretSource};

use crate::diagnostic::{CompileError, Diagnostic, Diagnostics};
use crate::module::setting::SecretReference;
use crate::previous_lockfile::PreviousLockfile;
use crate::spec::ClusterSpec;

/// What compile learned about secrets, besides their fingerprints.
#[derive(Debug, Default)]
pub struct SecretNotes {
    /// Secrets whose value was not available, whose fingerprint was kept from the previous
    /// lockfile.
    pub reused: Vec<String>,
    /// Where the fingerprint key is read, for the lockfile's `[cluster]`: apply reads it to
    /// check each secret's fingerprint. `None`: the spec has no key (and no secrets).
    pub key_source: Option<SecretSource>,
}

/// Fingerprints every secret of the spec. A secret whose value cannot be read keeps the
/// fingerprint of the previous lockfile, when that lockfile names the same source.
pub fn fingerprint_secrets(
    spec: &ClusterSpec,
    lockfile_directory: &Path,
    previous: Option<&PreviousLockfile>,
) -> Result<(BTreeMap<String, SecretEntry>, SecretNotes), CompileError> {
    let mut diagnostics = Diagnostics::default();
    let mut notes = SecretNotes::default();
    let key_material = match &spec.fingerprint_key {
        Some(reference) => match read_secret(&reference.value, &spec.directory) {
            Ok(value) => value,
            Err(problem) => {
                return Err(Diagnostic::new(format!(
                    "cannot read `fingerprint_key` in [cluster]: {problem}"
                ))
                .at(&spec.source, &reference.span)
                .hint(match &reference.value {
                    SecretReference::Env(variable) => format!(
                        "set the environment variable {variable} where cairn compiles: the fingerprint key must be readable at compile time"
                    ),
                    SecretReference::File(path) => format!(
                        "create {path} (relative to the spec's folder): the fingerprint key must be readable at compile time"
                    ),
                })
                .into());
            }
        },
        None => match spec.secrets.iter().next() {
            // Without secrets there is nothing to fingerprint.
            None => Vec::new(),
            Some((name, declared)) => {
                return Err(Diagnostic::new(format!(
                    "the spec has secrets (`{name}` is one) but no `fingerprint_key` in [cluster]"
                ))
                .at(&spec.source, &declared.reference.span)
                .note("without a key of its own, a weak secret could be guessed from its fingerprint in the lockfile")
                .hint("make a random key, `head -c 32 /dev/urandom | base64 > secrets/fingerprint.key`, keep it out of version control, and add `fingerprint_key = { file = \"secrets/fingerprint.key\" }` to [cluster]")
                .into());
            }
        },
    };
    let key = FingerprintKey::derive(&key_material);
    notes.key_source = spec
        .fingerprint_key
        .as_ref()
        .map(|reference| source_of(&reference.value, spec, lockfile_directory));

    let mut entries = BTreeMap::new();
    for (name, declared) in &spec.secrets {
        let reference = &declared.reference;
        let source = source_of(&reference.value, spec, lockfile_directory);
        let fingerprint = match read_secret(&reference.value, &spec.directory) {
            Ok(value) => {
                if let Some(maximum) = declared.max_length {
                    let length = String::from_utf8_lossy(&value).chars().count();
                    if length > maximum {
                        diagnostics.push(
                            Diagnostic::new(format!(
                                "secret `{name}` has {length} characters; the program reading it takes at most {maximum}"
                            ))
                            .at(&spec.source, &reference.span)
                            .hint(format!("use a value of at most {maximum} characters")),
                        );
                        continue;
                    }
                }
                key.fingerprint(name, &value)
            }
            Err(problem) => {
                let kept = previous
                    .and_then(PreviousLockfile::lockfile)
                    .and_then(|lockfile| lockfile.secrets.get(name))
                    .filter(|entry| entry.source == source)
                    .map(|entry| entry.fingerprint.clone());
                match kept {
                    Some(fingerprint) => {
                        notes.reused.push(name.clone());
                        fingerprint
                    }
                    None => {
                        diagnostics.push(
                            Diagnostic::new(format!("cannot read secret `{name}`: {problem}"))
                                .at(&spec.source, &reference.span)
                                .hint(match &reference.value {
                                    SecretReference::Env(variable) => format!("set the environment variable {variable} where cairn compiles"),
                                    SecretReference::File(path) => format!("create {path} (relative to the spec's folder)"),
                                })
                                .note("compile fingerprints every secret, so that a rotated secret changes the nodes that use it"),
                        );
                        continue;
                    }
                }
            }
        };
        entries.insert(
            name.clone(),
            SecretEntry {
                source,
                fingerprint,
            },
        );
    }
    diagnostics.finish((entries, notes))
}

fn read_secret(reference: &SecretReference, directory: &Path) -> Result<Vec<u8>, String> {
    let raw = read_raw_secret(reference, directory)?;
    // One trailing newline (from `echo value > file`) is not part of the secret; apply
    // reads it the same way.
    let trimmed = raw
        .strip_suffix(b"\r\n")
        .or_else(|| raw.strip_suffix(b"\n"))
        .unwrap_or(&raw);
    Ok(trimmed.to_vec())
}

fn read_raw_secret(reference: &SecretReference, directory: &Path) -> Result<Vec<u8>, String> {
    match reference {
        SecretReference::Env(variable) => std::env::var_os(variable)
            .map(|value| value.into_encoded_bytes())
            .ok_or_else(|| format!("the environment variable {variable} is not set")),
        SecretReference::File(path) => std::fs::read(directory.join(path))
            .map_err(|error| format!("cannot read {path}: {error}")),
    }
}

/// Where apply reads a secret: a relative file relative to the lockfile's folder.
fn source_of(
    reference: &SecretReference,
    spec: &ClusterSpec,
    lockfile_directory: &Path,
) -> SecretSource {
    match reference {
        SecretReference::Env(variable) => SecretSource::Env(variable.clone()),
        // An absolute path is kept as written: it names the same file from anywhere.
        SecretReference::File(path) if Path::new(path).is_absolute() => {
            SecretSource::File(path.clone())
        }
        SecretReference::File(path) => {
            SecretSource::File(relative_to(&spec.directory.join(path), lockfile_directory))
        }
    }
}

/// `target` as a path relative to `base` (both made absolute lexically), with `/`
/// separators, so no absolute path of the compiling machine lands in the lockfile.
pub fn relative_to(target: &Path, base: &Path) -> String {
    let absolute = |path: &Path| -> Vec<String> {
        let full = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .unwrap_or_else(|_| PathBuf::from("/"))
                .join(path)
        };
        let mut parts: Vec<String> = Vec::new();
        for component in full.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
                Component::ParentDir => {
                    parts.pop();
                }
                _ => {}
            }
        }
        parts
    };
    let target_parts = absolute(target);
    let base_parts = absolute(base);
    let common = target_parts
        .iter()
        .zip(&base_parts)
        .take_while(|(left, right)| left == right)
        .count();
    let mut out: Vec<String> = vec!["..".to_string(); base_parts.len() - common];
    out.extend(target_parts[common..].iter().cloned());
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_out_of_the_lockfile_folder() {
        assert_eq!(
            relative_to(Path::new("/a/b/secrets/x"), Path::new("/a/b")),
            "secrets/x"
        );
        assert_eq!(
            relative_to(Path::new("/a/b/secrets/x"), Path::new("/a/c")),
            "../b/secrets/x"
        );
        assert_eq!(
            relative_to(Path::new("/a/./b/../b/x"), Path::new("/a/b")),
            "x"
        );
    }
}
