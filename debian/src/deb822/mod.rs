//! deb822 (deb822(5)), the format of Debian's control data, read and written in one place:
//! `Packages` indexes, `Release` files, a `.deb`'s control file, dpkg's status file, apt's
//! `.sources` files.
//!
//! ```text
//! Package: hello            ◀─ a field: a name, a colon, a value
//! Description: greets       ◀─ a value may go on over
//!  long text                ◀─ continuation lines, which start with a space or a tab
//! # a comment               ◀─ skipped wherever it stands
//!                           ◀─ blank lines (or white space alone) separate paragraphs
//! Package: other
//! ```
//!
//! Design notes:
//! - [`paragraphs`] reads a text's paragraphs one at a time, borrowing from the text: a
//!   50 MB `Packages` index is read without copying its values. Each [`Field`] keeps its
//!   value as written (continuation lines with their white space) and the line it starts on,
//!   so an error can name the line and a paragraph can be written back byte for byte.
//! - Field names compare without case, as dpkg and apt compare them ([`Field::is`]).
//! - A line that is neither a field nor a continuation of one is an error naming its line;
//!   what a field's value must be (a version, a size, a checksum) is its reader's business.
//! - [`ParagraphWriter`] writes fields, as read or new, one paragraph at a time.

mod paragraph;
mod paragraph_writer;

pub use paragraph::{Field, Paragraph, ParagraphError, ParagraphErrorKind, Paragraphs, paragraphs};
pub use paragraph_writer::ParagraphWriter;
