use std::collections::BTreeMap;
use std::ops::Range;

use toml::de::DeValue;

use crate::diagnostic::Diagnostic;
use crate::source_file::SourceFile;
use crate::toml_reader::{Item, Located, TableReader, integer_of, type_name};

/// The type of a setting, which decides how the spec's value is checked and what templates
/// see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingType {
    String,
    Integer,
    /// An integer from 1 to 65535.
    Port,
    Boolean,
    /// An array of strings.
    Strings,
    /// An absolute path.
    Path,
    /// An array of absolute paths.
    Paths,
    /// A size such as `"20GiB"`; templates see bytes.
    Size,
    /// A table of absolute path to size; templates see a table of path to bytes.
    PathSizes,
    /// The name of a host of the spec, optionally required to have a role.
    Host,
    /// Names of hosts of the spec.
    Hosts,
    /// A secret reference, `{ env = "NAME" }` or `{ file = "path" }`.
    Secret,
    /// An `http://` or `https://` URL.
    Url,
    /// A sha256 checksum: 64 lowercase hex digits, as `sha256sum` prints them.
    Sha256,
    /// A table of host name to VRRP priority (1-254), each distinct
    /// (`module/host_priorities.rs`).
    HostPriorities,
}

impl SettingType {
    pub const NAMES: [&'static str; 15] = [
        "string",
        "integer",
        "port",
        "boolean",
        "strings",
        "path",
        "paths",
        "size",
        "path_sizes",
        "host",
        "hosts",
        "secret",
        "url",
        "sha256",
        "host_priorities",
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "string" => SettingType::String,
            "integer" => SettingType::Integer,
            "port" => SettingType::Port,
            "boolean" => SettingType::Boolean,
            "strings" => SettingType::Strings,
            "path" => SettingType::Path,
            "paths" => SettingType::Paths,
            "size" => SettingType::Size,
            "path_sizes" => SettingType::PathSizes,
            "host" => SettingType::Host,
            "hosts" => SettingType::Hosts,
            "secret" => SettingType::Secret,
            "url" => SettingType::Url,
            "sha256" => SettingType::Sha256,
            "host_priorities" => SettingType::HostPriorities,
            _ => return None,
        })
    }

    /// How the README and errors describe the type.
    pub fn describe(self) -> &'static str {
        match self {
            SettingType::String => "a string",
            SettingType::Integer => "an integer",
            SettingType::Port => "a port number (1-65535)",
            SettingType::Boolean => "a boolean",
            SettingType::Strings => "an array of strings",
            SettingType::Path => "an absolute path",
            SettingType::Paths => "an array of absolute paths",
            SettingType::Size => "a size such as \"20GiB\"",
            SettingType::PathSizes => {
                "a table of absolute path to size, such as { \"/var/lib/docker\" = \"20GiB\" }"
            }
            SettingType::Host => "the name of a host",
            SettingType::Hosts => "an array of host names",
            SettingType::Secret => "a secret reference, { env = \"NAME\" } or { file = \"path\" }",
            SettingType::Url => "an http:// or https:// URL",
            SettingType::Sha256 => "a sha256 checksum (64 lowercase hex digits)",
            SettingType::HostPriorities => {
                "a table of host name to priority (1-254, each distinct), such as { lb1 = 150, lb2 = 100 }"
            }
        }
    }
}

/// A checked setting value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingValue {
    String(String),
    Integer(i64),
    Boolean(bool),
    Strings(Vec<String>),
    PathSizes(BTreeMap<String, i64>),
    /// Host name to integer.
    HostIntegers(BTreeMap<String, i64>),
    /// The secret's name, `section.key`; its reference is in the spec's secret table.
    Secret(String),
}

/// A reference to a secret, as the spec gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretReference {
    Env(String),
    File(String),
}

/// One key a module accepts in a section of the spec.
#[derive(Debug, Clone)]
pub struct SettingSchema {
    pub section: String,
    pub key: String,
    pub setting_type: SettingType,
    pub default: Option<SettingValue>,
    pub choices: Vec<String>,
    /// For `host` and `hosts`: the role every named host must have.
    pub role: Option<String>,
    /// For `string` and `secret`: the most characters the value may have.
    pub max_length: Option<usize>,
    /// Without a default, the key may still be left out (`optional = true`): templates
    /// then find it undefined (`section.key is defined` tells). How an optional secret, which
    /// can have no default, is declared.
    pub optional: bool,
    /// Keys of the same section that must be given whenever this one is (a TLS key and its
    /// certificate).
    pub requires: Vec<Located<String>>,
    pub doc: String,
    /// Where the module declares it.
    pub span: Range<usize>,
}

impl SettingSchema {
    /// Without a default, the key must be given wherever the module runs, unless it is
    /// declared optional.
    pub fn is_required(&self) -> bool {
        self.default.is_none() && !self.optional
    }
}

/// Checks a value of the spec against its setting's type. A secret comes back as its
/// reference, for the caller to record.
pub fn check_value(
    schema: &SettingSchema,
    item: &Item<'_>,
    source: &SourceFile,
) -> Result<(SettingValue, Option<SecretReference>), Diagnostic> {
    let span = item.span();
    let wrong = || {
        Diagnostic::new(format!(
            "`{}` in [{}] must be {}, found {}",
            schema.key,
            schema.section,
            schema.setting_type.describe(),
            type_name(item.get_ref())
        ))
        .at(source, &span)
        .maybe_hint(crate::toml_reader::type_hint(
            &schema.key,
            schema.setting_type.describe(),
            item.get_ref(),
        ))
    };
    let value = item.get_ref();
    let checked = match schema.setting_type {
        SettingType::String | SettingType::Host => match value {
            DeValue::String(text) => SettingValue::String(text.to_string()),
            _ => return Err(wrong()),
        },
        SettingType::Url => match value {
            DeValue::String(text)
                if text.starts_with("http://") || text.starts_with("https://") =>
            {
                SettingValue::String(text.to_string())
            }
            DeValue::String(text) => {
                return Err(Diagnostic::new(format!(
                    "`{}` in [{}] must be an http:// or https:// URL, found `{text}`",
                    schema.key, schema.section
                ))
                .at(source, &span)
                .hint("write the whole address, such as \"http://10.0.0.5:8080/artifacts/file.tar.gz\""));
            }
            _ => return Err(wrong()),
        },
        SettingType::Sha256 => match value {
            DeValue::String(text)
                if text.len() == 64
                    && text
                        .bytes()
                        .all(|digit| digit.is_ascii_digit() || (b'a'..=b'f').contains(&digit)) =>
            {
                SettingValue::String(text.to_string())
            }
            DeValue::String(text) => {
                return Err(Diagnostic::new(format!(
                    "`{}` in [{}] must be a sha256 checksum of 64 lowercase hex digits, found `{text}`",
                    schema.key, schema.section
                ))
                .at(source, &span)
                .hint("write the checksum as `sha256sum FILE` prints it"));
            }
            _ => return Err(wrong()),
        },
        SettingType::Path => match value {
            DeValue::String(text) if text.starts_with('/') => {
                SettingValue::String(text.to_string())
            }
            DeValue::String(text) => {
                return Err(Diagnostic::new(format!(
                    "`{}` in [{}] must be an absolute path, found `{text}`",
                    schema.key, schema.section
                ))
                .at(source, &span)
                .hint("write the full path, starting with `/`"));
            }
            _ => return Err(wrong()),
        },
        SettingType::Integer | SettingType::Port => {
            let Some(number) = integer_of(value) else {
                return Err(wrong());
            };
            if schema.setting_type == SettingType::Port && !(1..=65535).contains(&number) {
                let default = match &schema.default {
                    Some(SettingValue::Integer(port)) => format!("; the default is {port}"),
                    _ => String::new(),
                };
                return Err(Diagnostic::new(format!(
                    "`{}` in [{}] must be a port from 1 to 65535, found {number}",
                    schema.key, schema.section
                ))
                .at(source, &span)
                .hint(format!("choose a free port from 1 to 65535{default}")));
            }
            SettingValue::Integer(number)
        }
        SettingType::Boolean => match value {
            DeValue::Boolean(flag) => SettingValue::Boolean(*flag),
            _ => return Err(wrong()),
        },
        SettingType::Strings | SettingType::Hosts | SettingType::Paths => match value {
            DeValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for element in items.iter() {
                    match element.get_ref() {
                        DeValue::String(text)
                            if schema.setting_type == SettingType::Paths
                                && !text.starts_with('/') =>
                        {
                            return Err(Diagnostic::new(format!(
                                "`{}` in [{}] must hold absolute paths, found `{text}`",
                                schema.key, schema.section
                            ))
                            .at(source, &element.span())
                            .hint("write the full path, starting with `/`"));
                        }
                        DeValue::String(text) => out.push(text.to_string()),
                        _ => {
                            return Err(Diagnostic::new(format!(
                                "`{}` in [{}] must be {}, but an element is {}",
                                schema.key,
                                schema.section,
                                schema.setting_type.describe(),
                                type_name(element.get_ref())
                            ))
                            .at(source, &element.span()));
                        }
                    }
                }
                SettingValue::Strings(out)
            }
            _ => return Err(wrong()),
        },
        SettingType::Size => match value {
            DeValue::String(text) => SettingValue::Integer(
                parse_size(text).map_err(|message| size_error(schema, source, &span, message))?,
            ),
            DeValue::Integer(_) => match integer_of(value) {
                Some(bytes) if bytes >= 0 => SettingValue::Integer(bytes),
                _ => {
                    return Err(size_error(
                        schema,
                        source,
                        &span,
                        "a size cannot be negative".to_string(),
                    ));
                }
            },
            _ => return Err(wrong()),
        },
        SettingType::PathSizes => match value {
            DeValue::Table(table) => {
                let mut out = BTreeMap::new();
                for (path, size) in table.iter() {
                    let path_text = path.get_ref().to_string();
                    if !path_text.starts_with('/') {
                        return Err(Diagnostic::new(format!(
                            "`{path_text}` in `{}` of [{}] is not an absolute path",
                            schema.key, schema.section
                        ))
                        .at(source, &path.span()));
                    }
                    let bytes = match size.get_ref() {
                        DeValue::String(text) => parse_size(text)
                            .map_err(|message| size_error(schema, source, &size.span(), message))?,
                        DeValue::Integer(_) => match integer_of(size.get_ref()) {
                            Some(bytes) if bytes >= 0 => bytes,
                            _ => {
                                return Err(size_error(
                                    schema,
                                    source,
                                    &size.span(),
                                    "a size cannot be negative".to_string(),
                                ));
                            }
                        },
                        other => {
                            return Err(Diagnostic::new(format!(
                                "the size for `{path_text}` must be a string such as \"20GiB\", found {}",
                                type_name(other)
                            ))
                            .at(source, &size.span()));
                        }
                    };
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
    if let (Some(maximum), SettingValue::String(text)) = (schema.max_length, &checked)
        && text.chars().count() > maximum
    {
        return Err(Diagnostic::new(format!(
            "`{}` in [{}] may have at most {maximum} characters, found {}",
            schema.key,
            schema.section,
            text.chars().count()
        ))
        .at(source, &span));
    }
    if !schema.choices.is_empty()
        && let SettingValue::String(text) = &checked
        && !schema.choices.contains(text)
    {
        return Err(Diagnostic::new(format!(
            "`{}` in [{}] must be one of {}, found `{text}`",
            schema.key,
            schema.section,
            crate::suggest::backticked(schema.choices.iter().map(String::as_str))
        ))
        .at(source, &span)
        .maybe_hint(
            crate::suggest::nearest(text, schema.choices.iter().map(String::as_str))
                .map(|best| format!("did you mean `{best}`?")),
        ));
    }
    Ok((checked, None))
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

fn size_error(
    schema: &SettingSchema,
    source: &SourceFile,
    span: &Range<usize>,
    message: String,
) -> Diagnostic {
    Diagnostic::new(format!(
        "`{}` in [{}]: {message}",
        schema.key, schema.section
    ))
    .at(source, span)
    .hint("write a number and a unit, such as \"512MiB\", \"20GiB\" or \"1TB\"")
}

/// Parses `"20GiB"`, `"512 MB"`, `"1024"` (bytes) into bytes.
pub fn parse_size(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let number: i64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size"))?;
    let multiplier: i64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        other => return Err(format!("`{other}` is not a size unit")),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Reads a setting's declaration in a module manifest: `[settings.<section>.<key>]`.
pub fn read_schema(
    section: &str,
    key: &Located<String>,
    reader: &mut TableReader<'_, '_>,
) -> Result<SettingSchema, Diagnostic> {
    let type_text = reader.string("type", "\"string\"")?;
    let setting_type = SettingType::parse(&type_text.value).ok_or_else(|| {
        reader
            .error(
                &type_text.span,
                format!("unknown setting type `{}`", type_text.value),
            )
            .maybe_hint(crate::suggest::did_you_mean(
                &type_text.value,
                SettingType::NAMES,
            ))
    })?;
    let doc = reader.string("doc", "\"what this setting does\"")?.value;
    let choices = reader
        .string_array("choices")?
        .map(|located| located.value.into_iter().map(|item| item.value).collect())
        .unwrap_or_default();
    let role = reader.optional_string("role")?.map(|located| located.value);
    let max_length = reader
        .optional_integer("max_length", 1, i64::from(u32::MAX))?
        .map(|located| located.value as usize);
    let optional = reader.optional_bool("optional")?;
    let requires = reader
        .string_array("requires")?
        .map(|located| located.value)
        .unwrap_or_default();
    let source = reader.source;
    let mut schema = SettingSchema {
        section: section.to_string(),
        key: key.value.clone(),
        setting_type,
        default: None,
        choices,
        role,
        max_length,
        optional: optional.as_ref().is_some_and(|located| located.value),
        requires,
        doc,
        span: key.span.clone(),
    };
    if let Some(default) = reader.get("default") {
        if let Some(optional) = optional {
            return Err(reader
                .error(
                    &optional.span,
                    "a setting with a default is optional already",
                )
                .hint("remove `optional`: `optional = true` is for a setting without a default"));
        }
        let (value, _) = check_value(&schema, default, source)?;
        schema.default = Some(value);
    }
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("20GiB"), Ok(20 << 30));
        assert_eq!(parse_size("512 MB"), Ok(512_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("20 parsecs").is_err());
    }
}
