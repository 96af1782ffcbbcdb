use std::collections::BTreeMap;

use crate::nodes::fields::{FieldError, FieldReader};
use crate::value::Value;

/// One Debian package of an image's closure, pinned at compile time: the exact version its
/// requested packages resolved to, and the `.deb` that version is, by URL, size and sha256.
/// `cairn compile` writes them (from `[packages] sources`); whoever builds the image installs
/// these and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagePin {
    pub name: String,
    /// The Debian version, epoch included (`1:2.6.12-1`).
    pub version: String,
    /// The package's `Architecture` field: the image's architecture or `all`.
    pub architecture: String,
    pub url: String,
    /// 64 lowercase hex digits.
    pub sha256: String,
    pub size: u64,
}

impl PackagePin {
    pub(crate) fn input(&self) -> Value {
        Value::Table(BTreeMap::from([
            ("name".to_string(), Value::String(self.name.clone())),
            ("version".to_string(), Value::String(self.version.clone())),
            (
                "architecture".to_string(),
                Value::String(self.architecture.clone()),
            ),
            ("url".to_string(), Value::String(self.url.clone())),
            ("sha256".to_string(), Value::String(self.sha256.clone())),
            (
                "size".to_string(),
                Value::Integer(i64::try_from(self.size).unwrap_or(i64::MAX)),
            ),
        ]))
    }

    pub(crate) fn from_fields(item: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        let invalid = |field: &str, message: String| FieldError::Invalid {
            field: field.to_string(),
            message,
        };
        let name = item.string("name")?;
        let valid_name = name.len() >= 2
            && name.as_bytes()[0].is_ascii_alphanumeric()
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"+-.".contains(&byte));
        if !valid_name {
            return Err(invalid("name", format!("`{name}` is not a package name")));
        }
        let version = item.string("version")?;
        // Debian's version characters (deb-version(7)): it is written into the Dockerfile's
        // `RUN apt-get install name=version` line.
        let debian_version = |text: &str| {
            text.bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b".+~:-".contains(&byte))
        };
        if version.is_empty() || !debian_version(&version) {
            return Err(invalid("version", format!("`{version}` is not a version")));
        }
        let architecture = item.string("architecture")?;
        if architecture.is_empty()
            || !architecture
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        {
            return Err(invalid(
                "architecture",
                format!("`{architecture}` is not an architecture"),
            ));
        }
        let url = item.string("url")?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(invalid(
                "url",
                format!("`{url}` is not an http:// or https:// URL"),
            ));
        }
        let sha256 = item.string("sha256")?;
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|digit| digit.is_ascii_digit() || (b'a'..=b'f').contains(&digit))
        {
            return Err(invalid(
                "sha256",
                format!("`{sha256}` is not a sha256 checksum of 64 lowercase hex digits"),
            ));
        }
        let size = item.integer::<u64>("size")?;
        Ok(Self {
            name,
            version,
            architecture,
            url,
            sha256,
            size,
        })
    }
}
