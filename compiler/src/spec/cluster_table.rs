//! `[cluster]`: the cluster's name and domain, the fingerprint key, and which module
//! folders the spec adds or which modules it leaves out.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::module::setting::{SecretReference, secret_reference};
use crate::source_file::SourceFile;
use crate::toml_reader::{Located, TableReader};

/// What `[cluster]` says; empty names where it is missing or wrong (the problem is
/// recorded).
#[derive(Debug, Default)]
pub(super) struct ClusterTable {
    pub name: String,
    pub domain: String,
    pub fingerprint_key: Option<Located<SecretReference>>,
    pub module_folders: Vec<Located<String>>,
    pub excluded_modules: Vec<Located<String>>,
}

/// Reads `[cluster]` from the spec's top table, recording every problem.
pub(super) fn read_cluster_table(
    top: &mut TableReader<'_, '_>,
    source: &SourceFile,
    diagnostics: &mut Diagnostics,
) -> Result<ClusterTable, Diagnostic> {
    let mut cluster = ClusterTable::default();
    let Some((table, span)) = top.optional_table("cluster")? else {
        diagnostics.push(
            Diagnostic::new("the spec has no [cluster] table")
                .at(source, &(0..0))
                .hint("start the spec with [cluster], holding `name` and `domain`"),
        );
        return Ok(cluster);
    };
    let mut reader = TableReader::new(source, table, span, "[cluster]");
    if let Some(located) = diagnostics.ok(reader.string("name", "\"production\"")) {
        if valid_label(&located.value) {
            cluster.name = located.value;
        } else {
            diagnostics.push(
                reader
                    .error(
                        &located.span,
                        format!("`{}` is not a cluster name", located.value),
                    )
                    .hint("use lowercase letters, digits and `-`, starting with a letter"),
            );
        }
    }
    if let Some(located) = diagnostics.ok(reader.string("domain", "\"cluster.example\"")) {
        match crate::module::text_grammar::dns_name(&located.value) {
            Ok(()) => cluster.domain = located.value,
            Err(why) => diagnostics.push(
                reader
                    .error(&located.span, format!("`domain` in [cluster]: {why}"))
                    .hint("write a DNS name such as \"cluster.example\": hosts are named `<host>.<domain>`"),
            ),
        }
    }
    if let Some(folders) = diagnostics.ok(reader.string_array("modules")).flatten() {
        cluster.module_folders = folders.value;
    }
    if let Some(names) = diagnostics
        .ok(reader.string_array("exclude_modules"))
        .flatten()
    {
        cluster.excluded_modules = names.value;
    }
    if let Some(item) = reader.get("fingerprint_key") {
        cluster.fingerprint_key = diagnostics
            .ok(secret_reference(
                item,
                source,
                "`fingerprint_key` in [cluster]",
            ))
            .map(|reference| Located::new(reference, item.span()));
    }
    diagnostics.extend(reader.unknown_keys());
    Ok(cluster)
}

/// A DNS label: lowercase letters, digits and `-`, not starting or ending with `-`.
pub(super) fn valid_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && !text.starts_with('-')
        && !text.ends_with('-')
        && text.chars().all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
        })
}
