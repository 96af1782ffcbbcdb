//! Writing TOML scalars by hand: keys and strings, quoted only when they must be.

use std::fmt::Write as _;

/// A key, bare when TOML allows it, quoted otherwise.
pub fn key(text: &str) -> String {
    let bare = !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if bare {
        text.to_string()
    } else {
        basic_string(text)
    }
}

/// A single-line basic string with every special character escaped.
pub fn basic_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_basic_string(&mut out, text);
    out
}

/// [`basic_string`] written at the end of `out`.
pub fn push_basic_string(out: &mut String, text: &str) {
    out.push('"');
    escape_into(out, text, false);
    out.push('"');
}

/// Text spanning lines, written so a reader sees it as it is: a literal multi-line string
/// where TOML allows one, else a basic multi-line string with escapes. Both start with a
/// newline, which TOML drops.
pub fn multiline_string(text: &str) -> String {
    let literal_allowed = !text.contains("'''")
        && !text.ends_with('\'')
        && !text
            .chars()
            .any(|character| character.is_control() && character != '\n' && character != '\t');
    if literal_allowed {
        return format!("'''\n{text}'''");
    }
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str("\"\"\"\n");
    escape_into(&mut out, text, true);
    out.push_str("\"\"\"");
    out
}

/// Escapes `text` for a basic string; a multi-line one keeps newlines and tabs as they are.
fn escape_into(out: &mut String, text: &str, multiline: bool) {
    // Most text needs no escape: one pass over the bytes says so, and it is copied whole.
    // (0xC2 starts the C1 controls, U+0080 to U+009F; anything starting with it takes the
    // careful path.)
    let plain = text
        .bytes()
        .all(|byte| byte >= 0x20 && !matches!(byte, b'"' | b'\\' | 0x7f | 0xc2));
    if plain {
        out.push_str(text);
        return;
    }
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\t' if multiline => out.push(character),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            control if control.is_control() => {
                let _ = write!(out, "\\u{:04X}", control as u32);
            }
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        let document = format!("value = {}\n", multiline_string(text));
        let table: toml::Table = toml::from_str(&document).unwrap();
        table["value"].as_str().unwrap().to_string()
    }

    #[test]
    fn multiline_strings_round_trip_whatever_they_hold() {
        for text in [
            "plain\n",
            "no trailing newline",
            "",
            "it's '''quoted'''\n",
            "ends with a quote'",
            "back\\slash \"double\" \r\n crlf \u{1} control\n",
            "\n\nleading newlines\n",
        ] {
            assert_eq!(round_trip(text), text, "for {text:?}");
        }
    }

    #[test]
    fn basic_strings_round_trip_whatever_they_hold() {
        for text in [
            "plain words, ünïcödé and symbols {{ }} @@",
            "a \"quote\" and a back\\slash",
            "line\nbreak\ttab\r",
            "\u{7f} delete, \u{85} next line (C1), \u{a0} no-break space",
            "",
        ] {
            let document = format!("value = {}\n", basic_string(text));
            let table: toml::Table = toml::from_str(&document).unwrap();
            assert_eq!(table["value"].as_str().unwrap(), text, "for {text:?}");
            assert!(!document.contains('\u{85}'), "a C1 control is escaped");
        }
    }

    #[test]
    fn keys_are_quoted_only_when_needed() {
        assert_eq!(key("node-1"), "node-1");
        assert_eq!(key("mysql.password"), "\"mysql.password\"");
    }
}
