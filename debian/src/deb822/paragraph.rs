//! Reading deb822 paragraphs: fields borrowed from the text, each with the line it starts on.

use std::borrow::Cow;

/// One field of a paragraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'text> {
    /// The name as written; [`Field::is`] compares it without case.
    pub name: &'text str,
    /// What follows the colon, to the end of the field's last line (its line ending left
    /// out): continuation lines, and any comment between them, as written.
    written: &'text str,
    /// The line the field starts on, counted from 1.
    pub line: usize,
}

/// One paragraph: its fields in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph<'text> {
    /// The line its first field is on.
    pub line: usize,
    fields: Vec<Field<'text>>,
}

/// Why a text is not deb822.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ParagraphError {
    /// The line, counted from 1.
    pub line: usize,
    pub kind: ParagraphErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParagraphErrorKind {
    /// A line starting with white space where no field is open (at the start of a
    /// paragraph).
    #[error("a continuation line with no field before it")]
    ContinuationWithoutField,
    /// A line that is not `Name: value`: no colon, or nothing before it. (A name holding
    /// white space is read as written, as apt reads it; no field of Debian's has one.)
    #[error("expected `Field: value`, found `{0}`")]
    NotAField(String),
    /// [`Paragraph::parse`] of a text holding no field.
    #[error("no field: expected one paragraph of `Field: value` lines")]
    NoParagraph,
    /// [`Paragraph::parse`] of a text holding a second paragraph.
    #[error("a second paragraph starts here, where one is expected: a blank line ends the first")]
    SecondParagraph,
}

impl<'text> Field<'text> {
    /// Whether the field is called `name`, in any case (`depends` is `Depends`).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The value's lines as written, each with its line number: the first line's text
    /// after the colon, then each continuation line with its leading white space. Comments
    /// between them are left out.
    pub fn written_lines(&self) -> impl Iterator<Item = (usize, &'text str)> + use<'text> {
        let first = self.line;
        self.written
            .split('\n')
            .enumerate()
            .map(move |(index, text)| (first + index, text.strip_suffix('\r').unwrap_or(text)))
            .filter(move |(line, text)| *line == first || !text.starts_with('#'))
    }

    /// The value as a program reads it: each line without the white space around it, the
    /// lines joined by newlines. A one-line value is borrowed from the text.
    pub fn value(&self) -> Cow<'text, str> {
        if !self.written.contains('\n') {
            return Cow::Borrowed(self.written.trim());
        }
        let mut value = String::with_capacity(self.written.len());
        for (index, (_, text)) in self.written_lines().enumerate() {
            if index > 0 {
                value.push('\n');
            }
            value.push_str(text.trim());
        }
        Cow::Owned(value)
    }
}

impl<'text> Paragraph<'text> {
    /// The one paragraph of `text` (a `.deb`'s control file, dpkg's view of a package):
    /// blank lines around it are fine; none, or a second one, is an error.
    pub fn parse(text: &'text str) -> Result<Paragraph<'text>, ParagraphError> {
        let mut all = paragraphs(text);
        let Some(first) = all.next().transpose()? else {
            return Err(ParagraphError {
                line: 1,
                kind: ParagraphErrorKind::NoParagraph,
            });
        };
        if let Some(second) = all.next().transpose()? {
            return Err(ParagraphError {
                line: second.line,
                kind: ParagraphErrorKind::SecondParagraph,
            });
        }
        Ok(first)
    }

    /// Every field, in the order written.
    pub fn fields(&self) -> &[Field<'text>] {
        &self.fields
    }

    /// The first field called `name`, in any case.
    pub fn field(&self, name: &str) -> Option<&Field<'text>> {
        self.fields.iter().find(|field| field.is(name))
    }

    /// The value of the first field called `name` ([`Field::value`]).
    pub fn value(&self, name: &str) -> Option<Cow<'text, str>> {
        self.field(name).map(Field::value)
    }
}

/// The paragraphs of `text`, one at a time; the first error ends them.
pub fn paragraphs(text: &str) -> Paragraphs<'_> {
    Paragraphs {
        text,
        position: 0,
        line: 0,
        failed: false,
    }
}

/// The paragraphs of a text: see [`paragraphs`].
#[derive(Debug, Clone)]
pub struct Paragraphs<'text> {
    text: &'text str,
    /// Where the next line starts.
    position: usize,
    /// How many lines were read.
    line: usize,
    failed: bool,
}

impl<'text> Paragraphs<'text> {
    /// The next line: its number, where it starts, and its text without its line ending
    /// (as `str::lines` has it).
    fn next_line(&mut self) -> Option<(usize, usize, &'text str)> {
        if self.position >= self.text.len() {
            return None;
        }
        let start = self.position;
        let rest = &self.text[start..];
        let (text, length) = match rest.find('\n') {
            Some(end) => (
                rest[..end].strip_suffix('\r').unwrap_or(&rest[..end]),
                end + 1,
            ),
            None => (rest, rest.len()),
        };
        self.position += length;
        self.line += 1;
        Some((self.line, start, text))
    }

    fn fail(&mut self, line: usize, kind: ParagraphErrorKind) -> Option<<Self as Iterator>::Item> {
        self.failed = true;
        Some(Err(ParagraphError { line, kind }))
    }
}

impl<'text> Iterator for Paragraphs<'text> {
    type Item = Result<Paragraph<'text>, ParagraphError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let mut paragraph: Option<Paragraph<'text>> = None;
        // Where the value of the paragraph's last field starts in the text.
        let mut value_start = 0;
        while let Some((line, start, text)) = self.next_line() {
            if text.trim().is_empty() {
                if paragraph.is_some() {
                    break;
                }
                continue;
            }
            if text.starts_with('#') {
                continue;
            }
            if text.starts_with([' ', '\t']) {
                let Some(field) = paragraph
                    .as_mut()
                    .and_then(|paragraph| paragraph.fields.last_mut())
                else {
                    return self.fail(line, ParagraphErrorKind::ContinuationWithoutField);
                };
                field.written = &self.text[value_start..start + text.len()];
                continue;
            }
            let Some((name, value)) = text.split_once(':').filter(|(name, _)| !name.is_empty())
            else {
                return self.fail(line, ParagraphErrorKind::NotAField(text.to_string()));
            };
            value_start = start + name.len() + 1;
            paragraph
                .get_or_insert_with(|| Paragraph {
                    line,
                    fields: Vec::new(),
                })
                .fields
                .push(Field {
                    name,
                    written: value,
                    line,
                });
        }
        paragraph.map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# a comment before anything
Package: hello
depends: b,
 c (>= 2),
# a comment inside a value
\td
Description: greets
  verbatim
 .

  \t
Package: other\r
Version:  2.0 \r
";

    #[test]
    fn fields_keep_their_lines_and_values_fold_their_continuation_lines() {
        let all: Vec<Paragraph> = paragraphs(TEXT).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 2);
        let hello = &all[0];
        assert_eq!(hello.line, 2);
        let names: Vec<(&str, usize)> = hello
            .fields()
            .iter()
            .map(|field| (field.name, field.line))
            .collect();
        assert_eq!(names, [("Package", 2), ("depends", 3), ("Description", 7)]);
        assert_eq!(hello.value("DEPENDS").unwrap(), "b,\nc (>= 2),\nd");
        assert_eq!(hello.value("Description").unwrap(), "greets\nverbatim\n.");
        let lines: Vec<(usize, &str)> = hello.field("Depends").unwrap().written_lines().collect();
        assert_eq!(lines, [(3, " b,"), (4, " c (>= 2),"), (6, "\td")]);
        assert_eq!(all[1].line, 12);
        assert_eq!(all[1].value("version").unwrap(), "2.0");
        assert!(matches!(
            all[1].value("Package").unwrap(),
            Cow::Borrowed("other")
        ));
        assert_eq!(all[1].value("Missing"), None);
    }

    #[test]
    fn a_line_that_is_no_field_is_refused_naming_its_line() {
        let error = |text: &str| paragraphs(text).find_map(Result::err).unwrap();
        assert_eq!(
            error("Package: a\n\n continued\n").to_string(),
            "line 3: a continuation line with no field before it"
        );
        assert_eq!(
            error("Package: a\nPackage a\n").to_string(),
            "line 2: expected `Field: value`, found `Package a`"
        );
        assert_eq!(
            error(": no name\n").kind,
            ParagraphErrorKind::NotAField(": no name".to_string())
        );
        let odd = Paragraph::parse("-dash escaped: yes\n").unwrap();
        assert_eq!(odd.fields()[0].name, "-dash escaped");
        // The first error ends the paragraphs.
        assert_eq!(paragraphs(" x\nPackage: a\n").count(), 1);
    }

    #[test]
    fn one_paragraph_is_one_paragraph() {
        let control = Paragraph::parse("\nPackage: hello\nVersion: 1.0\n\n\n").unwrap();
        assert_eq!(control.value("Version").unwrap(), "1.0");
        let error = Paragraph::parse("Package: a\n\nPackage: b\n").unwrap_err();
        assert_eq!(
            (error.line, error.kind),
            (3, ParagraphErrorKind::SecondParagraph)
        );
        let error = Paragraph::parse("# nothing\n\n").unwrap_err();
        assert_eq!(error.kind, ParagraphErrorKind::NoParagraph);
    }
}
