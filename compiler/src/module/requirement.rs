use crate::diagnostic::Diagnostic;
use crate::source_file::SourceFile;
use crate::toml_reader::{Item, Located, TableReader};

/// A condition a module sets on the whole cluster, checked at compile wherever the module
/// runs: `[[require]] that = "expression", message = "template"`. Consul's servers must be
/// 1, 3 or 5; a requirement the spec breaks is an error with the message, rendered.
/// `setting = "section.key"` names the setting the condition is about: the error is then
/// reported at the spec's line for it, where the spec gives it.
#[derive(Debug, Clone)]
pub struct Requirement {
    /// An expression of the cluster's context (`roles`, `hosts`, the settings).
    pub that: Located<String>,
    /// A template of the same context, saying what is wrong and how to mend it.
    pub message: Located<String>,
    /// The setting it checks, as `(section, key)`.
    pub setting: Option<Located<(String, String)>>,
}

pub fn read_requirement(
    source: &SourceFile,
    item: &Item<'_>,
    context: &str,
) -> Result<Requirement, Vec<Diagnostic>> {
    let toml::de::DeValue::Table(table) = item.get_ref() else {
        return Err(vec![
            Diagnostic::new(format!("{context} must be a table"))
                .at(source, &item.span())
                .hint("write [[require]] with `that` and `message`"),
        ]);
    };
    let mut reader = TableReader::new(source, table, item.span(), context.to_string());
    let that = reader.string("that", "that = \"roles.master | length in [1, 3, 5]\"");
    let message = reader.string("message", "message = \"what is wrong, and the fix\"");
    let setting = reader.optional_string("setting").and_then(|setting| {
        setting
            .map(|located| split_setting(&reader, located))
            .transpose()
    });
    let mut diagnostics = reader.unknown_keys();
    match (that, message, setting) {
        (Ok(that), Ok(message), Ok(setting)) if diagnostics.is_empty() => Ok(Requirement {
            that,
            message,
            setting,
        }),
        (that, message, setting) => {
            diagnostics.extend(that.err());
            diagnostics.extend(message.err());
            diagnostics.extend(setting.err());
            Err(diagnostics)
        }
    }
}

/// `"section.key"` as its two parts.
fn split_setting(
    reader: &TableReader<'_, '_>,
    located: Located<String>,
) -> Result<Located<(String, String)>, Diagnostic> {
    match located.value.split_once('.') {
        Some((section, key)) if !section.is_empty() && !key.is_empty() => Ok(Located::new(
            (section.to_string(), key.to_string()),
            located.span,
        )),
        _ => Err(reader
            .error(
                &located.span,
                format!("`setting` must be `section.key`, found `{}`", located.value),
            )
            .hint("name the setting the condition is about, such as \"keepalived.vip\"")),
    }
}
