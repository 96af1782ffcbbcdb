//! The settings sections: every table a module declares settings in (`[zookeeper]`,
//! `[preflight]`), each key checked against its schema, defaults filled in, required
//! keys asked for where the module runs, secret references collected.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::module::library::ModuleLibrary;
use crate::module::setting::{SettingSchema, SettingType, SettingValue, check_value};
use crate::source_file::SourceFile;
use crate::spec::cluster_spec::{DeclaredSecret, HostSpec, SectionValues};
use crate::suggest::did_you_mean;
use crate::toml_reader::{Located, TableReader};

/// Names templates already use: a settings section named so would hide them.
const RESERVED_SECTIONS: [&str; 5] = ["cluster", "hosts", "host", "roles", "item"];

/// The schemas of each section, and the module each section belongs to.
pub(super) struct SectionSchemas<'library> {
    pub schemas: BTreeMap<&'library str, Vec<&'library SettingSchema>>,
    pub owners: BTreeMap<&'library str, &'library str>,
}

/// Groups the modules' settings by section: a section belongs to one module, and none
/// may take a name templates use for something else.
pub(super) fn declared_sections<'library>(
    library: &'library ModuleLibrary,
    diagnostics: &mut Diagnostics,
) -> SectionSchemas<'library> {
    let mut sections = SectionSchemas {
        schemas: BTreeMap::new(),
        owners: BTreeMap::new(),
    };
    for (module, schema) in library.settings() {
        if RESERVED_SECTIONS.contains(&schema.section.as_str()) {
            diagnostics.push(
                Diagnostic::new(format!(
                    "module `{}` declares settings in [{}], a name templates use for something else",
                    module.name, schema.section
                ))
                .at(&module.manifest, &schema.span)
                .hint(format!("name the section after the module; reserved: {}", RESERVED_SECTIONS.join(", "))),
            );
            continue;
        }
        match sections.owners.get(schema.section.as_str()) {
            Some(owner) if *owner != module.name => {
                diagnostics.push(
                    Diagnostic::new(format!(
                        "module `{}` declares settings in [{}], which belongs to module `{owner}`",
                        module.name, schema.section
                    ))
                    .at(&module.manifest, &schema.span)
                    .hint("a section of the spec belongs to one module; name the section after your module"),
                );
                continue;
            }
            _ => {
                sections.owners.insert(&schema.section, &module.name);
            }
        }
        sections
            .schemas
            .entry(&schema.section)
            .or_default()
            .push(schema);
    }
    sections
}

/// What the spec's settings sections hold.
pub(super) struct SectionsRead {
    pub sections: BTreeMap<String, SectionValues>,
    /// Secret settings by name (`section.key`), and the hosts' sudo passwords.
    pub secrets: BTreeMap<String, DeclaredSecret>,
}

/// The spec, as far as the settings sections need it.
pub(super) struct SpecParts<'spec> {
    pub source: &'spec SourceFile,
    pub hosts: &'spec BTreeMap<String, HostSpec>,
    pub library: &'spec ModuleLibrary,
}

/// Reads every declared section, recording every problem.
pub(super) fn read_sections<'library>(
    top: &mut TableReader<'library, '_>,
    declared: &SectionSchemas<'library>,
    spec: &SpecParts<'_>,
    diagnostics: &mut Diagnostics,
) -> SectionsRead {
    let mut read = SectionsRead {
        sections: BTreeMap::new(),
        secrets: become_passwords(spec.hosts),
    };
    for (section, schemas) in &declared.schemas {
        let table = match top.optional_table(section) {
            Ok(table) => table,
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                continue;
            }
        };
        let values = read_section(
            (section, declared.owners[section]),
            schemas,
            table,
            spec,
            (&mut read.secrets, diagnostics),
        );
        read.sections.insert((*section).to_string(), values);
    }
    read
}

/// A host's sudo password is a secret like a module's: fingerprinted into the lockfile,
/// read again where cairn applies.
fn become_passwords(hosts: &BTreeMap<String, HostSpec>) -> BTreeMap<String, DeclaredSecret> {
    hosts
        .values()
        .filter_map(|host| {
            let reference = host.become_password.clone()?;
            Some((
                host.become_password_secret(),
                DeclaredSecret {
                    reference,
                    max_length: None,
                },
            ))
        })
        .collect()
}

/// One section (`section`, of module `owner`): each key of its schemas, the spec's value
/// checked or the default; then the keys that require others.
fn read_section(
    (section, owner): (&str, &str),
    schemas: &[&SettingSchema],
    table: Option<(&toml::de::DeTable<'_>, Range<usize>)>,
    spec: &SpecParts<'_>,
    (secrets, diagnostics): (&mut BTreeMap<String, DeclaredSecret>, &mut Diagnostics),
) -> SectionValues {
    let mut values = SectionValues::default();
    let empty = toml::de::DeTable::new();
    let (table, span) = match table {
        Some((table, span)) => {
            values.span = Some(span.clone());
            (table, span)
        }
        None => (&empty, 0..0),
    };
    let mut reader = TableReader::new(spec.source, table, span, format!("[{section}]"));
    // Where the spec gives each key, for the keys that require others.
    let mut given = BTreeMap::new();
    for schema in schemas {
        let Some(item) = reader.get(&schema.key) else {
            match &schema.default {
                Some(default) => {
                    values.values.insert(schema.key.clone(), default.clone());
                }
                // Left out of the context: templates test `is defined`.
                None if schema.optional => {}
                None => diagnostics.extend(missing_required(
                    schema,
                    owner,
                    values.span.is_some().then(|| reader.header_span()),
                    spec,
                )),
            }
            continue;
        };
        match check_value(schema, item, spec.source) {
            Ok((value, reference)) => {
                given.insert(schema.key.clone(), item.span());
                if let Some(reference) = reference {
                    secrets.insert(
                        format!("{section}.{}", schema.key),
                        DeclaredSecret {
                            reference: Located::new(reference, item.span()),
                            max_length: schema.max_length,
                        },
                    );
                }
                diagnostics.extend(check_host_setting(
                    schema,
                    &value,
                    spec.hosts,
                    spec.source,
                    &item.span(),
                ));
                values.values.insert(schema.key.clone(), value);
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    diagnostics.extend(unmet_requirements(
        section,
        schemas,
        &values,
        &given,
        spec.source,
    ));
    diagnostics.extend(reader.unknown_keys());
    values.given = given;
    values
}

/// A required key the spec leaves out, asked for only where its module runs: its settings
/// mean nothing elsewhere. Points at the section's header when the spec has the section,
/// else where the module comes to run (the end of the spec for a module of every host,
/// else the roles of the first host that runs it).
fn missing_required(
    schema: &SettingSchema,
    owner: &str,
    section_header: Option<Range<usize>>,
    spec: &SpecParts<'_>,
) -> Option<Diagnostic> {
    let section = &schema.section;
    let owner = spec
        .library
        .modules()
        .iter()
        .find(|module| module.name == owner)?;
    let first_user = spec
        .hosts
        .values()
        .find(|host| owner.applies_to(&host.roles))?;
    let diagnostic = Diagnostic::new(format!(
        "[{section}] is missing the required key `{}`",
        schema.key
    ))
    .hint(if schema.setting_type == SettingType::Secret {
        format!(
            "add `{} = {{ env = \"VARIABLE\" }}` or `{{ file = \"path\" }}` to [{section}]: {}",
            schema.key, schema.doc
        )
    } else {
        format!("add `{} = ...` to [{section}]: {}", schema.key, schema.doc)
    });
    Some(if let Some(header) = section_header {
        diagnostic.at(spec.source, &header)
    } else if owner.applies_to_every_host() {
        diagnostic
            .at(spec.source, &end_of_file(spec.source))
            .note(format!("module `{}` runs on every host", owner.name))
    } else {
        diagnostic
            .at(spec.source, &first_user.roles_span)
            .note(format!(
                "module `{}` runs on host `{}` because of its roles",
                owner.name, first_user.name
            ))
    })
}

/// Keys the spec gives that require a key it does not give.
fn unmet_requirements(
    section: &str,
    schemas: &[&SettingSchema],
    values: &SectionValues,
    given: &BTreeMap<String, Range<usize>>,
    source: &SourceFile,
) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for schema in schemas {
        let Some(span) = given.get(&schema.key) else {
            continue;
        };
        for required in &schema.requires {
            if values.values.contains_key(&required.value) {
                continue;
            }
            diagnostics.push(
                Diagnostic::new(format!(
                    "`{}` in [{section}] requires `{}`, which [{section}] does not give",
                    schema.key, required.value
                ))
                .at(source, span)
                .hint(format!(
                    "add `{}` to [{section}], or remove `{}`",
                    required.value, schema.key
                )),
            );
        }
    }
    diagnostics
}

/// A host setting must name a host of the spec, with the role the setting asks for.
fn check_host_setting(
    schema: &SettingSchema,
    value: &SettingValue,
    hosts: &BTreeMap<String, HostSpec>,
    source: &SourceFile,
    span: &Range<usize>,
) -> Option<Diagnostic> {
    let names: Vec<&String> = match (schema.setting_type, value) {
        (SettingType::Host, SettingValue::String(name)) => vec![name],
        (SettingType::Hosts, SettingValue::Strings(names)) => names.iter().collect(),
        (SettingType::HostPriorities, SettingValue::HostIntegers(priorities)) => {
            priorities.keys().collect()
        }
        _ => return None,
    };
    for name in names {
        let Some(host) = hosts.get(name) else {
            return Some(
                Diagnostic::new(format!(
                    "`{}` in [{}] names host `{name}`, which the spec does not have",
                    schema.key, schema.section
                ))
                .at(source, span)
                .maybe_hint(did_you_mean(name, hosts.keys().map(String::as_str))),
            );
        };
        if let Some(role) = &schema.role
            && !host.roles.contains(role)
        {
            return Some(
                Diagnostic::new(format!(
                    "`{}` in [{}] names host `{name}`, which does not have the role `{role}`",
                    schema.key, schema.section
                ))
                .at(source, span)
                .hint(format!(
                    "add `{role}` to the roles of [hosts.{name}], or name a host that has it"
                )),
            );
        }
    }
    None
}

/// The span of the spec's last line, where a missing section would be added.
fn end_of_file(source: &SourceFile) -> Range<usize> {
    let text = source.text.trim_end();
    let start = text.rfind('\n').map_or(0, |index| index + 1);
    start..text.len()
}
