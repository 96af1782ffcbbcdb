//! A module's settings: their types, the schema a manifest declares for each key, and the
//! values a spec gives (checked by `setting_check`).

use std::collections::BTreeMap;
use std::ops::Range;

use crate::diagnostic::Diagnostic;
use crate::module::text_type::TextType;
use crate::toml_reader::{Located, TableReader};

pub use crate::module::setting_check::{check_value, secret_reference};
pub use crate::module::size::parse_size;

/// The type of a setting, which decides how the spec's value is checked and what templates
/// see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingType {
    /// One value given as text, of a type precise enough for where it lands.
    Text(TextType),
    /// An array of such values.
    Texts(TextType),
    /// An integer, within the schema's `min` and `max` where it gives them.
    Integer,
    /// An integer from 1 to 65535.
    Port,
    Boolean,
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
    /// A table of host name to VRRP priority (1-254), each distinct
    /// (`module/host_priorities.rs`).
    HostPriorities,
}

impl SettingType {
    const OTHERS: [(SettingType, &'static str); 9] = [
        (SettingType::Integer, "integer"),
        (SettingType::Port, "port"),
        (SettingType::Boolean, "boolean"),
        (SettingType::Size, "size"),
        (SettingType::PathSizes, "path_sizes"),
        (SettingType::Host, "host"),
        (SettingType::Hosts, "hosts"),
        (SettingType::Secret, "secret"),
        (SettingType::HostPriorities, "host_priorities"),
    ];

    /// Every name a manifest may give as `type`.
    pub fn names() -> Vec<&'static str> {
        let texts = TextType::ALL
            .iter()
            .flat_map(|(_, one, many)| [*one, *many]);
        texts
            .chain(Self::OTHERS.iter().map(|(_, name)| *name))
            .collect()
    }

    pub fn parse(text: &str) -> Option<Self> {
        for (text_type, one, many) in TextType::ALL {
            if text == one {
                return Some(SettingType::Text(text_type));
            }
            if text == many {
                return Some(SettingType::Texts(text_type));
            }
        }
        Self::OTHERS
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(setting_type, _)| *setting_type)
    }

    /// How the README and errors describe the type.
    pub fn describe(self) -> String {
        match self {
            SettingType::Text(text_type) => text_type.describe().to_string(),
            SettingType::Texts(TextType::String) => "an array of strings".to_string(),
            SettingType::Texts(text_type) => format!("an array, each {}", text_type.describe()),
            SettingType::Integer => "an integer".to_string(),
            SettingType::Port => "a port number (1-65535)".to_string(),
            SettingType::Boolean => "a boolean".to_string(),
            SettingType::Size => "a size such as \"20GiB\"".to_string(),
            SettingType::PathSizes => {
                "a table of absolute path to size, such as { \"/var/lib/docker\" = \"20GiB\" }"
                    .to_string()
            }
            SettingType::Host => "the name of a host".to_string(),
            SettingType::Hosts => "an array of host names".to_string(),
            SettingType::Secret => {
                "a secret reference, { env = \"NAME\" } or { file = \"path\" }".to_string()
            }
            SettingType::HostPriorities => "a table of host name to priority (1-254, each distinct), such as { lb1 = 150, lb2 = 100 }".to_string(),
        }
    }

    /// True where no value of the type holds a character a POSIX shell treats specially.
    pub fn is_shell_safe(self) -> bool {
        match self {
            SettingType::Text(text_type) | SettingType::Texts(text_type) => {
                text_type.is_shell_safe()
            }
            SettingType::Integer
            | SettingType::Port
            | SettingType::Boolean
            | SettingType::Size
            | SettingType::Host
            | SettingType::Hosts => true,
            SettingType::PathSizes | SettingType::Secret | SettingType::HostPriorities => false,
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
    /// For `integer`: the least value allowed (`min`).
    pub minimum: Option<i64>,
    /// For `integer`: the greatest value allowed (`max`).
    pub maximum: Option<i64>,
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

    /// The type in words, with an integer's bounds: "an integer from 1 to 255".
    pub fn describe_type(&self) -> String {
        match (self.setting_type, self.minimum, self.maximum) {
            (SettingType::Integer, Some(minimum), Some(maximum)) => {
                format!("an integer from {minimum} to {maximum}")
            }
            (SettingType::Integer, Some(minimum), None) => {
                format!("an integer of at least {minimum}")
            }
            (SettingType::Integer, None, Some(maximum)) => {
                format!("an integer of at most {maximum}")
            }
            (setting_type, _, _) => setting_type.describe(),
        }
    }
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
                SettingType::names(),
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
    let minimum = reader
        .optional_integer("min", i64::MIN, i64::MAX)?
        .map(|located| located.value);
    let maximum = reader
        .optional_integer("max", i64::MIN, i64::MAX)?
        .map(|located| located.value);
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
        minimum,
        maximum,
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
