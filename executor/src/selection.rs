//! Which part of a lockfile an apply touches: `--limit` to some hosts (a canary first, or
//! the hosts that are up), `--skip-kind` to leave whole kinds for later (images, say).
//!
//! A node outside the selection that the host already has is simply skipped; one that
//! would run is *held back*: not run, not recorded, so the next full apply runs it. What
//! depends on a held-back node is held back too, and so is what depends on any node of a
//! host outside the limit, since that host is not even reached. Held back is not a
//! failure: the apply did what it was asked.

use std::collections::BTreeSet;

use cairn_lockfiles::{Lockfile, NodeKind, NodeName};

/// The part of a lockfile to apply. The default selects everything.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Host name patterns (`*` matches any run of characters, `?` one); empty: every host.
    pub hosts: Vec<String>,
    /// Kinds of node not to run in this apply.
    pub skipped_kinds: BTreeSet<NodeKind>,
}

impl Selection {
    /// Whether the host is within `--limit`. Cluster-wide nodes (images) belong to no host
    /// and are always within it.
    pub fn includes_host(&self, host: &str) -> bool {
        host == cairn_lockfiles::Scope::CLUSTER_NAME
            || self.hosts.is_empty()
            || self.hosts.iter().any(|pattern| glob_matches(pattern, host))
    }

    /// Whether the node is selected: its host within the limit, its kind not skipped.
    pub fn includes(&self, name: &NodeName) -> bool {
        self.includes_host(name.scope.as_str()) && !self.skipped_kinds.contains(&name.kind)
    }

    pub fn is_everything(&self) -> bool {
        self.hosts.is_empty() && self.skipped_kinds.is_empty()
    }

    /// Refuses a host pattern that matches no host of the lockfile: a typo in `--limit`
    /// would otherwise apply to nothing and succeed.
    pub fn check(&self, lockfile: &Lockfile) -> Result<(), String> {
        for pattern in &self.hosts {
            if !lockfile
                .hosts
                .keys()
                .any(|host| glob_matches(pattern, host))
            {
                let known: Vec<&str> = lockfile.hosts.keys().map(String::as_str).collect();
                return Err(format!(
                    "--limit `{pattern}` matches no host of the lockfile; its hosts are {}",
                    known.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// Shell-style matching of `*` and `?`, the whole text.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // The classic two-pointer match, backtracking to the last `*`.
    let (mut at_pattern, mut at_text) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while at_text < text.len() {
        match pattern.get(at_pattern) {
            Some('*') => {
                last_star = Some((at_pattern, at_text));
                at_pattern += 1;
            }
            Some(&character) if character == '?' || character == text[at_text] => {
                at_pattern += 1;
                at_text += 1;
            }
            _ => match last_star {
                Some((star, matched)) => {
                    at_pattern = star + 1;
                    at_text = matched + 1;
                    last_star = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern[at_pattern..]
        .iter()
        .all(|character| *character == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn host_patterns_match_like_the_shell() {
        assert!(glob_matches("agent*", "agent12"));
        assert!(glob_matches("agent?", "agent1"));
        assert!(!glob_matches("agent?", "agent12"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("m*r*1", "master1"));
        assert!(!glob_matches("master", "master1"));
        assert!(glob_matches("lb1", "lb1"));
    }
}
