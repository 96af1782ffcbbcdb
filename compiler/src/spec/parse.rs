//! Reading a spec, one part after another, each recording every problem it finds so one
//! compile reports them all: `[cluster]`, the modules, `[hosts]`, the settings sections,
//! `[rollouts]`, then the tables that configure nothing.

use std::path::Path;

use crate::diagnostic::{CompileError, Diagnostic, Diagnostics};
use crate::source_file::SourceFile;
use crate::spec::cluster_spec::ClusterSpec;
use crate::spec::cluster_table::read_cluster_table;
use crate::spec::host_table::{check_host_ids, read_hosts};
use crate::spec::module_selection::select_modules;
use crate::spec::rollout_overrides::read_rollout_overrides;
use crate::spec::settings_sections::{SpecParts, declared_sections, read_sections};
use crate::spec::stray_sections::{check_sections_of_unused_modules, check_unknown_sections};
use crate::toml_reader::{TableReader, parse_document};

/// The start of a secret placeholder: no spec value may smuggle one into a template.
const PLACEHOLDER_MARKER: &str = "@@CAIRN_SECRET(";

/// Parses and checks a spec. `directory` is the folder holding it.
pub fn parse_spec(source: SourceFile, directory: &Path) -> Result<ClusterSpec, CompileError> {
    refuse_placeholder(&source)?;
    let mut diagnostics = Diagnostics::default();
    let parsed = parse_document(&source)?;
    let document = parsed.get_ref();
    let mut top = TableReader::new(&source, document, parsed.span(), "the spec");

    let cluster = read_cluster_table(&mut top, &source, &mut diagnostics)?;
    let modules = select_modules(&cluster, directory, &source, &mut diagnostics)?;
    let hosts = read_hosts(
        &mut top,
        &source,
        &modules.library.roles(),
        &mut diagnostics,
    )?;
    check_host_ids(&hosts, &modules.library, &source, &mut diagnostics);

    let declared = declared_sections(&modules.library, &mut diagnostics);
    let spec = SpecParts {
        source: &source,
        hosts: &hosts,
        library: &modules.library,
    };
    let read = read_sections(&mut top, &declared, &spec, &mut diagnostics);
    let rollouts = read_rollout_overrides(&mut top, &source, &mut diagnostics);
    check_unknown_sections(
        document,
        declared.schemas.keys().copied(),
        &modules.excluded,
        &source,
        &mut diagnostics,
    );
    check_sections_of_unused_modules(
        document,
        (&modules.library, &hosts, &read.sections),
        &source,
        &mut diagnostics,
    );
    drop(declared);

    let spec = ClusterSpec {
        directory: directory.to_path_buf(),
        name: cluster.name,
        domain: cluster.domain,
        fingerprint_key: cluster.fingerprint_key,
        hosts,
        sections: read.sections,
        secrets: read.secrets,
        rollouts,
        library: modules.library,
        source: source.clone(),
    };
    diagnostics.finish(spec)
}

/// A spec holding the placeholder marker is refused before anything else is read.
fn refuse_placeholder(source: &SourceFile) -> Result<(), Diagnostic> {
    let Some(offset) = source.text.find(PLACEHOLDER_MARKER) else {
        return Ok(());
    };
    Err(Diagnostic::new("the spec holds the marker cairn uses for secret placeholders")
        .at(source, &(offset..offset + PLACEHOLDER_MARKER.len()))
        .hint("a secret is a reference, `{ env = \"NAME\" }` or `{ file = \"path\" }`; cairn puts it where templates use it"))
}
