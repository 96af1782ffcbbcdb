//! The part of OpenSSH's client configuration (`~/.ssh/config`) cairn follows, so a host
//! may be addressed by an alias operators already use: `Host` blocks (patterns with `*`,
//! `?` and `!` negation), `HostName` (with `%h`) and `IdentityFile` (with `~`). As with
//! OpenSSH, the first value of a keyword wins; identity files add up. The user and port
//! are the spec's, written in the lockfile, so the lockfile says where cairn connects.
//! `Match` blocks and `Include` are not followed.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    blocks: Vec<HostBlock>,
}

#[derive(Debug, Clone)]
struct HostBlock {
    /// (negated, pattern)
    patterns: Vec<(bool, String)>,
    /// (lowercase keyword, value)
    options: Vec<(String, String)>,
}

/// What the configuration says about one host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedHost {
    pub hostname: Option<String>,
    pub identity_files: Vec<PathBuf>,
}

impl SshConfig {
    pub fn read(path: &Path) -> std::io::Result<Self> {
        Ok(Self::parse(&std::fs::read_to_string(path)?))
    }

    pub fn parse(text: &str) -> Self {
        // Lines before the first `Host` apply to every host, as if under `Host *`.
        let mut blocks = vec![HostBlock {
            patterns: vec![(false, "*".to_string())],
            options: Vec::new(),
        }];
        let mut in_match = false;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (keyword, value) = match line
                .split_once(|character: char| character.is_whitespace() || character == '=')
            {
                Some((keyword, value)) => (
                    keyword.to_ascii_lowercase(),
                    value
                        .trim_start_matches(|character: char| {
                            character.is_whitespace() || character == '='
                        })
                        .trim(),
                ),
                None => continue,
            };
            match keyword.as_str() {
                "host" => {
                    in_match = false;
                    let patterns = value
                        .split_whitespace()
                        .map(|pattern| match pattern.strip_prefix('!') {
                            Some(negated) => (true, negated.to_string()),
                            None => (false, pattern.to_string()),
                        })
                        .collect();
                    blocks.push(HostBlock {
                        patterns,
                        options: Vec::new(),
                    });
                }
                "match" => in_match = true,
                _ if in_match => {}
                _ => {
                    if let Some(block) = blocks.last_mut() {
                        block
                            .options
                            .push((keyword, value.trim_matches('"').to_string()));
                    }
                }
            }
        }
        Self { blocks }
    }

    pub fn resolve(&self, alias: &str) -> ResolvedHost {
        let mut resolved = ResolvedHost::default();
        for block in &self.blocks {
            let negated = block
                .patterns
                .iter()
                .any(|(negated, pattern)| *negated && glob(pattern, alias));
            let matched = block
                .patterns
                .iter()
                .any(|(negated, pattern)| !negated && glob(pattern, alias));
            if negated || !matched {
                continue;
            }
            for (keyword, value) in &block.options {
                match keyword.as_str() {
                    "hostname" if resolved.hostname.is_none() => {
                        resolved.hostname = Some(value.replace("%h", alias));
                    }
                    "identityfile" => resolved.identity_files.push(expand_home(value)),
                    _ => {}
                }
            }
        }
        resolved
    }
}

fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root"))
            .join(rest),
        None => PathBuf::from(path),
    }
}

/// OpenSSH's patterns: `*` any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(star_position) = star {
            p = star_position + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == '*' {
        p += 1;
    }
    p == pattern.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# operators' config
IdentityFile /keys/everyone
Host db-*  !db-legacy
    HostName 10.0.2.%h
    IdentityFile ~/.ssh/db
Host db-one
    HostName 10.9.9.9
Match host *
    HostName ignored
Host *
    HostName=fallback.example
";

    #[test]
    fn the_first_matching_hostname_wins_and_identity_files_add_up() {
        let config = SshConfig::parse(CONFIG);
        let resolved = config.resolve("db-one");
        assert_eq!(resolved.hostname.as_deref(), Some("10.0.2.db-one"));
        assert_eq!(resolved.identity_files.len(), 2);
        assert_eq!(resolved.identity_files[0], PathBuf::from("/keys/everyone"));
    }

    #[test]
    fn a_negated_pattern_excludes_a_host_and_match_blocks_are_skipped() {
        let config = SshConfig::parse(CONFIG);
        assert_eq!(
            config.resolve("db-legacy").hostname.as_deref(),
            Some("fallback.example")
        );
        assert_eq!(
            config.resolve("web").hostname.as_deref(),
            Some("fallback.example")
        );
    }

    #[test]
    fn globs_match_like_openssh() {
        assert!(glob("db-*", "db-1"));
        assert!(glob("*.example", "a.b.example"));
        assert!(glob("h?st", "host"));
        assert!(!glob("db-*", "web-1"));
        assert!(glob("*", ""));
    }
}
