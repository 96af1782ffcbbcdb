//! What a node declaration says of its host's barriers.
//!
//! A barrier is one node per host (`HOST:barrier:NAME`) that waits for a set of the host's
//! nodes, so that what waits for all of them depends on the barrier alone. The language
//! knows two:
//! - `checks`: every check node of the host. Every node of a module waits for it unless its
//!   declaration says `after_checks = false` (what a check itself needs); a check never does.
//! - `docker-ready`: the nodes declared `member_of = "docker-ready"` (host-base's
//!   `health:docker-ready`). A node waits for it with `after = ["docker-ready"]`; where
//!   the host has no member (host-base left out), it waits for nothing.

use std::ops::Range;

use cairn_lockfiles::NodeKind;

use crate::diagnostic::Diagnostic;
use crate::suggest::did_you_mean;
use crate::toml_reader::{Located, TableReader};

/// A barrier the language knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BarrierName {
    /// Every check node of the host.
    Checks,
    /// The host's Docker engine ready for containers.
    DockerReady,
}

impl BarrierName {
    pub const ALL: [BarrierName; 2] = [BarrierName::Checks, BarrierName::DockerReady];

    /// The barrier node's key: `HOST:barrier:checks`.
    pub fn as_str(self) -> &'static str {
        match self {
            BarrierName::Checks => "checks",
            BarrierName::DockerReady => "docker-ready",
        }
    }

    fn named(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|name| name.as_str() == text)
    }
}

/// The barriers a declaration waits for and the one it is a member of, each with the span
/// that says so (`None`: the language's default, reported at the declaration).
#[derive(Debug, Clone, Default)]
pub struct BarrierDeclaration {
    pub after: Vec<(BarrierName, Option<Range<usize>>)>,
    pub member_of: Option<(BarrierName, Option<Range<usize>>)>,
}

/// The keys this file reads from a declaration.
pub const BARRIER_KEYS: [&str; 3] = ["after_checks", "after", "member_of"];

/// Reads `after_checks`, `after` and `member_of` of a host node's declaration of `kind`.
pub fn read_barriers(
    reader: &mut TableReader<'_, '_>,
    kind: NodeKind,
) -> Result<BarrierDeclaration, Diagnostic> {
    let mut declaration = BarrierDeclaration::default();
    let after_checks = reader.optional_bool("after_checks")?;
    match (&after_checks, kind) {
        (Some(located), NodeKind::Check) if located.value => {
            return Err(reader
                .error(&located.span, "a check cannot wait for the host's checks")
                .hint("remove `after_checks`: the `checks` barrier waits for every check of the host, and a check waits for none"));
        }
        (_, NodeKind::Check) => {
            declaration.member_of = Some((BarrierName::Checks, None));
        }
        (Some(located), _) if !located.value => {}
        (located, _) => declaration.after.push((
            BarrierName::Checks,
            located.as_ref().map(|located| located.span.clone()),
        )),
    }
    for name in reader
        .string_array("after")?
        .map(|list| list.value)
        .unwrap_or_default()
    {
        let barrier = barrier_named(reader, &name)?;
        if barrier == BarrierName::Checks {
            return Err(reader
                .error(&name.span, "every node waits for the host's checks already")
                .hint(
                    "remove \"checks\" from `after`; `after_checks = false` is what says otherwise",
                ));
        }
        if !declaration
            .after
            .iter()
            .any(|(listed, _)| *listed == barrier)
        {
            declaration.after.push((barrier, Some(name.span)));
        }
    }
    if let Some(name) = reader.optional_string("member_of")? {
        let barrier = barrier_named(reader, &name)?;
        if barrier == BarrierName::Checks || kind == NodeKind::Check {
            return Err(reader
                .error(&name.span, "the `checks` barrier waits for the host's check nodes, and a check for no other barrier")
                .hint("remove `member_of`: a check is a member of `checks` by its kind"));
        }
        if declaration
            .after
            .iter()
            .any(|(listed, _)| *listed == barrier)
        {
            return Err(reader
                .error(
                    &name.span,
                    format!(
                        "a node cannot wait for the barrier `{}` it is a member of",
                        barrier.as_str()
                    ),
                )
                .hint(format!("remove \"{}\" from `after`", barrier.as_str())));
        }
        declaration.member_of = Some((barrier, Some(name.span)));
    }
    Ok(declaration)
}

/// Refuses the barrier keys on a declaration that is no host's (an image's).
pub fn refuse_barriers(reader: &mut TableReader<'_, '_>) -> Result<(), Diagnostic> {
    for key in BARRIER_KEYS {
        if let Some(item) = reader.get(key) {
            return Err(reader
                .error(&item.span(), format!("`{key}` is for a host's nodes; an image is the cluster's and waits for no host"))
                .hint(format!("remove `{key}`")));
        }
    }
    Ok(())
}

fn barrier_named(
    reader: &TableReader<'_, '_>,
    name: &Located<String>,
) -> Result<BarrierName, Diagnostic> {
    let names = BarrierName::ALL.map(BarrierName::as_str);
    BarrierName::named(&name.value).ok_or_else(|| {
        reader
            .error(
                &name.span,
                format!(
                    "unknown barrier `{}`; the barriers are {}",
                    name.value,
                    names.join(", ")
                ),
            )
            .maybe_hint(did_you_mean(&name.value, names))
    })
}
