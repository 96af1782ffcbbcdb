use std::fmt;
use std::ops::Range;

use crate::source_file::SourceFile;

/// Where a diagnostic points: a file, a 1-based line and column, and the line's text with the
/// span underlined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub origin: String,
    pub line: usize,
    pub column: usize,
    pub line_text: String,
    /// Characters to underline, at least 1.
    pub width: usize,
}

impl Location {
    pub fn of(source: &SourceFile, span: &Range<usize>) -> Self {
        let start = source.line_column(span.start);
        let line_text = source.line_text(start.line).to_string();
        let spanned = source.slice(span);
        let first_line = spanned.lines().next().unwrap_or("");
        let remaining = line_text.chars().count().saturating_sub(start.column - 1);
        let width = first_line.chars().count().clamp(1, remaining.max(1));
        Self {
            origin: source.origin.clone(),
            line: start.line,
            column: start.column,
            line_text,
            width,
        }
    }

    /// A location known only by line (a template error from minijinja).
    pub fn of_line(source: &SourceFile, line: usize) -> Self {
        let line_text = source.line_text(line).to_string();
        let indent = line_text.len() - line_text.trim_start().len();
        Self {
            origin: source.origin.clone(),
            line,
            column: indent + 1,
            width: line_text.trim().chars().count().max(1),
            line_text,
        }
    }
}

/// One problem with the input: what is wrong, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub location: Option<Box<Location>>,
    pub hint: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            location: None,
            hint: None,
            notes: Vec::new(),
        }
    }

    pub fn at(mut self, source: &SourceFile, span: &Range<usize>) -> Self {
        self.location = Some(Box::new(Location::of(source, span)));
        self
    }

    pub fn at_location(mut self, location: Location) -> Self {
        self.location = Some(Box::new(location));
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(formatter, "error: {}", self.message)?;
        if let Some(location) = &self.location {
            let gutter = location.line.to_string().len();
            let pad = " ".repeat(gutter);
            writeln!(
                formatter,
                "{pad}--> {}:{}:{}",
                location.origin, location.line, location.column
            )?;
            writeln!(formatter, "{pad} |")?;
            writeln!(formatter, "{} | {}", location.line, location.line_text)?;
            let indent: String = location
                .line_text
                .chars()
                .take(location.column - 1)
                .map(|character| if character == '\t' { '\t' } else { ' ' })
                .collect();
            writeln!(formatter, "{pad} | {indent}{}", "^".repeat(location.width))?;
        }
        for note in &self.notes {
            writeln!(formatter, "  = note: {note}")?;
        }
        if let Some(hint) = &self.hint {
            writeln!(formatter, "  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in one compile. A compile reports as many as it can at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CompileError {
    pub diagnostics: Vec<Diagnostic>,
}

impl CompileError {
    pub fn single(diagnostic: Diagnostic) -> Self {
        Self {
            diagnostics: vec![diagnostic],
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, diagnostic) in self.diagnostics.iter().enumerate() {
            if position > 0 {
                writeln!(formatter)?;
            }
            write!(formatter, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl From<Diagnostic> for CompileError {
    fn from(diagnostic: Diagnostic) -> Self {
        Self::single(diagnostic)
    }
}

/// A sink for diagnostics, so that one pass reports every problem it meets.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(diagnostics);
    }

    /// Records every problem `other` recorded.
    pub fn append(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// `Ok` when nothing was recorded, else `self`: for a pass whose problems join others'.
    pub fn into_result(self) -> Result<(), Diagnostics> {
        if self.items.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// The value, or `None` with the error recorded.
    pub fn ok<T>(&mut self, result: Result<T, Diagnostic>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(diagnostic) => {
                self.push(diagnostic);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many problems are recorded: a mark for [`Diagnostics::note_since`].
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Adds `notes` to every problem recorded since `mark`.
    pub fn note_since(&mut self, mark: usize, notes: &[String]) {
        for diagnostic in self.items.iter_mut().skip(mark) {
            diagnostic.notes.extend(notes.iter().cloned());
        }
    }

    /// `Ok(value)` when nothing was recorded, else every recorded problem.
    pub fn finish<T>(self, value: T) -> Result<T, CompileError> {
        if self.items.is_empty() {
            Ok(value)
        } else {
            Err(CompileError {
                diagnostics: self.items,
            })
        }
    }
}

/// A span of a source file, kept cheap until an error needs its line and column.
#[derive(Debug, Clone)]
pub struct SourceSpan<'a> {
    pub source: &'a SourceFile,
    pub span: Range<usize>,
}

impl<'a> SourceSpan<'a> {
    pub fn new(source: &'a SourceFile, span: Range<usize>) -> Self {
        Self { source, span }
    }

    pub fn location(&self) -> Location {
        Location::of(self.source, &self.span)
    }

    /// `origin:line:column`, for notes.
    pub fn display(&self) -> String {
        let location = self.location();
        format!("{}:{}:{}", location.origin, location.line, location.column)
    }
}
