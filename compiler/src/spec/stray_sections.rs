//! Tables of the spec that configure nothing: a section no module declares, one of a
//! module `exclude_modules` leaves out, one of a module no host runs.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::module::library::ModuleLibrary;
use crate::module::manifest::Module;
use crate::source_file::SourceFile;
use crate::spec::cluster_spec::{HostSpec, SectionValues};
use crate::suggest::did_you_mean;
use crate::toml_reader::TableReader;

const FIXED_SECTIONS: [&str; 3] = ["cluster", "hosts", "rollouts"];

/// Tables of the spec that no module declares, or that configure an excluded module.
pub(super) fn check_unknown_sections<'a>(
    document: &toml::de::DeTable<'_>,
    declared: impl Iterator<Item = &'a str>,
    excluded: &BTreeMap<String, Module>,
    source: &SourceFile,
    diagnostics: &mut Diagnostics,
) {
    let valid_sections: BTreeSet<&str> = FIXED_SECTIONS.iter().copied().chain(declared).collect();
    for (key, _) in document.iter() {
        let section = key.get_ref().as_ref();
        if let Some(module) = excluded.values().find(|module| {
            module
                .settings
                .iter()
                .any(|schema| schema.section == section)
        }) {
            diagnostics.push(
                Diagnostic::new(format!(
                    "[{section}] configures module `{}`, which `exclude_modules` leaves out",
                    module.name
                ))
                .at(source, &key.span())
                .hint(format!(
                    "remove [{section}], or stop excluding `{}`",
                    module.name
                )),
            );
            continue;
        }
        if !valid_sections.contains(section) {
            diagnostics.push(
                Diagnostic::new(format!("unknown section [{section}]"))
                    .at(source, &key.span())
                    .maybe_hint(did_you_mean(section, valid_sections.iter().copied()))
                    .note(
                        "sections other than [cluster], [hosts.*] and [rollouts.*] are the settings of modules",
                    ),
            );
        }
    }
}

/// A module whose settings the spec gives, on roles no host has.
pub(super) fn check_sections_of_unused_modules(
    document: &toml::de::DeTable<'_>,
    (library, hosts, sections): (
        &ModuleLibrary,
        &BTreeMap<String, HostSpec>,
        &BTreeMap<String, SectionValues>,
    ),
    source: &SourceFile,
    diagnostics: &mut Diagnostics,
) {
    for module in library.modules() {
        if module.applies_to_every_host() {
            continue;
        }
        let module_roles: Vec<&str> = module
            .roles
            .iter()
            .map(|role| role.value.as_str())
            .collect();
        let used = hosts.values().any(|host| {
            host.roles
                .iter()
                .any(|role| module_roles.contains(&role.as_str()))
        });
        if used {
            continue;
        }
        for schema_section in module
            .settings
            .iter()
            .map(|schema| schema.section.as_str())
            .collect::<BTreeSet<_>>()
        {
            let Some(span) = sections
                .get(schema_section)
                .and_then(|values| values.span.clone())
            else {
                continue;
            };
            let header = TableReader::new(source, document, span, String::new()).header_span();
            diagnostics.push(
                Diagnostic::new(format!(
                    "[{schema_section}] configures module `{}`, but no host has the role{} it runs on: {}",
                    module.name,
                    if module_roles.len() == 1 { "" } else { "s" },
                    module_roles.iter().map(|role| format!("`{role}`")).collect::<Vec<_>>().join(", ")
                ))
                .at(source, &header)
                .hint(format!(
                    "add `{}` to the roles of a host, or remove [{schema_section}]",
                    module_roles.first().copied().unwrap_or_default()
                )),
            );
        }
    }
}
