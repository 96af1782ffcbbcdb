//! Reading a spec from disk: a file that is not UTF-8 is refused at the line, column and
//! byte offset of its first bad byte, not with the standard library's "stream did not
//! contain valid UTF-8".

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::source_file::SourceFile;

/// The spec at `path`, named in errors by `path` as given.
pub fn read_spec(path: &Path) -> Result<SourceFile, Diagnostic> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| {
        Diagnostic::new(format!("cannot read the spec {origin}: {error}"))
            .hint("give the path of a cluster spec, such as examples/quickstart/cluster.toml")
    })?;
    decode(origin, bytes)
}

/// `bytes` as the text of `origin`, or where it stops being UTF-8.
pub fn decode(origin: String, bytes: Vec<u8>) -> Result<SourceFile, Diagnostic> {
    let error = match String::from_utf8(bytes) {
        Ok(text) => return Ok(SourceFile::new(origin, text)),
        Err(error) => error,
    };
    let offset = error.utf8_error().valid_up_to();
    let bad = error.as_bytes()[offset];
    // Up to the bad byte the lossy text is the file's own; the byte is one U+FFFD there.
    let shown = SourceFile::new(
        origin,
        String::from_utf8_lossy(error.as_bytes()).into_owned(),
    );
    let span = offset..offset + char::REPLACEMENT_CHARACTER.len_utf8();
    Err(Diagnostic::new(format!(
        "the spec is not UTF-8: byte {bad:#04x} at byte offset {offset} is not part of a UTF-8 character"
    ))
    .at(&shown, &span)
    .hint("save the spec as UTF-8 (`iconv -f latin1 -t utf-8` converts a Latin-1 file)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_byte_is_reported_at_its_line_and_column() {
        let bytes = b"[cluster]\nname = \"caf\xe9\"\n".to_vec();
        let error = decode("cluster.toml".into(), bytes).unwrap_err();
        let location = error.location.as_deref().unwrap();
        assert_eq!((location.line, location.column), (2, 12), "{error}");
        assert!(
            error.message.contains("byte 0xe9 at byte offset 21"),
            "{error}"
        );
    }
}
