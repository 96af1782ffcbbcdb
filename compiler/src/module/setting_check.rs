//! Checks a value of the spec against its setting's schema: its type, an integer's bounds,
//! a string's length and choices. Every refusal names the key, its section and the spec's
//! place, and says what would be accepted.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::de::DeValue;

use crate::diagnostic::Diagnostic;
use crate::module::setting::{SecretReference, SettingSchema, SettingType, SettingValue};
use crate::module::size::parse_size;
use crate::module::text_grammar;
use crate::module::text_type::TextType;
use crate::source_file::SourceFile;
use crate::toml_reader::{Item, TableReader, integer_of, type_name};

/// Checks a value of the spec against its setting's type. A secret comes back as its
/// reference, for the caller to record.
pub fn check_value(
    schema: &SettingSchema,
    item: &Item<'_>,
    source: &SourceFile,
) -> Result<(SettingValue, Option<SecretReference>), Diagnostic> {
    let span = item.span();
    let value = item.get_ref();
    let wrong = || wrong_type(schema, item, source);
    let checked = match schema.setting_type {
        SettingType::Text(text_type) => match value {
            DeValue::String(text) => {
                SettingValue::String(check_text(schema, text_type, text, source, &span)?)
            }
            _ => return Err(wrong()),
        },
        SettingType::Host => match value {
            DeValue::String(text) => SettingValue::String(check_text(
                schema,
                TextType::Identifier,
                text,
                source,
                &span,
            )?),
            _ => return Err(wrong()),
        },
        SettingType::Integer | SettingType::Port => {
            let Some(number) = integer_of(value) else {
                return Err(wrong());
            };
            check_integer(schema, number, source, &span)?;
            SettingValue::Integer(number)
        }
        SettingType::Boolean => match value {
            DeValue::Boolean(flag) => SettingValue::Boolean(*flag),
            _ => return Err(wrong()),
        },
        SettingType::Texts(_) | SettingType::Hosts => match value {
            DeValue::Array(items) => SettingValue::Strings(check_array(schema, items, source)?),
            _ => return Err(wrong()),
        },
        SettingType::Size => SettingValue::Integer(size_of(schema, value, source, &span)?),
        SettingType::PathSizes => match value {
            DeValue::Table(table) => {
                let mut out = BTreeMap::new();
                for (path, size) in table.iter() {
                    let path_text = path.get_ref().to_string();
                    if let Err(why) = text_grammar::absolute_path(&path_text) {
                        return Err(Diagnostic::new(format!(
                            "`{}` of [{}]: {why}",
                            schema.key, schema.section
                        ))
                        .at(source, &path.span())
                        .hint(TextType::Path.hint()));
                    }
                    let bytes = size_of(schema, size.get_ref(), source, &size.span())?;
                    out.insert(path_text, bytes);
                }
                SettingValue::PathSizes(out)
            }
            _ => return Err(wrong()),
        },
        SettingType::HostPriorities => match value {
            DeValue::Table(table) => crate::module::host_priorities::check(schema, table, source)?,
            _ => return Err(wrong()),
        },
        SettingType::Secret => {
            let reference = secret_reference(
                item,
                source,
                &format!("`{}` in [{}]", schema.key, schema.section),
            )?;
            let name = format!("{}.{}", schema.section, schema.key);
            return Ok((SettingValue::Secret(name), Some(reference)));
        }
    };
    Ok((checked, None))
}

fn wrong_type(schema: &SettingSchema, item: &Item<'_>, source: &SourceFile) -> Diagnostic {
    let expected = schema.describe_type();
    Diagnostic::new(format!(
        "`{}` in [{}] must be {expected}, found {}",
        schema.key,
        schema.section,
        type_name(item.get_ref())
    ))
    .at(source, &item.span())
    .maybe_hint(crate::toml_reader::type_hint(
        &schema.key,
        &expected,
        item.get_ref(),
    ))
}

/// One text value: its type's grammar, then the schema's length and choices.
fn check_text(
    schema: &SettingSchema,
    text_type: TextType,
    text: &str,
    source: &SourceFile,
    span: &Range<usize>,
) -> Result<String, Diagnostic> {
    if let Err(why) = text_type.check(text) {
        return Err(Diagnostic::new(format!(
            "`{}` in [{}] must be {}: {why}",
            schema.key,
            schema.section,
            text_type.describe()
        ))
        .at(source, span)
        .hint(text_type.hint()));
    }
    if let Some(maximum) = schema.max_length
        && text.chars().count() > maximum
    {
        return Err(Diagnostic::new(format!(
            "`{}` in [{}] may have at most {maximum} characters, found {}",
            schema.key,
            schema.section,
            text.chars().count()
        ))
        .at(source, span));
    }
    if !schema.choices.is_empty() && !schema.choices.iter().any(|choice| choice == text) {
        return Err(Diagnostic::new(format!(
            "`{}` in [{}] must be one of {}, found `{}`",
            schema.key,
            schema.section,
            crate::suggest::backticked(schema.choices.iter().map(String::as_str)),
            text.escape_default()
        ))
        .at(source, span)
        .maybe_hint(
            crate::suggest::nearest(text, schema.choices.iter().map(String::as_str))
                .map(|best| format!("did you mean `{best}`?")),
        ));
    }
    Ok(text.to_string())
}

/// An integer within the port range, or the schema's `min` and `max`.
fn check_integer(
    schema: &SettingSchema,
    number: i64,
    source: &SourceFile,
    span: &Range<usize>,
) -> Result<(), Diagnostic> {
    if schema.setting_type == SettingType::Port {
        if (1..=65535).contains(&number) {
            return Ok(());
        }
        let default = match &schema.default {
            Some(SettingValue::Integer(port)) => format!("; the default is {port}"),
            _ => String::new(),
        };
        return Err(Diagnostic::new(format!(
            "`{}` in [{}] must be a port from 1 to 65535, found {number}",
            schema.key, schema.section
        ))
        .at(source, span)
        .hint(format!("choose a free port from 1 to 65535{default}")));
    }
    let too_small = schema.minimum.is_some_and(|minimum| number < minimum);
    let too_large = schema.maximum.is_some_and(|maximum| number > maximum);
    if !too_small && !too_large {
        return Ok(());
    }
    let default = match &schema.default {
        Some(SettingValue::Integer(value)) => format!("; the default is {value}"),
        _ => String::new(),
    };
    let wanted = schema.describe_type();
    Err(Diagnostic::new(format!(
        "`{}` in [{}] must be {wanted}, found {number}",
        schema.key, schema.section
    ))
    .at(source, span)
    .hint(format!(
        "choose {}{default}",
        wanted.replacen("an integer", "a value", 1)
    )))
}

/// An array: every element a string of the element type (a host name for `hosts`).
fn check_array(
    schema: &SettingSchema,
    items: &[Item<'_>],
    source: &SourceFile,
) -> Result<Vec<String>, Diagnostic> {
    let element_type = match schema.setting_type {
        SettingType::Texts(text_type) => text_type,
        _ => TextType::Identifier,
    };
    let mut out = Vec::with_capacity(items.len());
    for element in items {
        match element.get_ref() {
            DeValue::String(text) => {
                out.push(check_text(
                    schema,
                    element_type,
                    text,
                    source,
                    &element.span(),
                )?);
            }
            other => {
                return Err(Diagnostic::new(format!(
                    "`{}` in [{}] must be {}, but an element is {}",
                    schema.key,
                    schema.section,
                    schema.setting_type.describe(),
                    type_name(other)
                ))
                .at(source, &element.span()));
            }
        }
    }
    Ok(out)
}

/// A size, as `"20GiB"` or a number of bytes.
fn size_of(
    schema: &SettingSchema,
    value: &DeValue<'_>,
    source: &SourceFile,
    span: &Range<usize>,
) -> Result<i64, Diagnostic> {
    let error = |message: String| {
        Diagnostic::new(format!(
            "`{}` in [{}]: {message}",
            schema.key, schema.section
        ))
        .at(source, span)
        .hint("write a number and a unit, such as \"512MiB\", \"20GiB\" or \"1TB\"")
    };
    match value {
        DeValue::String(text) => parse_size(text).map_err(error),
        DeValue::Integer(_) => match integer_of(value) {
            Some(bytes) if bytes >= 0 => Ok(bytes),
            _ => Err(error("a size cannot be negative".to_string())),
        },
        other => Err(error(format!(
            "a size is a string such as \"20GiB\", found {}",
            type_name(other)
        ))),
    }
}

/// Reads `{ env = "NAME" }` or `{ file = "path" }`. Anything else, a plain string above all,
/// is refused: secrets are never written inline.
pub fn secret_reference(
    item: &Item<'_>,
    source: &SourceFile,
    what: &str,
) -> Result<SecretReference, Diagnostic> {
    let refuse = || {
        Diagnostic::new(format!(
            "{what} is a secret and must be a reference, not a value"
        ))
        .at(source, &item.span())
        .hint("write `{ env = \"VARIABLE\" }` or `{ file = \"path/to/file\" }`; secrets are never written in the spec")
    };
    let DeValue::Table(table) = item.get_ref() else {
        return Err(refuse());
    };
    let mut reader = TableReader::new(source, table, item.span(), what.to_string());
    let env = reader.optional_string("env")?;
    let file = reader.optional_string("file")?;
    if let Some(unknown) = reader.unknown_keys().into_iter().next() {
        return Err(unknown);
    }
    match (env, file) {
        (Some(variable), None) if !variable.value.is_empty() => {
            Ok(SecretReference::Env(variable.value))
        }
        (None, Some(path)) if !path.value.is_empty() => Ok(SecretReference::File(path.value)),
        _ => Err(refuse()),
    }
}
