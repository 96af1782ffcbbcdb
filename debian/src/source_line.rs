//! A package source as the spec names it: one line in the manner of apt's sources.list,
//! `"URL SUITE COMPONENT..."`, without its leading `deb` or its `[options]`.

use std::fmt;

/// A Debian repository's suite and the components of it to read:
/// `http://deb.debian.org/debian bookworm main contrib`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// The repository's root, without a trailing `/`: what `dists/` and the packages'
    /// `Filename` fields are relative to.
    pub url: String,
    /// A suite or codename (`bookworm`, `bookworm-security`); `dists/SUITE/Release` lists
    /// its indexes.
    pub suite: String,
    /// At least one.
    pub components: Vec<String>,
}

/// Why a string is not a source line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SourceLineError {
    pub message: String,
    pub hint: String,
}

impl SourceLine {
    /// Parses `"URL SUITE COMPONENT..."`, words separated by any whitespace.
    pub fn parse(text: &str) -> Result<SourceLine, SourceLineError> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let example = "write `\"URL SUITE COMPONENT...\"`, such as \
                       \"http://deb.debian.org/debian bookworm main\"";
        let error = |message: String, hint: &str| SourceLineError {
            message,
            hint: hint.to_string(),
        };
        match words.first() {
            None => return Err(error("a source line is empty".to_string(), example)),
            Some(&"deb") => {
                return Err(error(
                    format!("`{text}` starts with `deb`"),
                    "leave out `deb`: every source is one of binary packages",
                ));
            }
            Some(&"deb-src") => {
                return Err(error(
                    format!("`{text}` is a source-package line"),
                    "images install binary packages: name the repository without `deb-src`",
                ));
            }
            Some(word) if word.starts_with('[') => {
                return Err(error(
                    format!("`{text}` has apt options (`{word}`), which cairn does not read"),
                    "leave the options out; the architecture is `architecture` in [images]",
                ));
            }
            Some(_) => {}
        }
        let url = words[0];
        let host_part = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        if host_part.is_none_or(|rest| rest.is_empty() || rest.starts_with('/')) {
            return Err(error(
                format!("`{url}` is not an http:// or https:// URL"),
                "name the repository by its URL, such as http://deb.debian.org/debian",
            ));
        }
        let Some(suite) = words.get(1) else {
            return Err(error(
                format!("`{text}` names no suite and no component"),
                example,
            ));
        };
        if suite.ends_with('/') {
            return Err(error(
                format!("`{suite}` is a flat repository's path, which cairn does not read"),
                "index the repository in Debian's layout (dists/SUITE/COMPONENT/binary-ARCH/Packages) and name its suite and components",
            ));
        }
        if suite.starts_with('/') || suite.contains("..") {
            return Err(error(format!("`{suite}` is not a suite"), example));
        }
        let components: Vec<String> = words[2..].iter().map(|word| word.to_string()).collect();
        if components.is_empty() {
            return Err(error(
                format!("`{text}` names no component of the suite `{suite}`"),
                "add the components to read after the suite, such as `main`",
            ));
        }
        if let Some(component) = components
            .iter()
            .find(|component| component.starts_with('/') || component.contains(".."))
        {
            return Err(error(format!("`{component}` is not a component"), example));
        }
        Ok(SourceLine {
            url: url.trim_end_matches('/').to_string(),
            suite: suite.to_string(),
            components,
        })
    }

    /// Where the suite's `Release` file (`name` = `Release` or `InRelease`) is.
    pub fn release_url(&self, name: &str) -> String {
        format!("{}/dists/{}/{name}", self.url, self.suite)
    }
}

/// The line as the lockfile records it: the words joined by one space.
impl fmt::Display for SourceLine {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} {} {}",
            self.url,
            self.suite,
            self.components.join(" ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_a_url_a_suite_and_components() {
        let line =
            SourceLine::parse("  http://deb.debian.org/debian/   bookworm main contrib ").unwrap();
        assert_eq!(line.url, "http://deb.debian.org/debian");
        assert_eq!(line.suite, "bookworm");
        assert_eq!(line.components, ["main", "contrib"]);
        assert_eq!(
            line.to_string(),
            "http://deb.debian.org/debian bookworm main contrib"
        );
        assert_eq!(
            line.release_url("Release"),
            "http://deb.debian.org/debian/dists/bookworm/Release"
        );
    }

    #[test]
    fn lines_apt_reads_and_cairn_does_not_are_refused_with_a_hint() {
        for (text, expected) in [
            ("", "empty"),
            (
                "deb http://deb.debian.org/debian bookworm main",
                "starts with `deb`",
            ),
            (
                "[arch=amd64] http://deb.debian.org/debian bookworm main",
                "apt options",
            ),
            ("deb.debian.org/debian bookworm main", "not an http://"),
            ("http://deb.debian.org/debian", "no suite"),
            ("http://deb.debian.org/debian bookworm", "no component"),
            ("http://10.0.0.5/repository ./", "flat repository"),
            ("http://deb.debian.org/debian ../etc main", "not a suite"),
        ] {
            let error = SourceLine::parse(text).unwrap_err();
            assert!(
                error.message.contains(expected),
                "{text:?}: {}",
                error.message
            );
            assert!(!error.hint.is_empty());
        }
    }
}
