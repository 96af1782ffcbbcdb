/// The patterns of a `Host` line: `*` any run of characters, `?` one character, `!` before
/// a pattern excluding the hosts it matches. A host matches when one pattern without `!`
/// matches it and no negated one does, as OpenSSH matches them: against the name as
/// written on the command line (here the spec's `address`), in lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPatterns {
    /// (negated, pattern)
    patterns: Vec<(bool, String)>,
}

impl HostPatterns {
    /// Every host: what lines before the first `Host` apply to, and `Match all`.
    pub fn any() -> Self {
        Self {
            patterns: vec![(false, "*".to_string())],
        }
    }

    pub fn parse<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let patterns = words
            .into_iter()
            .map(|word| match word.strip_prefix('!') {
                Some(negated) => (true, negated.to_ascii_lowercase()),
                None => (false, word.to_ascii_lowercase()),
            })
            .collect();
        Self { patterns }
    }

    pub fn matches(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let excluded = self
            .patterns
            .iter()
            .any(|(negated, pattern)| *negated && glob(pattern, &host));
        !excluded
            && self
                .patterns
                .iter()
                .any(|(negated, pattern)| !negated && glob(pattern, &host))
    }
}

/// `*` any run of characters, `?` one character, anything else itself.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut in_pattern, mut in_text) = (0, 0);
    let (mut star, mut resume) = (None, 0);
    while in_text < text.len() {
        if in_pattern < pattern.len()
            && (pattern[in_pattern] == '?' || pattern[in_pattern] == text[in_text])
        {
            in_pattern += 1;
            in_text += 1;
        } else if in_pattern < pattern.len() && pattern[in_pattern] == '*' {
            star = Some(in_pattern);
            resume = in_text;
            in_pattern += 1;
        } else if let Some(star_position) = star {
            in_pattern = star_position + 1;
            resume += 1;
            in_text = resume;
        } else {
            return false;
        }
    }
    while in_pattern < pattern.len() && pattern[in_pattern] == '*' {
        in_pattern += 1;
    }
    in_pattern == pattern.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_openssh() {
        assert!(glob("db-*", "db-1"));
        assert!(glob("*.example", "a.b.example"));
        assert!(glob("h?st", "host"));
        assert!(!glob("db-*", "web-1"));
        assert!(!glob("h?st", "hoost"));
        assert!(glob("*", ""));
    }

    #[test]
    fn a_negated_pattern_excludes_what_the_others_include() {
        let patterns = HostPatterns::parse(["db-*", "!db-legacy"]);
        assert!(patterns.matches("db-one"));
        assert!(patterns.matches("DB-One"), "names match in lowercase");
        assert!(!patterns.matches("db-legacy"));
        assert!(!patterns.matches("web"));
        assert!(
            !HostPatterns::parse(["!web"]).matches("db"),
            "a negated pattern alone matches nothing"
        );
    }
}
