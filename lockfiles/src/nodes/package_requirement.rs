//! One entry of a package node's list: a Debian package name, optionally with an
//! architecture and an exact version, in apt's own syntax: `haproxy`,
//! `haproxy=2.6.12-1+deb12u1`, `libc6:amd64`.

use std::fmt;

/// A package a host must have, parsed from `name[:architecture][=version]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageRequirement {
    /// The package name as dpkg knows it (with `:architecture` when one was given).
    pub name: String,
    /// The exact version required; `None`: whatever the repository offers.
    pub version: Option<String>,
}

impl PackageRequirement {
    /// Parses one entry, checking it against Debian policy's character sets, so that a
    /// requirement is always one shell word and one apt argument.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name_part, version) = match text.split_once('=') {
            Some((name, version)) => (name, Some(version)),
            None => (text, None),
        };
        let (package, architecture) = match name_part.split_once(':') {
            Some((package, architecture)) => (package, Some(architecture)),
            None => (name_part, None),
        };
        let package_ok = package.len() >= 2
            && package
                .bytes()
                .next()
                .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit())
            && package.bytes().all(|byte| {
                byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"+-.".contains(&byte)
            });
        if !package_ok {
            return Err(format!(
                "`{text}` is not a package name: Debian names are lowercase letters, digits and `+-.`, at least two characters, starting with a letter or digit"
            ));
        }
        if let Some(architecture) = architecture
            && (architecture.is_empty()
                || !architecture
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-'))
        {
            return Err(format!("`{text}`: `{architecture}` is not an architecture"));
        }
        if let Some(version) = version
            && (version.is_empty()
                || !version
                    .bytes()
                    .next()
                    .is_some_and(|first| first.is_ascii_digit())
                || !version
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b".+~:-".contains(&byte)))
        {
            return Err(format!(
                "`{text}`: `{version}` is not a Debian version (it starts with a digit and holds letters, digits and `.+~:-`)"
            ));
        }
        Ok(Self {
            name: name_part.to_string(),
            version: version.map(str::to_string),
        })
    }
}

impl fmt::Display for PackageRequirement {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(version) => write!(formatter, "{}={version}", self.name),
            None => formatter.write_str(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PackageRequirement;

    #[test]
    fn names_architectures_and_versions_parse_as_apt_writes_them() {
        let plain = PackageRequirement::parse("haproxy").unwrap();
        assert_eq!((plain.name.as_str(), plain.version), ("haproxy", None));
        let pinned = PackageRequirement::parse("haproxy=2.6.12-1+deb12u1").unwrap();
        assert_eq!(pinned.name, "haproxy");
        assert_eq!(pinned.version.as_deref(), Some("2.6.12-1+deb12u1"));
        assert_eq!(pinned.to_string(), "haproxy=2.6.12-1+deb12u1");
        let epoch = PackageRequirement::parse("libc6:amd64=1:2.36-9").unwrap();
        assert_eq!(epoch.name, "libc6:amd64");
        assert_eq!(epoch.version.as_deref(), Some("1:2.36-9"));
    }

    #[test]
    fn entries_that_are_not_one_apt_argument_are_refused() {
        for bad in [
            "",
            "a",
            "HAProxy",
            "-o",
            "haproxy curl",
            "haproxy=",
            "haproxy=latest",
            "haproxy=1;rm",
            "x:",
            "name:ARCH",
        ] {
            assert!(
                PackageRequirement::parse(bad).is_err(),
                "{bad:?} was accepted"
            );
        }
    }
}
