use crate::content::Text;
use crate::nodes::fields::{FieldError, FieldReader, format_mode, parse_mode};
use crate::nodes::written_path::written_path;
use crate::value::Value;

/// Rendered content written atomically (temporary file, then rename) to `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNode {
    pub path: String,
    pub content: Text,
    pub mode: u32,
    pub owner: String,
    pub group: String,
}

impl FileNode {
    pub const DEFAULT_MODE: u32 = 0o644;

    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("path", self.path.as_str().into()),
            ("mode", format_mode(self.mode).into()),
            ("owner", self.owner.as_str().into()),
            ("group", self.group.as_str().into()),
            ("content", Value::Text(self.content.clone())),
        ]
    }

    pub(crate) fn from_fields(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        let path = written_path(fields.string("path")?, "path")?;
        let mode = match fields.optional_string("mode")? {
            Some(text) => parse_mode("mode", &text)?,
            None => Self::DEFAULT_MODE,
        };
        Ok(Self {
            path,
            mode,
            owner: fields
                .optional_string("owner")?
                .unwrap_or_else(|| "root".into()),
            group: fields
                .optional_string("group")?
                .unwrap_or_else(|| "root".into()),
            content: fields.text("content")?,
        })
    }
}
