//! Secrets at apply time: resolved from the environment or a file (relative to the
//! lockfile's folder), substituted into file content on its way to the host's stdin, and
//! never written to a log, an error or a command line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cairn_lockfiles::{
    FingerprintKey, Lockfile, SecretEntry, SecretSource, Text, secret_placeholder,
};

#[derive(Debug)]
pub struct Secrets {
    entries: BTreeMap<String, SecretEntry>,
    /// Where the key that fingerprints the secrets is read.
    key_source: Option<SecretSource>,
    key: OnceLock<Result<FingerprintKey, String>>,
    lockfile_directory: PathBuf,
    resolved: Mutex<BTreeMap<String, Result<Arc<String>, String>>>,
}

impl Secrets {
    /// The secrets of a lockfile, read when first used.
    pub fn of(lockfile: &Lockfile, lockfile_directory: &Path) -> Self {
        Self {
            entries: lockfile.secrets.clone(),
            key_source: lockfile.cluster.fingerprint_key.clone(),
            key: OnceLock::new(),
            lockfile_directory: lockfile_directory.to_path_buf(),
            resolved: Mutex::new(BTreeMap::new()),
        }
    }

    /// A secret's value, once its fingerprint is the one the lockfile records. The error
    /// names the secret and where it was looked for, never its value.
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
                .map_err(|problem| format!("secret `{name}`: {problem}"))
                .and_then(|value| self.check_fingerprint(name, entry, &value).map(|()| value))
                .map(Arc::new),
        };
        resolved.insert(name.to_string(), result.clone());
        result
    }

    /// Refuses a value that is not the one compiled: the nodes using it would be recorded
    /// under ids of another value, and the host's state would say one thing and hold
    /// another.
    fn check_fingerprint(
        &self,
        name: &str,
        entry: &SecretEntry,
        value: &str,
    ) -> Result<(), String> {
        let key = self.key.get_or_init(|| match &self.key_source {
            None => {
                Err("the lockfile names no fingerprint key ([cluster] fingerprint_key)".to_string())
            }
            Some(source) => read_bytes(source, &self.lockfile_directory)
                .map(|material| FingerprintKey::derive(&material))
                .map_err(|problem| format!("the fingerprint key: {problem}")),
        });
        let key = key
            .as_ref()
            .map_err(|problem| format!("secret `{name}` cannot be checked: {problem}"))?;
        if key.fingerprint(name, value.as_bytes()) == entry.fingerprint {
            return Ok(());
        }
        Err(format!(
            "secret `{name}` ({}) is not the value the lockfile was compiled with: its fingerprint differs from the recorded {}\nhint: the secret changed since `cairn compile`; compile the spec again, so the nodes that use it get new ids and the hosts get the new value",
            entry.source, entry.fingerprint
        ))
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
    String::from_utf8(read_bytes(source, lockfile_directory)?)
        .map_err(|_| format!("{} is not UTF-8 text", describe(source, lockfile_directory)))
}

/// Reads a secret's bytes as `compile` does (the fingerprint key may be any bytes), without
/// one trailing newline.
pub fn read_bytes(source: &SecretSource, lockfile_directory: &Path) -> Result<Vec<u8>, String> {
    let mut raw = match source {
        SecretSource::Env(variable) => std::env::var_os(variable)
            .map(|value| value.into_encoded_bytes())
            .ok_or_else(|| format!("the environment variable {variable} is not set"))?,
        SecretSource::File(path) => {
            let full = lockfile_directory.join(path);
            std::fs::read(&full)
                .map_err(|error| format!("cannot read {}: {error}", full.display()))?
        }
    };
    if raw.ends_with(b"\r\n") {
        raw.truncate(raw.len() - 2);
    } else if raw.ends_with(b"\n") {
        raw.truncate(raw.len() - 1);
    }
    Ok(raw)
}

fn describe(source: &SecretSource, lockfile_directory: &Path) -> String {
    match source {
        SecretSource::Env(variable) => format!("the environment variable {variable}"),
        SecretSource::File(path) => lockfile_directory.join(path).display().to_string(),
    }
}
