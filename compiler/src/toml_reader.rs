//! Reading a parsed TOML document with every value's span, so each error names file, line
//! and column, and an unknown key comes with the nearest valid one as a hint.

use std::collections::BTreeSet;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::Diagnostic;
use crate::source_file::SourceFile;
use crate::suggest::did_you_mean;

/// A value and the span of the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub span: Range<usize>,
}

impl<T> Located<T> {
    pub fn new(value: T, span: Range<usize>) -> Self {
        Self { value, span }
    }
}

pub type Table<'i> = DeTable<'i>;
pub type Item<'i> = Spanned<DeValue<'i>>;

/// Parses a TOML document, or says where its syntax is wrong.
pub fn parse_document<'i>(source: &'i SourceFile) -> Result<Spanned<Table<'i>>, Diagnostic> {
    DeTable::parse(&source.text).map_err(|error| {
        let span = error.span().unwrap_or(0..0);
        let message = error.message().trim().to_string();
        Diagnostic::new(format!("TOML syntax error: {message}"))
            .at(source, &span)
            .hint(
                "see https://toml.io for the syntax; strings need quotes, tables `[name]` headers",
            )
    })
}

pub fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// How to write `key` with the expected type, from what was written.
pub fn type_hint(key: &str, expected: &str, found: &DeValue<'_>) -> Option<String> {
    let found_text = match found {
        DeValue::String(text) => Some(text.to_string()),
        DeValue::Integer(integer) => Some(integer.as_str().to_string()),
        DeValue::Boolean(flag) => Some(flag.to_string()),
        _ => None,
    };
    if expected.starts_with("an integer") || expected.starts_with("a port") {
        return Some(match found {
            DeValue::String(text) if text.trim().parse::<i64>().is_ok() => {
                format!("write the number without quotes: `{key} = {}`", text.trim())
            }
            _ => format!("write a number: `{key} = 22`"),
        });
    }
    if expected.starts_with("a boolean") {
        return Some(format!(
            "write `{key} = true` or `{key} = false`, without quotes"
        ));
    }
    if expected.starts_with("an array") {
        let element = found_text.unwrap_or_else(|| "value".to_string());
        return Some(format!("write an array: `{key} = [\"{element}\"]`"));
    }
    if expected.starts_with("a table") {
        return Some(format!(
            "write a table: `{key} = {{ ... }}` or a `[...{key}]` header"
        ));
    }
    if expected.starts_with("a string")
        || expected.starts_with("an absolute path")
        || expected.starts_with("the name")
    {
        let text = found_text.unwrap_or_else(|| "value".to_string());
        return Some(format!("write it in quotes: `{key} = \"{text}\"`"));
    }
    None
}

pub fn integer_of(value: &DeValue<'_>) -> Option<i64> {
    match value {
        DeValue::Integer(integer) => {
            i64::from_str_radix(&integer.as_str().replace('_', ""), integer.radix()).ok()
        }
        _ => None,
    }
}

/// Reads the keys of one table, remembers which keys are valid, and reports the others.
#[derive(Debug)]
pub struct TableReader<'t, 'i> {
    pub source: &'t SourceFile,
    pub table: &'t Table<'i>,
    pub span: Range<usize>,
    /// How errors name the table: `[hosts.node1]`.
    pub context: String,
    known: BTreeSet<&'t str>,
}

impl<'t, 'i> TableReader<'t, 'i> {
    pub fn new(
        source: &'t SourceFile,
        table: &'t Table<'i>,
        span: Range<usize>,
        context: impl Into<String>,
    ) -> Self {
        Self {
            source,
            table,
            span,
            context: context.into(),
            known: BTreeSet::new(),
        }
    }

    /// Marks `key` valid and returns its value, if present.
    pub fn get(&mut self, key: &'t str) -> Option<&'t Item<'i>> {
        self.known.insert(key);
        self.table.get(key)
    }

    pub fn error(&self, span: &Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(message).at(self.source, span)
    }

    pub fn wrong_type(&self, key: &str, item: &Item<'_>, expected: &str) -> Diagnostic {
        self.error(
            &item.span(),
            format!(
                "`{key}` in {} must be {expected}, found {}",
                self.context,
                type_name(item.get_ref())
            ),
        )
        .maybe_hint(type_hint(key, expected, item.get_ref()))
    }

    pub fn missing(&self, key: &str, example: &str) -> Diagnostic {
        self.error(
            &self.header_span(),
            format!("{} is missing the required key `{key}`", self.context),
        )
        .hint(format!("add `{key} = {example}`"))
    }

    /// The span of the table's header line, or the table itself.
    pub fn header_span(&self) -> Range<usize> {
        let start = self.span.start;
        let text = &self.source.text[start.min(self.source.text.len())..];
        let end = start + text.find('\n').unwrap_or(text.len());
        start..end
    }

    pub fn optional_string(&mut self, key: &'t str) -> Result<Option<Located<String>>, Diagnostic> {
        match self.get(key) {
            None => Ok(None),
            Some(item) => match item.get_ref() {
                DeValue::String(text) => Ok(Some(Located::new(text.to_string(), item.span()))),
                _ => Err(self.wrong_type(key, item, "a string")),
            },
        }
    }

    pub fn optional_bool(&mut self, key: &'t str) -> Result<Option<Located<bool>>, Diagnostic> {
        match self.get(key) {
            None => Ok(None),
            Some(item) => match item.get_ref() {
                DeValue::Boolean(value) => Ok(Some(Located::new(*value, item.span()))),
                _ => Err(self.wrong_type(key, item, "a boolean")),
            },
        }
    }

    pub fn string(&mut self, key: &'t str, example: &str) -> Result<Located<String>, Diagnostic> {
        self.optional_string(key)?
            .ok_or_else(|| self.missing(key, example))
    }

    pub fn optional_integer(
        &mut self,
        key: &'t str,
        minimum: i64,
        maximum: i64,
    ) -> Result<Option<Located<i64>>, Diagnostic> {
        let Some(item) = self.get(key) else {
            return Ok(None);
        };
        let Some(number) = integer_of(item.get_ref()) else {
            return Err(self.wrong_type(key, item, "an integer"));
        };
        if !(minimum..=maximum).contains(&number) {
            return Err(self
                .error(
                    &item.span(),
                    format!(
                        "`{key}` in {} must be between {minimum} and {maximum}, found {number}",
                        self.context
                    ),
                )
                .hint(format!("choose a value from {minimum} to {maximum}")));
        }
        Ok(Some(Located::new(number, item.span())))
    }

    pub fn string_array(
        &mut self,
        key: &'t str,
    ) -> Result<Option<Located<Vec<Located<String>>>>, Diagnostic> {
        let Some(item) = self.get(key) else {
            return Ok(None);
        };
        let DeValue::Array(items) = item.get_ref() else {
            return Err(self.wrong_type(key, item, "an array of strings"));
        };
        let mut out = Vec::with_capacity(items.len());
        for element in items.iter() {
            match element.get_ref() {
                DeValue::String(text) => out.push(Located::new(text.to_string(), element.span())),
                _ => return Err(self.wrong_type(key, element, "a string")),
            }
        }
        Ok(Some(Located::new(out, item.span())))
    }

    pub fn optional_table(
        &mut self,
        key: &'t str,
    ) -> Result<Option<(&'t Table<'i>, Range<usize>)>, Diagnostic> {
        match self.get(key) {
            None => Ok(None),
            Some(item) => match item.get_ref() {
                DeValue::Table(table) => Ok(Some((table, item.span()))),
                _ => Err(self.wrong_type(key, item, "a table")),
            },
        }
    }

    /// One diagnostic per key that no `get` asked for, with the nearest valid key as a hint.
    pub fn unknown_keys(&self) -> Vec<Diagnostic> {
        self.table
            .iter()
            .filter(|(key, _)| !self.known.contains(key.get_ref().as_ref()))
            .map(|(key, _)| {
                let name = key.get_ref().as_ref();
                self.error(
                    &key.span(),
                    format!("unknown key `{name}` in {}", self.context),
                )
                .maybe_hint(did_you_mean(name, self.known.iter().copied()))
            })
            .collect()
    }
}
