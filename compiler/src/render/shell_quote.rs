//! The `sh_quote` filter: a value as POSIX shell words, so that a template puts a spec's
//! value into a script as data, never as code. A string (or number) becomes one
//! single-quoted word; a list becomes one word per element, separated by spaces.
//!
//! Every value a built-in module interpolates into a script (an entrypoint, a `run` or
//! `unless` field) goes through it, or is of a type that cannot hold a character the shell
//! treats specially: `module::shell_contexts` checks both over every built-in module.

use minijinja::Value as TemplateValue;

/// The name templates call it by: `{{ host.address | sh_quote }}`.
pub const FILTER: &str = "sh_quote";

/// `value` as shell words.
pub fn sh_quote(value: TemplateValue) -> String {
    if value.as_str().is_none()
        && let Ok(items) = value.try_iter()
    {
        return items
            .map(|item| quote(&item.to_string()))
            .collect::<Vec<_>>()
            .join(" ");
    }
    quote(&value.to_string())
}

/// `text` as one single-quoted word: `'` becomes `'\''`, nothing else is special inside.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell_echo(words: &str) -> String {
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s|' {words}"))
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn a_quoted_value_reaches_the_shell_as_it_was_written() {
        for text in [
            "plain",
            "it's",
            "$(touch /tmp/never)",
            "`id`",
            "a b\nc",
            "",
            "\\",
        ] {
            let quoted = sh_quote(TemplateValue::from(text));
            assert_eq!(shell_echo(&quoted), format!("{text}|"), "{quoted}");
        }
    }

    #[test]
    fn numbers_are_words_and_lists_are_one_word_per_element() {
        assert_eq!(sh_quote(TemplateValue::from(8080)), "'8080'");
        let list = TemplateValue::from(vec!["debian 12", "$(x)"]);
        assert_eq!(shell_echo(&sh_quote(list)), "debian 12|$(x)|");
    }
}
