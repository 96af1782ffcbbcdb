//! A container declaration's rollout: how its replicas across hosts are replaced in an
//! upgrade. Written as a table below the container's `[[node]]`:
//!
//! ```toml
//! [node.rollout]
//! max_parallel = 1
//! last_where = "docker exec ... | grep -q '^Mode: leader'"
//! last_are = "the ZooKeeper leader"
//! gates = ["health:zookeeper-quorum"]
//! min_healthy_seconds = 5
//! ```
//!
//! Every value is a template of the node's context, rendered per host; the fields are
//! those of the lockfile's `[rollouts.NAME]` (`cairn_lockfiles::RolloutPolicy`). None is a
//! field of the node, so a policy changes no id.

use std::ops::Range;

use cairn_lockfiles::{NodeKind, RolloutPolicy};
use toml::de::DeValue;

use crate::diagnostic::Diagnostic;
use crate::module::node_declaration::{DeclaredValue, read_value};
use crate::source_file::SourceFile;
use crate::suggest::did_you_mean;
use crate::toml_reader::{Located, TableReader};

/// The `rollout` table of a container declaration, its values not yet rendered.
#[derive(Debug, Clone)]
pub struct RolloutDeclaration {
    /// The table's span, for errors about the policy as a whole.
    pub span: Range<usize>,
    pub fields: Vec<(Located<String>, Located<DeclaredValue>)>,
}

/// Reads `rollout` of a declaration of `kind`: only a container has one.
pub fn read_rollout(
    source: &SourceFile,
    reader: &mut TableReader<'_, '_>,
    kind: NodeKind,
) -> Result<Option<RolloutDeclaration>, Diagnostic> {
    let Some(item) = reader.get("rollout") else {
        return Ok(None);
    };
    if kind != NodeKind::Container {
        return Err(reader
            .error(&item.span(), format!("a {kind} node has no rollout"))
            .hint("only a container's replicas are replaced in turn; move `rollout` to the container it is about"));
    }
    let DeValue::Table(table) = item.get_ref() else {
        return Err(reader.wrong_type("rollout", item, "a table"));
    };
    let mut fields = Vec::with_capacity(table.len());
    for (key, value) in table.iter() {
        let name = key.get_ref().as_ref();
        if !RolloutPolicy::FIELDS.contains(&name) {
            return Err(
                Diagnostic::new(format!("unknown key `{name}` in a rollout"))
                    .at(source, &key.span())
                    .maybe_hint(did_you_mean(name, RolloutPolicy::FIELDS))
                    .note(format!(
                        "a rollout has {}",
                        RolloutPolicy::FIELDS.join(", ")
                    )),
            );
        }
        fields.push((
            Located::new(name.to_string(), key.span()),
            read_value(source, value)?,
        ));
    }
    Ok(Some(RolloutDeclaration {
        span: item.span(),
        fields,
    }))
}
