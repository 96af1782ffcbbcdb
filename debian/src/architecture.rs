//! Debian architecture names: the one packages are resolved for, and how package fields
//! and `[...]` restrictions are matched against it.

use std::fmt;
use std::str::FromStr;

/// A Debian architecture (`amd64`, `arm64`, `i386`): what an image's packages are resolved
/// for. Packages of this architecture and of `all` install on it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Architecture(String);

/// Why a string is not an architecture name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid architecture `{0}`: expected lowercase letters, digits and `-`, such as `amd64`")]
pub struct ArchitectureError(pub String);

impl Architecture {
    pub fn new(name: &str) -> Result<Architecture, ArchitectureError> {
        let valid = !name.is_empty()
            && name != "all"
            && name != "any"
            && name
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
        if valid {
            Ok(Architecture(name.to_string()))
        } else {
            Err(ArchitectureError(name.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a package whose `Architecture` field is `package_architecture` installs
    /// here: its own architecture, or `all`.
    pub fn installs(&self, package_architecture: &str) -> bool {
        package_architecture == "all" || package_architecture == self.0
    }

    /// Whether `pattern`, a name or wildcard of a `[...]` restriction, matches this
    /// architecture: `any`, `<os>-any`, `any-<cpu>`, or the name itself. A name without an
    /// operating system part (`amd64`) is Linux's (`linux-amd64`), as in dpkg's tuples.
    pub fn matches(&self, pattern: &str) -> bool {
        if pattern == self.0 || pattern == "any" {
            return true;
        }
        let (os, cpu) = match self.0.split_once('-') {
            Some((os, cpu)) => (os, cpu),
            None => ("linux", self.0.as_str()),
        };
        match pattern.split_once('-') {
            Some(("any", pattern_cpu)) => pattern_cpu == cpu,
            Some((pattern_os, "any")) => pattern_os == os,
            Some((pattern_os, pattern_cpu)) => pattern_os == os && pattern_cpu == cpu,
            None => false,
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl FromStr for Architecture {
    type Err = ArchitectureError;

    fn from_str(name: &str) -> Result<Architecture, ArchitectureError> {
        Architecture::new(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_of_the_architecture_and_of_all_install() {
        let amd64 = Architecture::new("amd64").unwrap();
        assert!(amd64.installs("amd64"));
        assert!(amd64.installs("all"));
        assert!(!amd64.installs("i386"));
    }

    #[test]
    fn restrictions_match_names_and_wildcards() {
        let amd64 = Architecture::new("amd64").unwrap();
        for pattern in ["amd64", "any", "linux-any", "any-amd64", "linux-amd64"] {
            assert!(amd64.matches(pattern), "{pattern}");
        }
        for pattern in ["i386", "kfreebsd-any", "any-i386", "hurd-amd64"] {
            assert!(!amd64.matches(pattern), "{pattern}");
        }
        let hurd = Architecture::new("hurd-i386").unwrap();
        assert!(hurd.matches("hurd-any"));
        assert!(hurd.matches("any-i386"));
        assert!(!hurd.matches("linux-any"));
    }

    #[test]
    fn all_and_any_are_not_architectures_to_resolve_for() {
        for name in ["", "all", "any", "AMD64", "amd 64"] {
            assert!(Architecture::new(name).is_err(), "{name}");
        }
    }
}
