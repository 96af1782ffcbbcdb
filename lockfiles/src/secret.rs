use std::collections::BTreeSet;
use std::fmt;

/// Where apply finds a secret's value. The value itself is never in the lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable of the process running cairn.
    Env(String),
    /// A file, relative to the lockfile's directory unless absolute.
    File(String),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(name) => write!(formatter, "environment variable {name}"),
            SecretSource::File(path) => write!(formatter, "file {path}"),
        }
    }
}

/// A secret as the lockfile records it: where to find it, and a keyed fingerprint of its
/// value, so that a rotated secret changes the ids of the nodes that use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretEntry {
    pub source: SecretSource,
    /// 32 hex digits: blake3 keyed by a key derived from the cluster's fingerprint key.
    pub fingerprint: String,
}

const PLACEHOLDER_OPEN: &str = "@@CAIRN_SECRET(";
const PLACEHOLDER_CLOSE: &str = ")@@";

/// The text a template renders in place of a secret's value. Apply replaces it with the
/// value when it writes the file on the host.
pub fn secret_placeholder(name: &str) -> String {
    format!("{PLACEHOLDER_OPEN}{name}{PLACEHOLDER_CLOSE}")
}

/// The names of the secrets whose placeholders appear in `text`, sorted.
pub fn secret_placeholders_in(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    // Most texts hold no `@` at all: a byte scan (memchr) says so before a substring
    // search is set up. Compile asks this of every string of every node.
    let Some(first_at) = memchr::memchr(b'@', text.as_bytes()) else {
        return names;
    };
    // memchr's searches, not `str::find`'s: theirs are vectorised, and `find`'s setup is
    // most of its cost on a short text.
    let find =
        |text: &str, pattern: &str| memchr::memmem::find(text.as_bytes(), pattern.as_bytes());
    let mut rest = &text[first_at..];
    while let Some(start) = find(rest, PLACEHOLDER_OPEN) {
        let after_open = &rest[start + PLACEHOLDER_OPEN.len()..];
        match find(after_open, PLACEHOLDER_CLOSE) {
            Some(end) => {
                names.insert(after_open[..end].to_string());
                rest = &after_open[end + PLACEHOLDER_CLOSE.len()..];
            }
            None => break,
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_in_rendered_text() {
        let text = format!(
            "user=repl\npassword={}\nother={}\n",
            secret_placeholder("mysql.replication_password"),
            secret_placeholder("a.b")
        );
        let names: Vec<String> = secret_placeholders_in(&text).into_iter().collect();
        assert_eq!(names, ["a.b", "mysql.replication_password"]);
    }
}
