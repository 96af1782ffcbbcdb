//! Where a module's text reaches a shell, and the values interpolated there that nothing
//! quotes. A shell context is a script: a template named `*.sh.j2` (entrypoints), and the
//! `run` and `unless` fields of nodes (commands, probes), a rollout's `last_where`, `drain` and `undrain`. A value may land there
//! unquoted only when its type cannot hold a character the shell treats specially; anything
//! else goes through `sh_quote`. The test below holds every built-in module to it.

use crate::module::manifest::Module;
use crate::module::node_declaration::DeclaredValue;
use crate::render::shell_quote::FILTER;

/// Fields of a node that the executor runs as a script.
pub const SCRIPT_FIELDS: [&str; 2] = ["run", "unless"];

/// Fields of a container's rollout that the executor runs as a script.
const ROLLOUT_SCRIPT_FIELDS: [&str; 3] = ["last_where", "drain", "undrain"];

/// Values of the template context that are shell-safe whatever the spec says, and why.
const SAFE_VALUES: [(&str, &str); 7] = [
    ("host.name", "a DNS label, checked by the spec's reader"),
    (
        "host.fqdn",
        "a DNS label, a dot and the cluster's domain, a DNS name",
    ),
    (
        "host.address",
        "an IP address or a DNS name, checked by the spec's reader",
    ),
    ("host.port", "an integer"),
    ("host.id", "an integer"),
    ("cluster.name", "a DNS label"),
    ("cluster.domain", "a DNS name"),
];

/// Expressions that print only literals of their own, and why they may stay unquoted.
const SAFE_EXPRESSIONS: [(&str, &str); 1] =
    [("1 if selinux.mode == \"enforcing\" else 0", "prints 1 or 0")];

/// One `{{ ... }}` in a script that neither quotes nor is known safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnquotedValue {
    /// `module.toml`'s field or the template's path.
    pub place: String,
    pub expression: String,
}

/// Every unquoted interpolation of an unsafe value in `module`'s scripts.
pub fn unquoted_values(module: &Module) -> Vec<UnquotedValue> {
    let mut out = Vec::new();
    for declaration in module.images.iter().chain(&module.nodes) {
        for (name, value) in &declaration.fields {
            if let (true, DeclaredValue::String(text)) =
                (SCRIPT_FIELDS.contains(&name.value.as_str()), &value.value)
            {
                let place = format!("{}/module.toml `{}`", module.name, name.value);
                out.extend(unquoted_in(module, &place, text));
            }
        }
    }
    for rollout in module.nodes.iter().filter_map(|node| node.rollout.as_ref()) {
        for (name, value) in &rollout.fields {
            if let (true, DeclaredValue::String(text)) = (
                ROLLOUT_SCRIPT_FIELDS.contains(&name.value.as_str()),
                &value.value,
            ) {
                let place = format!("{}/module.toml rollout `{}`", module.name, name.value);
                out.extend(unquoted_in(module, &place, text));
            }
        }
    }
    for (path, file) in &module.templates {
        if path.ends_with(".sh.j2") {
            let place = format!("{}/{path}", module.name);
            out.extend(unquoted_in(module, &place, &file.text));
        }
    }
    out
}

fn unquoted_in(module: &Module, place: &str, text: &str) -> Vec<UnquotedValue> {
    expressions(text)
        .filter(|expression| !is_safe(module, expression))
        .map(|expression| UnquotedValue {
            place: place.to_string(),
            expression: expression.to_string(),
        })
        .collect()
}

/// The inside of each `{{ ... }}`, trimmed (with minijinja's `-` whitespace control).
fn expressions(text: &str) -> impl Iterator<Item = &str> {
    text.split("{{").skip(1).filter_map(|after| {
        let inside = after.split_once("}}")?.0;
        Some(inside.trim_matches('-').trim())
    })
}

fn is_safe(module: &Module, expression: &str) -> bool {
    is_quoted_whole(expression)
        || SAFE_VALUES.iter().any(|(value, _)| *value == expression)
        || SAFE_EXPRESSIONS.iter().any(|(safe, _)| *safe == expression)
        || setting_is_shell_safe(module, expression)
}

/// `value | sh_quote`, `value | filter | sh_quote` or `( ... ) | sh_quote`: the filter
/// applies to the whole expression. `a ~ b | sh_quote` quotes `b` alone (a filter binds
/// tighter than `~`, `+` or `if`), so it is not quoted.
fn is_quoted_whole(expression: &str) -> bool {
    let Some((before, last)) = expression.rsplit_once('|') else {
        return false;
    };
    if last.trim() != FILTER {
        return false;
    }
    let before = before.trim();
    if let Some(inside) = before
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
    {
        return parentheses_balance(inside);
    }
    let reference = before.split('|').next().unwrap_or_default().trim();
    !reference.is_empty()
        && reference
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "._".contains(character))
}

/// Whether `text`'s parentheses close in order and never below its start, so that
/// `(text)` is one group (not `(a) ~ (b)`).
fn parentheses_balance(text: &str) -> bool {
    let mut depth = 0usize;
    for character in text.chars() {
        match character {
            '(' => depth += 1,
            ')' if depth == 0 => return false,
            ')' => depth -= 1,
            _ => {}
        }
    }
    depth == 0
}

/// `section.key` of a setting of the module whose type is shell-safe.
fn setting_is_shell_safe(module: &Module, expression: &str) -> bool {
    let Some((section, key)) = expression.split_once('.') else {
        return false;
    };
    module.settings.iter().any(|schema| {
        schema.section == section && schema.key == key && schema.setting_type.is_shell_safe()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::library::ModuleLibrary;

    #[test]
    fn only_a_filter_over_the_whole_expression_quotes_it() {
        for quoted in [
            "host.address | sh_quote",
            "mesos.attributes | default('') | sh_quote",
            "('http://' ~ host.address ~ ':8080') | sh_quote",
        ] {
            assert!(is_quoted_whole(quoted), "{quoted}");
        }
        for unquoted in [
            "mesos.attributes ~ host.address | sh_quote",
            "a if b else c | sh_quote",
            "(a) ~ (b) | sh_quote",
            "host.address | upper",
            "host.address",
        ] {
            assert!(!is_quoted_whole(unquoted), "{unquoted}");
        }
    }

    #[test]
    fn no_built_in_module_puts_an_unquoted_value_into_a_script() {
        let library = ModuleLibrary::builtin().unwrap();
        let unquoted: Vec<UnquotedValue> =
            library.modules().iter().flat_map(unquoted_values).collect();
        assert!(
            unquoted.is_empty(),
            "these values reach a shell unquoted: write `{{{{ value | {FILTER} }}}}`, or give \
             the setting a type that cannot hold shell syntax:\n{unquoted:#?}"
        );
    }

    #[test]
    fn the_check_finds_a_free_string_and_accepts_it_quoted() {
        let manifest = r#"
[module]
name = "probe"
description = "a module whose script reads a free string"
roles = ["*"]

[settings.probe.message]
type = "string"
default = "hello"
doc = "A message."

[settings.probe.port]
type = "port"
default = 80
doc = "A port."

[[node]]
kind = "command"
name = "greet"
run = "echo {{ probe.message }} {{ probe.port }} {{ probe.message | sh_quote }} {{ item }}"
"#;
        let module = Module::parse(
            crate::source_file::SourceFile::new("probe/module.toml", manifest),
            Default::default(),
            false,
        )
        .unwrap();
        let found: Vec<String> = unquoted_values(&module)
            .into_iter()
            .map(|unquoted| unquoted.expression)
            .collect();
        assert_eq!(found, ["probe.message", "item"]);
    }
}
