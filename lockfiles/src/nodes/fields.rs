use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use crate::content::{ContentHash, ContentTable, Text};
use crate::nodes::pin_set::PinSets;
use crate::value::Value;

/// Where the text fields of a node come from while it is read.
#[derive(Debug, Clone, Copy)]
pub enum TextSource<'a> {
    /// Text fields hold the text itself (the compiler's rendered nodes).
    Inline,
    /// Text fields hold a content hash to look up (a lockfile).
    Table(&'a ContentTable),
}

/// Why the fields of a node do not make a node of its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    Missing {
        field: String,
    },
    Unknown {
        field: String,
        expected: Vec<&'static str>,
    },
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    Invalid {
        field: String,
        message: String,
    },
}

impl FieldError {
    /// The field the error is about, to point at it.
    pub fn field(&self) -> &str {
        match self {
            FieldError::Missing { field }
            | FieldError::Unknown { field, .. }
            | FieldError::WrongType { field, .. }
            | FieldError::Invalid { field, .. } => field,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::Missing { field } => write!(formatter, "missing field `{field}`"),
            FieldError::Unknown { field, expected } => write!(
                formatter,
                "unknown field `{field}`; expected one of {}",
                expected
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            FieldError::WrongType {
                field,
                expected,
                found,
            } => write!(
                formatter,
                "field `{field}` must be {expected}, found {found}"
            ),
            FieldError::Invalid { field, message } => {
                write!(formatter, "field `{field}`: {message}")
            }
        }
    }
}

impl std::error::Error for FieldError {}

/// Takes the fields of one node, typed, and refuses fields nobody took.
#[derive(Debug)]
pub struct FieldReader<'a> {
    /// The fields not taken yet, each key once, in no particular order: a node has a
    /// handful, so a search through them beats a map.
    fields: Vec<(Cow<'a, str>, Value)>,
    texts: TextSource<'a>,
    /// The pin sets a package node may name by hash: a lockfile's `[package_pins]` tables.
    pin_sets: Option<&'a PinSets>,
    /// The fields asked for, which the error refusing any other lists.
    known: Vec<&'static str>,
}

impl<'a> FieldReader<'a> {
    pub fn new(fields: BTreeMap<String, Value>, texts: TextSource<'a>) -> Self {
        Self::from_entries(
            fields
                .into_iter()
                .map(|(key, value)| (Cow::Owned(key), value))
                .collect(),
            texts,
        )
    }

    /// A reader of fields whose keys are all different, as a lockfile's reader has them.
    pub(crate) fn from_entries(fields: Vec<(Cow<'a, str>, Value)>, texts: TextSource<'a>) -> Self {
        debug_assert!(
            fields
                .iter()
                .enumerate()
                .all(|(index, (key, _))| fields[..index].iter().all(|(other, _)| other != key))
        );
        Self {
            fields,
            texts,
            pin_sets: None,
            known: Vec::with_capacity(16),
        }
    }

    /// The reader, resolving a package node's `pins = "HASH"` in `pin_sets`.
    pub(crate) fn with_pin_sets(mut self, pin_sets: &'a PinSets) -> Self {
        self.pin_sets = Some(pin_sets);
        self
    }

    /// The pin sets given by [`FieldReader::with_pin_sets`].
    pub(crate) fn pin_sets(&self) -> Option<&'a PinSets> {
        self.pin_sets
    }

    /// A field's value, left for whoever takes it: to choose how to read it.
    pub(crate) fn peek(&self, field: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(key, _)| key == field)
            .map(|(_, value)| value)
    }

    fn take(&mut self, field: &'static str) -> Option<Value> {
        self.known.push(field);
        let index = self.fields.iter().position(|(key, _)| key == field)?;
        Some(self.fields.swap_remove(index).1)
    }

    fn wrong_type(field: &str, expected: &'static str, found: &Value) -> FieldError {
        FieldError::WrongType {
            field: field.to_string(),
            expected,
            found: found.type_name(),
        }
    }

    pub fn string(&mut self, field: &'static str) -> Result<String, FieldError> {
        self.optional_string(field)?
            .ok_or_else(|| FieldError::Missing {
                field: field.to_string(),
            })
    }

    pub fn optional_string(&mut self, field: &'static str) -> Result<Option<String>, FieldError> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(Self::wrong_type(field, "a string", &other)),
        }
    }

    /// A list of strings; absent means empty.
    pub fn strings(&mut self, field: &'static str) -> Result<Vec<String>, FieldError> {
        match self.take(field) {
            None => Ok(Vec::new()),
            Some(Value::List(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text),
                    other => Err(Self::wrong_type(field, "an array of strings", &other)),
                })
                .collect(),
            Some(other) => Err(Self::wrong_type(field, "an array of strings", &other)),
        }
    }

    pub fn integer<T: TryFrom<i64>>(&mut self, field: &'static str) -> Result<T, FieldError> {
        self.optional_integer(field)?
            .ok_or_else(|| FieldError::Missing {
                field: field.to_string(),
            })
    }

    pub fn optional_integer<T: TryFrom<i64>>(
        &mut self,
        field: &'static str,
    ) -> Result<Option<T>, FieldError> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::Integer(number)) => {
                T::try_from(number)
                    .map(Some)
                    .map_err(|_| FieldError::Invalid {
                        field: field.to_string(),
                        message: format!("{number} is out of range"),
                    })
            }
            Some(Value::String(text)) if text.parse::<i64>().is_ok() => {
                let number = text.parse::<i64>().unwrap_or_default();
                T::try_from(number)
                    .map(Some)
                    .map_err(|_| FieldError::Invalid {
                        field: field.to_string(),
                        message: format!("{number} is out of range"),
                    })
            }
            Some(other) => Err(Self::wrong_type(field, "an integer", &other)),
        }
    }

    pub fn bool_or(&mut self, field: &'static str, default: bool) -> Result<bool, FieldError> {
        match self.take(field) {
            None => Ok(default),
            Some(Value::Bool(flag)) => Ok(flag),
            Some(Value::String(text)) if text == "true" || text == "false" => Ok(text == "true"),
            Some(other) => Err(Self::wrong_type(field, "a boolean", &other)),
        }
    }

    pub fn text(&mut self, field: &'static str) -> Result<Text, FieldError> {
        let value = self.take(field).ok_or_else(|| FieldError::Missing {
            field: field.to_string(),
        })?;
        resolve_text(field, value, self.texts)
    }

    pub fn string_table(
        &mut self,
        field: &'static str,
    ) -> Result<BTreeMap<String, String>, FieldError> {
        match self.take(field) {
            None => Ok(BTreeMap::new()),
            Some(Value::Table(entries)) => entries
                .into_iter()
                .map(|(key, item)| match item {
                    Value::String(text) => Ok((key, text)),
                    Value::Integer(number) => Ok((key, number.to_string())),
                    other => Err(Self::wrong_type(field, "a table of strings", &other)),
                })
                .collect(),
            Some(other) => Err(Self::wrong_type(field, "a table of strings", &other)),
        }
    }

    /// A list of tables, each read by `read_item` with a reader of its own.
    pub fn tables<T>(
        &mut self,
        field: &'static str,
        mut read_item: impl FnMut(&mut FieldReader<'a>) -> Result<T, FieldError>,
    ) -> Result<Vec<T>, FieldError> {
        let items = match self.take(field) {
            None => return Ok(Vec::new()),
            Some(Value::List(items)) => items,
            Some(other) => return Err(Self::wrong_type(field, "an array of tables", &other)),
        };
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let Value::Table(entries) = item else {
                return Err(Self::wrong_type(field, "an array of tables", &item));
            };
            let mut reader = FieldReader::new(entries, self.texts);
            let parsed = read_item(&mut reader)
                .and_then(|parsed| reader.finish().map(|()| parsed))
                .map_err(|error| FieldError::Invalid {
                    field: field.to_string(),
                    message: format!("item {}: {error}", index + 1),
                })?;
            out.push(parsed);
        }
        Ok(out)
    }

    /// A table, read by `read_table` with a reader of its own; `None` when absent.
    pub fn optional_table<T>(
        &mut self,
        field: &'static str,
        read_table: impl FnOnce(&mut FieldReader<'a>) -> Result<T, FieldError>,
    ) -> Result<Option<T>, FieldError> {
        let entries = match self.take(field) {
            None => return Ok(None),
            Some(Value::Table(entries)) => entries,
            Some(other) => return Err(Self::wrong_type(field, "a table", &other)),
        };
        let mut reader = FieldReader::new(entries, self.texts);
        read_table(&mut reader)
            .and_then(|parsed| reader.finish().map(|()| parsed))
            .map(Some)
            .map_err(|error| FieldError::Invalid {
                field: field.to_string(),
                message: error.to_string(),
            })
    }

    /// The raw value of a field whose shape the caller checks.
    pub fn raw(&mut self, field: &'static str) -> Option<Value> {
        self.take(field)
    }

    /// Refuses every field nobody took, naming the first by name.
    pub fn finish(self) -> Result<(), FieldError> {
        match self.fields.into_iter().map(|(key, _)| key).min() {
            None => Ok(()),
            Some(field) => {
                let mut expected = self.known;
                expected.sort_unstable();
                expected.dedup();
                Err(FieldError::Unknown {
                    field: field.into_owned(),
                    expected,
                })
            }
        }
    }
}

fn resolve_text(field: &str, value: Value, texts: TextSource<'_>) -> Result<Text, FieldError> {
    match (value, texts) {
        (Value::Text(text), _) => Ok(text),
        (Value::String(body), TextSource::Inline) => Ok(Text::new(body)),
        (Value::String(reference), TextSource::Table(table)) => {
            let hash = reference
                .parse::<ContentHash>()
                .map_err(|message| FieldError::Invalid {
                    field: field.to_string(),
                    message,
                })?;
            table
                .get(&hash)
                .cloned()
                .ok_or_else(|| FieldError::Invalid {
                    field: field.to_string(),
                    message: format!("content {hash} is not in the [content] table"),
                })
        }
        (other, _) => Err(FieldReader::wrong_type(field, "text", &other)),
    }
}

/// Parses a file mode written as octal digits, `"0644"` or `"755"`.
pub fn parse_mode(field: &str, text: &str) -> Result<u32, FieldError> {
    let valid =
        (3..=4).contains(&text.len()) && text.bytes().all(|digit| (b'0'..=b'7').contains(&digit));
    if !valid {
        return Err(FieldError::Invalid {
            field: field.to_string(),
            message: format!(
                "`{text}` is not a file mode; write it as octal digits, like \"0644\""
            ),
        });
    }
    u32::from_str_radix(text, 8).map_err(|error| FieldError::Invalid {
        field: field.to_string(),
        message: error.to_string(),
    })
}

pub fn format_mode(mode: u32) -> String {
    format!("{mode:04o}")
}
