//! Building POSIX shell scripts safely.

/// `text` as one single-quoted shell word.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for character in text.chars() {
        if character == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(character);
        }
    }
    out.push('\'');
    out
}

/// `script` run by `sh` for at most `seconds` (`timeout`'s exit status 124 past them).
pub fn bounded(script: &str, seconds: u64) -> String {
    format!("timeout {seconds} sh -c {}", quote(script))
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quoted_words_survive_the_shell_unchanged() {
        for word in ["plain", "with space", "it's", "$(rm -rf /)", "a\nb", ""] {
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(word)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(output.stdout).unwrap(), word);
        }
    }
}
