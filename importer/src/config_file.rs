//! The old installer's shell-style `config.cfg`: `KEY=value` lines (`export KEY=value`
//! too), values bare, `"double"` or `'single'` quoted, or a bash array `(a b c)`; `#`
//! starts a comment. Lists are written with commas or blanks.

use std::collections::BTreeMap;

use crate::import_error::ImportError;
use crate::inventory::Sourced;

#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    pub values: BTreeMap<String, Sourced>,
}

impl ConfigFile {
    pub fn parse(text: &str) -> Result<ConfigFile, ImportError> {
        let mut values = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let content = content.strip_prefix("export ").unwrap_or(content);
            let Some((key, value)) = content.split_once('=') else {
                return Err(ImportError::ConfigLine {
                    line,
                    reason: "it has no `=`".to_string(),
                });
            };
            let key = key.trim();
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(ImportError::ConfigLine {
                    line,
                    reason: format!(
                        "its key `{}` is not a shell variable's name",
                        key.escape_default()
                    ),
                });
            }
            let value = unquote(value.trim());
            values.insert(key.to_string(), Sourced::at(value, line));
        }
        Ok(ConfigFile { values })
    }

    pub fn get(&self, key: &str) -> Option<&Sourced> {
        self.values.get(key).filter(|value| !value.value.is_empty())
    }

    /// The value as a list: split at commas and blanks.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|value| split_list(&value.value))
            .unwrap_or_default()
    }
}

pub fn split_list(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// `"a b"`, `'a b'`, `(a b)` or `a # comment` as what the shell would give; inside double
/// quotes a backslash escapes `\\`, `"`, `$` and `` ` `` as bash reads it.
fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('"')
        && let Some(end) = inner.rfind('"')
    {
        return unescape_double_quoted(&inner[..end]);
    }
    for (open, close) in [('\'', '\''), ('(', ')')] {
        if let Some(inner) = value.strip_prefix(open)
            && let Some(end) = inner.rfind(close)
        {
            return inner[..end].to_string();
        }
    }
    match value.find(" #") {
        Some(position) => value[..position].trim_end().to_string(),
        None => value.to_string(),
    }
}

fn unescape_double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut characters = text.chars();
    while let Some(character) = characters.next() {
        match (character, characters.clone().next()) {
            ('\\', Some(next @ ('\\' | '"' | '$' | '`'))) => {
                out.push(next);
                characters.next();
            }
            _ => out.push(character),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ConfigFile;

    #[test]
    fn quotes_arrays_exports_and_comments_read_as_the_shell_reads_them() {
        let config = ConfigFile::parse(
            "# installer settings\nMASTER_IPS=\"10.0.0.11,10.0.0.12\"\nexport NTP_SERVER=10.0.0.5 # the control host\n\
             KEEPALIVED_HOSTS=(10.0.0.21 10.0.0.22)\nMYSQL_ROOT_PASSWORD='p@ss w#rd'\nEMPTY=\n",
        )
        .unwrap();
        assert_eq!(config.list("MASTER_IPS"), ["10.0.0.11", "10.0.0.12"]);
        assert_eq!(config.get("NTP_SERVER").unwrap().value, "10.0.0.5");
        assert_eq!(config.list("KEEPALIVED_HOSTS"), ["10.0.0.21", "10.0.0.22"]);
        assert_eq!(
            config.get("MYSQL_ROOT_PASSWORD").unwrap().value,
            "p@ss w#rd"
        );
        assert_eq!(config.get("MYSQL_ROOT_PASSWORD").unwrap().line, 5);
        assert!(config.get("EMPTY").is_none());
    }

    #[test]
    fn a_line_without_an_equals_sign_is_refused_with_its_number() {
        let error = ConfigFile::parse("A=1\nnot a setting\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn a_refused_line_is_never_shown_for_it_may_hold_a_password() {
        let error = ConfigFile::parse("MYSQL-ROOT-PASSWORD=hunter2\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 1"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn backslashes_in_double_quotes_escape_as_bash_reads_them() {
        let config = ConfigFile::parse("MYSQL_ROOT_PASSWORD=\"pa\\$\\$w\\\"q\\\\b\\n\"\n").unwrap();
        assert_eq!(
            config.get("MYSQL_ROOT_PASSWORD").unwrap().value,
            "pa$$w\"q\\b\\n"
        );
    }
}
