//! The spec reference, generated from the modules' settings schemas: `cairn modules`
//! prints it, and the README holds the Markdown form (a test keeps the two equal).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::module::library::ModuleLibrary;
use crate::module::manifest::{ALL_HOSTS, Module};
use crate::module::setting::{SettingSchema, SettingValue};

/// Where a module runs, in words.
fn placement(module: &Module) -> String {
    if module.applies_to_every_host() {
        return "every host".to_string();
    }
    let roles: Vec<String> = module
        .roles
        .iter()
        .filter(|role| role.value != ALL_HOSTS)
        .map(|role| format!("`{}`", role.value))
        .collect();
    format!("hosts with role {}", roles.join(" or "))
}

fn default_text(schema: &SettingSchema) -> String {
    match &schema.default {
        None if schema.is_required() => "required".to_string(),
        None => "none".to_string(),
        Some(value) => format!("`{}`", value_text(value)),
    }
}

fn value_text(value: &SettingValue) -> String {
    match value {
        SettingValue::String(text) => format!("\"{text}\""),
        SettingValue::Integer(number) => number.to_string(),
        SettingValue::Boolean(flag) => flag.to_string(),
        SettingValue::Strings(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|item| format!("\"{item}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        SettingValue::PathSizes(sizes) => format!(
            "{{ {} }}",
            sizes
                .iter()
                .map(|(path, bytes)| format!("\"{path}\" = {bytes}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        SettingValue::HostIntegers(numbers) => format!(
            "{{ {} }}",
            numbers
                .iter()
                .map(|(host, number)| format!("{host} = {number}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        SettingValue::Secret(name) => format!("<secret {name}>"),
    }
}

fn sections(library: &ModuleLibrary) -> BTreeMap<&str, (&Module, Vec<&SettingSchema>)> {
    let mut out: BTreeMap<&str, (&Module, Vec<&SettingSchema>)> = BTreeMap::new();
    for (module, schema) in library.settings() {
        out.entry(schema.section.as_str())
            .or_insert_with(|| (module, Vec::new()))
            .1
            .push(schema);
    }
    out
}

/// The settings sections as Markdown, one table per section.
pub fn markdown(library: &ModuleLibrary) -> String {
    let mut out = String::new();
    for (section, (module, schemas)) in sections(library) {
        let _ = writeln!(out, "#### `[{section}]`\n");
        let _ = writeln!(
            out,
            "Read by module `{}` ({}), which runs on {}.\n",
            module.name,
            module.description,
            placement(module)
        );
        out.push_str("| key | type | default | meaning |\n|---|---|---|---|\n");
        for schema in schemas {
            let mut meaning = schema.doc.clone();
            if !schema.choices.is_empty() {
                let _ = write!(
                    meaning,
                    " One of {}.",
                    crate::suggest::backticked(schema.choices.iter().map(String::as_str))
                );
            }
            if let Some(role) = &schema.role {
                let _ = write!(meaning, " The host must have role `{role}`.");
            }
            if !schema.requires.is_empty() {
                let _ = write!(
                    meaning,
                    " Requires {}.",
                    crate::suggest::backticked(
                        schema.requires.iter().map(|key| key.value.as_str())
                    )
                );
            }
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                schema.key,
                schema.describe_type().replace('|', "\\|"),
                default_text(schema).replace('|', "\\|"),
                meaning.replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    out
}

/// The modules and their settings, for a terminal.
pub fn plain(library: &ModuleLibrary) -> String {
    let mut out = String::new();
    for module in library.modules() {
        let _ = writeln!(
            out,
            "{}{}: {} (on {})",
            module.name,
            if module.builtin {
                ""
            } else {
                " [from a module folder]"
            },
            module.description,
            placement(module)
        );
        for schema in &module.settings {
            let _ = writeln!(
                out,
                "  [{}] {} = {}  ({}) {}",
                schema.section,
                schema.key,
                default_text(schema),
                schema.describe_type(),
                schema.doc
            );
        }
    }
    out
}
