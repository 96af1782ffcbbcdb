use std::ops::Range;
use std::sync::Arc;

/// A file the compiler read (the spec, a module manifest, a template), with the name errors
/// call it by: the path as the operator gave it, or `builtin:modules/<module>/<file>`.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub origin: String,
    pub text: Arc<str>,
}

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineColumn {
    pub line: usize,
    pub column: usize,
}

impl SourceFile {
    pub fn new(origin: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        Self {
            origin: origin.into(),
            text: text.into(),
        }
    }

    pub fn line_column(&self, offset: usize) -> LineColumn {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |index| index + 1);
        LineColumn {
            line,
            column: before[line_start..].chars().count() + 1,
        }
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        self.text.lines().nth(line.saturating_sub(1)).unwrap_or("")
    }

    /// The text a span covers.
    pub fn slice(&self, span: &Range<usize>) -> &str {
        let start = floor_char_boundary(&self.text, span.start.min(self.text.len()));
        let end = floor_char_boundary(&self.text, span.end.min(self.text.len()));
        &self.text[start..end.max(start)]
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
