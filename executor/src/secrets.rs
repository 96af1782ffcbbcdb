//! Secrets at apply time: resolved from the environment or a file (relative to the
//! lockfile's folder), substituted into file content on its way to the host's stdin, and
//! never written to a log, an error or a command line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cairn_lockfiles::{SecretEntry, SecretSource, Text, secret_placeholder};

#[derive(Debug)]
pub struct Secrets {
    entries: BTreeMap<String, SecretEntry>,
    lockfile_directory: PathBuf,
    resolved: Mutex<BTreeMap<String, Result<Arc<String>, String>>>,
}

impl Secrets {
    pub fn new(entries: BTreeMap<String, SecretEntry>, lockfile_directory: &Path) -> Self {
        Self {
            entries,
            lockfile_directory: lockfile_directory.to_path_buf(),
            resolved: Mutex::new(BTreeMap::new()),
        }
    }

    /// A secret's value. The error names the secret and where it was looked for.
    pub fn value(&self, name: &str) -> Result<Arc<String>, String> {
        let mut resolved = self
            .resolved
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(result) = resolved.get(name) {
            return result.clone();
        }
        let result = match self.entries.get(name) {
            None => Err(format!("secret `{name}` is not declared in the lockfile")),
            Some(entry) => read(&entry.source, &self.lockfile_directory)
                .map(Arc::new)
                .map_err(|problem| format!("secret `{name}`: {problem}")),
        };
        resolved.insert(name.to_string(), result.clone());
        result
    }

    /// The text with every secret placeholder replaced by the secret's value.
    pub fn substitute(&self, text: &Text) -> Result<String, String> {
        let mut out = text.as_str().to_string();
        for name in text.secret_names() {
            let value = self.value(name)?;
            out = out.replace(&secret_placeholder(name), &value);
        }
        Ok(out)
    }
}

/// Reads a secret's value; one trailing newline is not part of it (as `compile` reads it).
pub fn read(source: &SecretSource, lockfile_directory: &Path) -> Result<String, String> {
    let raw = match source {
        SecretSource::Env(variable) => std::env::var(variable).map_err(|_| {
            format!("the environment variable {variable} is not set (or not UTF-8)")
        })?,
        SecretSource::File(path) => {
            let full = lockfile_directory.join(path);
            std::fs::read_to_string(&full)
                .map_err(|error| format!("cannot read {}: {error}", full.display()))?
        }
    };
    Ok(raw
        .strip_suffix("\r\n")
        .or_else(|| raw.strip_suffix('\n'))
        .unwrap_or(&raw)
        .to_string())
}
