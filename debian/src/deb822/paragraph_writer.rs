//! Writing a deb822 paragraph: fields as read, byte for byte, or new ones.

use super::paragraph::Field;

/// A paragraph being written, field by field; [`ParagraphWriter::finish`] gives its text,
/// every line ending in a newline. Paragraphs are separated by a blank line, which the
/// caller writes between them.
#[derive(Debug, Clone, Default)]
pub struct ParagraphWriter {
    text: String,
}

impl ParagraphWriter {
    pub fn new() -> ParagraphWriter {
        ParagraphWriter::default()
    }

    /// `Name: value`. Each further line of `value` goes on a continuation line, after one
    /// space; a value whose first line is empty writes `Name:` alone on the first line
    /// (`SHA256:`, then one line per file).
    pub fn field(&mut self, name: &str, value: &str) -> &mut ParagraphWriter {
        self.text.push_str(name);
        self.text.push(':');
        let mut lines = value.split('\n');
        if let Some(first) = lines.next().filter(|first| !first.is_empty()) {
            self.text.push(' ');
            self.text.push_str(first);
        }
        for line in lines {
            self.text.push_str("\n ");
            self.text.push_str(line);
        }
        self.text.push('\n');
        self
    }

    /// `field` as it was read: its name, colon and lines as written (comments between them
    /// left out).
    pub fn field_as_read(&mut self, field: &Field<'_>) -> &mut ParagraphWriter {
        self.text.push_str(field.name);
        self.text.push(':');
        for (index, (_, line)) in field.written_lines().enumerate() {
            if index > 0 {
                self.text.push('\n');
            }
            self.text.push_str(line);
        }
        self.text.push('\n');
        self
    }

    /// The paragraph's text.
    pub fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deb822::Paragraph;

    #[test]
    fn fields_as_read_are_written_back_byte_for_byte() {
        let text = "Package:hello\nDescription: greets\n  verbatim\n\t.\nEmpty:\n";
        let paragraph = Paragraph::parse(text).unwrap();
        let mut writer = ParagraphWriter::new();
        for field in paragraph.fields() {
            writer.field_as_read(field);
        }
        assert_eq!(writer.finish(), text);
    }

    #[test]
    fn new_fields_put_further_lines_on_continuation_lines() {
        let mut writer = ParagraphWriter::new();
        writer
            .field("Origin", "cairn")
            .field("SHA256", "\nab 12 main/Packages\ncd  3 main/Packages.gz");
        assert_eq!(
            writer.finish(),
            "Origin: cairn\nSHA256:\n ab 12 main/Packages\n cd  3 main/Packages.gz\n"
        );
    }
}
