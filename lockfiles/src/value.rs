use std::collections::BTreeMap;

use crate::content::Text;

/// A node input value. Tables are `BTreeMap`s so that encoding and writing are ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    String(String),
    Integer(i64),
    Bool(bool),
    List(Vec<Value>),
    Table(BTreeMap<String, Value>),
    /// Rendered text, stored once in the lockfile's content table and referenced by hash.
    Text(Text),
    /// A reference to a secret by name; its value never enters the lockfile, its keyed
    /// fingerprint does (through the id).
    Secret(String),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Integer(_) => "integer",
            Value::Bool(_) => "boolean",
            Value::List(_) => "array",
            Value::Table(_) => "table",
            Value::Text(_) => "text",
            Value::Secret(_) => "secret",
        }
    }

    pub fn strings(items: &[String]) -> Value {
        Value::List(items.iter().cloned().map(Value::String).collect())
    }

    pub fn string_table(items: &BTreeMap<String, String>) -> Value {
        Value::Table(
            items
                .iter()
                .map(|(key, value)| (key.clone(), Value::String(value.clone())))
                .collect(),
        )
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::String(text.to_string())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::String(text)
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Self {
        Value::Integer(number)
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Self {
        Value::Bool(flag)
    }
}
