//! `[rollouts.NAME]`: the operator's changes to how container NAME's replicas are replaced
//! (`max_parallel`, `min_healthy_seconds`, `deadline_seconds`) and how many releases' images
//! its hosts keep (`keep_releases`), over what its module states.
//! The order and the gates are the module's: they say what the service needs, not how fast
//! the operator wants to go. Whether a container NAME runs anywhere is known only once the
//! modules are rendered (`graph/rollouts.rs`).

use std::ops::Range;

use cairn_lockfiles::{Parallelism, RolloutPolicy, Value};
use toml::de::DeValue;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source_file::SourceFile;
use crate::toml_reader::{Located, TableReader, integer_of, type_name};

/// What the spec changes of one container's rollout.
#[derive(Debug, Clone, Default)]
pub struct RolloutOverride {
    /// The span of the table's name in `[rollouts.NAME]`.
    pub name_span: Range<usize>,
    pub max_parallel: Option<Parallelism>,
    pub min_healthy_seconds: Option<u64>,
    pub deadline_seconds: Option<u64>,
    pub keep_releases: Option<u32>,
}

/// The longest a gate may be given to pass, or to stay healthy: a day.
const MAX_SECONDS: i64 = RolloutPolicy::MAX_SECONDS as i64;

/// Every `[rollouts.NAME]` table, by NAME; problems go to `diagnostics`.
pub(super) fn read_rollout_overrides(
    top: &mut TableReader<'_, '_>,
    source: &SourceFile,
    diagnostics: &mut Diagnostics,
) -> Vec<(String, RolloutOverride)> {
    let tables = match top.optional_table("rollouts") {
        Ok(Some((tables, _))) => tables,
        Ok(None) => return Vec::new(),
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            return Vec::new();
        }
    };
    let mut overrides = Vec::new();
    for (name, item) in tables.iter() {
        let name_text = name.get_ref().to_string();
        let DeValue::Table(table) = item.get_ref() else {
            diagnostics.push(
                Diagnostic::new(format!("[rollouts.{name_text}] must be a table"))
                    .at(source, &item.span())
                    .hint(format!(
                        "write [rollouts.{name_text}] with max_parallel = 1 below it"
                    )),
            );
            continue;
        };
        let context = format!("[rollouts.{name_text}]");
        let mut reader = TableReader::new(source, table, item.span(), context);
        match read_override(&mut reader, name.span()) {
            Ok(read) => overrides.push((name_text, read)),
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
        for unknown in reader.unknown_keys() {
            diagnostics.push(unknown.note(
                "a rollout's order and gates are its module's; the spec sets max_parallel, min_healthy_seconds, deadline_seconds and keep_releases",
            ));
        }
    }
    overrides
}

fn read_override(
    reader: &mut TableReader<'_, '_>,
    name_span: Range<usize>,
) -> Result<RolloutOverride, Diagnostic> {
    let max_parallel = match reader.get("max_parallel") {
        None => None,
        Some(item) => Some(read_parallelism(reader, item.get_ref(), &item.span())?),
    };
    let seconds = |reader: &mut TableReader<'_, '_>, key, minimum| {
        reader
            .optional_integer(key, minimum, MAX_SECONDS)
            .map(|found| found.map(|Located { value, .. }| value as u64))
    };
    Ok(RolloutOverride {
        name_span,
        max_parallel,
        min_healthy_seconds: seconds(reader, "min_healthy_seconds", 0)?,
        deadline_seconds: seconds(reader, "deadline_seconds", 1)?,
        keep_releases: reader
            .optional_integer(
                "keep_releases",
                1,
                i64::from(RolloutPolicy::MAX_KEEP_RELEASES),
            )?
            .map(|Located { value, .. }| value as u32),
    })
}

fn read_parallelism(
    reader: &TableReader<'_, '_>,
    value: &DeValue<'_>,
    span: &Range<usize>,
) -> Result<Parallelism, Diagnostic> {
    let hint = "write max_parallel = 1 (hosts at a time) or max_parallel = \"25%\" (of the hosts that run it)";
    let as_value = match value {
        DeValue::String(text) => Value::String(text.to_string()),
        other => match integer_of(other) {
            Some(number) => Value::Integer(number),
            None => {
                return Err(reader
                    .error(
                        span,
                        format!(
                            "`max_parallel` in {} must be a count or a share, found {}",
                            reader.context,
                            type_name(other)
                        ),
                    )
                    .hint(hint));
            }
        },
    };
    Parallelism::from_value(&as_value).map_err(|message| {
        reader
            .error(span, format!("{message} in {}", reader.context))
            .hint(hint)
    })
}
