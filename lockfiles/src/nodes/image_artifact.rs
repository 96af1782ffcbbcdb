use std::collections::BTreeMap;

use crate::nodes::fields::{FieldError, FieldReader, format_mode, parse_mode};
use crate::nodes::written_path::written_path;
use crate::value::Value;

/// A file an image takes from outside the package repository (Consul, Marathon, cAdvisor:
/// software Debian does not package), pinned by the sha256 of its bytes. Whoever builds the
/// image fetches `url`, refuses any other bytes, and places it at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageArtifact {
    pub url: String,
    /// 64 lowercase hex digits.
    pub sha256: String,
    /// Where it lands in the image: the file itself, or the folder an archive unpacks into.
    pub path: String,
    pub placement: ArtifactPlacement,
}

/// How an artifact is placed in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactPlacement {
    /// The downloaded file is `path`, with this mode.
    File { mode: u32 },
    /// The download is an archive (tar, gzip- xz- or zstd-compressed tar, or zip) unpacked
    /// into the folder `path`, dropping the first `strip_components` parts of each member's
    /// path (as `tar --strip-components` does).
    Unpack { strip_components: u32 },
}

impl ImageArtifact {
    /// Where the build context holds the artifact, relative to the context: the file for
    /// [`ArtifactPlacement::File`], the unpacked folder for [`ArtifactPlacement::Unpack`].
    pub fn context_path(&self) -> String {
        format!("artifacts/{}", self.sha256)
    }

    pub(crate) fn input(&self) -> Value {
        let mut table = BTreeMap::from([
            ("url".to_string(), Value::String(self.url.clone())),
            ("sha256".to_string(), Value::String(self.sha256.clone())),
            ("path".to_string(), Value::String(self.path.clone())),
        ]);
        match self.placement {
            ArtifactPlacement::File { mode } => {
                table.insert("mode".to_string(), Value::String(format_mode(mode)));
            }
            ArtifactPlacement::Unpack { strip_components } => {
                table.insert("unpack".to_string(), Value::Bool(true));
                if strip_components > 0 {
                    table.insert(
                        "strip_components".to_string(),
                        Value::Integer(i64::from(strip_components)),
                    );
                }
            }
        }
        Value::Table(table)
    }

    pub(crate) fn from_fields(item: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        let url = item.string("url")?;
        if url
            .chars()
            .any(|character| character.is_control() || character.is_whitespace())
        {
            return Err(FieldError::Invalid {
                field: "url".to_string(),
                message: format!(
                    "{url:?} holds whitespace or a control character, which no URL may"
                ),
            });
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(FieldError::Invalid {
                field: "url".to_string(),
                message: format!("`{url}` is not an http:// or https:// URL"),
            });
        }
        let sha256 = item.string("sha256")?;
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|digit| digit.is_ascii_digit() || (b'a'..=b'f').contains(&digit))
        {
            return Err(FieldError::Invalid {
                field: "sha256".to_string(),
                message: format!(
                    "`{sha256}` is not a sha256 checksum; write its 64 lowercase hex digits, as `sha256sum` prints them"
                ),
            });
        }
        let path = written_path(item.string("path")?, "path")?;
        let unpack = item.bool_or("unpack", false)?;
        let mode = item.optional_string("mode")?;
        let strip_components = item.optional_integer::<u32>("strip_components")?;
        let placement = if unpack {
            if mode.is_some() {
                return Err(FieldError::Invalid {
                    field: "mode".to_string(),
                    message: "an unpacked archive keeps its members' modes; `mode` is for a file placed as it is".to_string(),
                });
            }
            ArtifactPlacement::Unpack {
                strip_components: strip_components.unwrap_or(0),
            }
        } else {
            if strip_components.is_some() {
                return Err(FieldError::Invalid {
                    field: "strip_components".to_string(),
                    message:
                        "only an archive unpacked with `unpack = true` has components to strip"
                            .to_string(),
                });
            }
            ArtifactPlacement::File {
                mode: match mode {
                    Some(text) => parse_mode("mode", &text)?,
                    None => 0o644,
                },
            }
        };
        Ok(Self {
            url,
            sha256,
            path,
            placement,
        })
    }
}
