//! What a node stands for in the operator's terms, for the error when two modules want the
//! same thing on one host: `claim = { what = "port {{ marathon.http_port }}", by =
//! "Marathon", setting = "marathon.http_port" }` on a `port-free` check. All three are
//! templates of the node's context (`item` too), rendered only for that error; none is a
//! field of the node, so a claim changes no id.

use toml::de::DeValue;

use crate::diagnostic::Diagnostic;
use crate::source_file::SourceFile;
use crate::toml_reader::{Item, Located, TableReader};

#[derive(Debug, Clone)]
pub struct Claim {
    /// What is wanted, such as "port 8080".
    pub what: Located<String>,
    /// Who wants it, such as "HAProxy's `marathon` frontend".
    pub by: Located<String>,
    /// The setting that decides it, `section.key`; the element of a list setting when the
    /// node is declared `for_each` over that same setting.
    pub setting: Option<Located<String>>,
}

pub fn read_claim(source: &SourceFile, item: &Item<'_>) -> Result<Claim, Diagnostic> {
    let DeValue::Table(table) = item.get_ref() else {
        return Err(Diagnostic::new("`claim` must be a table")
            .at(source, &item.span())
            .hint("write claim = { what = \"port {{ my.port }}\", by = \"My service\", setting = \"my.port\" }"));
    };
    let mut reader = TableReader::new(source, table, item.span(), "`claim`".to_string());
    let what = reader.string("what", "\"port {{ my.port }}\"")?;
    let by = reader.string("by", "\"My service\"")?;
    let setting = reader.optional_string("setting")?;
    if let Some(unknown) = reader.unknown_keys().into_iter().next() {
        return Err(unknown);
    }
    Ok(Claim { what, by, setting })
}
