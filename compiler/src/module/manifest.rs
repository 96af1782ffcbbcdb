use std::collections::BTreeMap;

use cairn_lockfiles::NodeKind;
use toml::de::DeValue;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::module::node_declaration::{NodeDeclaration, read_declaration};
use crate::module::requirement::{Requirement, read_requirement};
use crate::module::setting::{SettingSchema, read_schema};
use crate::source_file::SourceFile;
use crate::toml_reader::{Located, TableReader, parse_document};

/// The manifest's file name inside a module's folder.
pub const MANIFEST_FILE: &str = "module.toml";

/// A module: one component as data. Its manifest says which hosts it applies to (by role),
/// which settings it accepts, which images it defines and which nodes it emits; its other
/// files are templates.
#[derive(Debug, Clone)]
pub struct Module {
    pub name: String,
    pub description: String,
    /// Hosts with any of these roles get the module's nodes; `*` means every host.
    pub roles: Vec<Located<String>>,
    /// Its templates number its hosts by `host.id` (ZooKeeper's myid, MySQL's server-id):
    /// every host it runs on must have an `id`.
    pub needs_host_id: bool,
    pub settings: Vec<SettingSchema>,
    pub images: Vec<NodeDeclaration>,
    pub nodes: Vec<NodeDeclaration>,
    /// Conditions on the cluster, checked at compile where the module runs.
    pub requirements: Vec<Requirement>,
    pub manifest: SourceFile,
    /// Every other file of the module, by path relative to its folder.
    pub templates: BTreeMap<String, SourceFile>,
    pub builtin: bool,
}

/// A role that puts a module on every host.
pub const ALL_HOSTS: &str = "*";

impl Module {
    pub fn applies_to(&self, host_roles: &[String]) -> bool {
        self.roles
            .iter()
            .any(|role| role.value == ALL_HOSTS || host_roles.contains(&role.value))
    }

    pub fn applies_to_every_host(&self) -> bool {
        self.roles.iter().any(|role| role.value == ALL_HOSTS)
    }

    /// Parses a manifest; `templates` are the module's other files.
    pub fn parse(
        manifest: SourceFile,
        templates: BTreeMap<String, SourceFile>,
        builtin: bool,
    ) -> Result<Self, Vec<Diagnostic>> {
        let mut diagnostics = Diagnostics::default();
        let parsed = parse_document(&manifest).map_err(|diagnostic| vec![diagnostic])?;
        let document = parsed.get_ref();
        let mut top = TableReader::new(&manifest, document, parsed.span(), "the module manifest");

        let module_table = read_module_table(&mut top, &mut diagnostics);
        let settings = read_settings(&mut top, &mut diagnostics);
        check_required_settings(&manifest, &settings, &mut diagnostics);
        let (images, nodes) = read_declarations(&mut top, &mut diagnostics);
        let requirements = read_requirements(&mut top, &mut diagnostics);
        diagnostics.extend(top.unknown_keys());
        let module = Self {
            name: module_table.name,
            description: module_table.description,
            roles: module_table.roles,
            needs_host_id: module_table.needs_host_id,
            settings,
            images,
            nodes,
            requirements,
            manifest,
            templates,
            builtin,
        };
        diagnostics
            .finish(module)
            .map_err(|error| error.diagnostics)
    }
}

/// What a manifest's `[module]` table says: empty where it is missing or wrong.
#[derive(Default)]
struct ModuleTable {
    name: String,
    description: String,
    roles: Vec<Located<String>>,
    needs_host_id: bool,
}

/// Reads the `[module]` table: the module's name, description, roles and whether it needs
/// host ids.
fn read_module_table(top: &mut TableReader<'_, '_>, diagnostics: &mut Diagnostics) -> ModuleTable {
    let mut module_table = ModuleTable::default();
    match top.optional_table("module") {
        Ok(Some((table, span))) => {
            let mut reader = TableReader::new(top.source, table, span, "[module]");
            if let Some(located) = diagnostics.ok(reader.string("name", "\"my-service\"")) {
                if valid_module_name(&located.value) {
                    module_table.name = located.value;
                } else {
                    diagnostics.push(
                        reader
                            .error(
                                &located.span,
                                format!("`{}` is not a module name", located.value),
                            )
                            .hint("use lowercase letters, digits and `-`, starting with a letter"),
                    );
                }
            }
            if let Some(located) =
                diagnostics.ok(reader.string("description", "\"what it installs\""))
            {
                module_table.description = located.value;
            }
            if let Some(located) = diagnostics.ok(reader.string_array("roles")).flatten() {
                module_table.roles = located.value;
            } else {
                diagnostics.push(reader.missing("roles", "[\"master\"]"));
            }
            if let Some(located) = diagnostics
                .ok(reader.optional_bool("needs_host_id"))
                .flatten()
            {
                module_table.needs_host_id = located.value;
            }
            diagnostics.extend(reader.unknown_keys());
        }
        Ok(None) => diagnostics.push(
            Diagnostic::new("the module manifest has no [module] table")
                .at(top.source, &(0..0))
                .hint("start it with [module], holding `name`, `description` and `roles`"),
        ),
        Err(diagnostic) => diagnostics.push(diagnostic),
    }
    module_table
}

/// Reads the `[settings.<section>.<key>]` tables: the schema of each setting the module
/// accepts.
fn read_settings(
    top: &mut TableReader<'_, '_>,
    diagnostics: &mut Diagnostics,
) -> Vec<SettingSchema> {
    let mut settings = Vec::new();
    if let Some((sections, _)) = diagnostics.ok(top.optional_table("settings")).flatten() {
        for (section_key, section_item) in sections.iter() {
            let section = section_key.get_ref().to_string();
            let DeValue::Table(keys) = section_item.get_ref() else {
                diagnostics.push(top.wrong_type(&section, section_item, "a table of settings"));
                continue;
            };
            for (key, declaration) in keys.iter() {
                let key = Located::new(key.get_ref().to_string(), key.span());
                let DeValue::Table(table) = declaration.get_ref() else {
                    diagnostics.push(top.wrong_type(&key.value, declaration, "a table"));
                    continue;
                };
                let mut reader = TableReader::new(
                    top.source,
                    table,
                    declaration.span(),
                    format!("[settings.{section}.{}]", key.value),
                );
                if let Some(schema) = diagnostics.ok(read_schema(&section, &key, &mut reader)) {
                    settings.push(schema);
                }
                diagnostics.extend(reader.unknown_keys());
            }
        }
    }
    settings
}

/// Reports each setting a setting `requires` that the module does not declare in the same
/// section.
fn check_required_settings(
    manifest: &SourceFile,
    settings: &[SettingSchema],
    diagnostics: &mut Diagnostics,
) {
    for schema in settings {
        for required in &schema.requires {
            let declared = settings
                .iter()
                .any(|other| other.section == schema.section && other.key == required.value);
            if !declared {
                diagnostics.push(
                    Diagnostic::new(format!(
                        "`{}` in [{}] requires `{}`, which the module does not declare in [{}]",
                        schema.key, schema.section, required.value, schema.section
                    ))
                    .at(manifest, &required.span)
                    .maybe_hint(crate::suggest::did_you_mean(
                        &required.value,
                        settings
                            .iter()
                            .filter(|other| other.section == schema.section)
                            .map(|other| other.key.as_str()),
                    )),
                );
            }
        }
    }
}

/// Reads the `[[image]]` and `[[node]]` tables: the images the module defines and the nodes
/// it emits.
fn read_declarations(
    top: &mut TableReader<'_, '_>,
    diagnostics: &mut Diagnostics,
) -> (Vec<NodeDeclaration>, Vec<NodeDeclaration>) {
    let mut images = Vec::new();
    let mut nodes = Vec::new();
    for (key, kind, out) in [
        ("image", Some(NodeKind::Image), &mut images),
        ("node", None, &mut nodes),
    ] {
        let Some(item) = top.get(key) else { continue };
        let DeValue::Array(items) = item.get_ref() else {
            diagnostics.push(top.wrong_type(
                key,
                item,
                &format!("an array of tables, written [[{key}]]"),
            ));
            continue;
        };
        for (position, element) in items.iter().enumerate() {
            let context = format!("[[{key}]] #{}", position + 1);
            if let Some(declaration) =
                diagnostics.ok(read_declaration(top.source, element, &context, kind))
            {
                out.push(declaration);
            }
        }
    }
    (images, nodes)
}

/// Reads the `[[require]]` tables: the conditions on the cluster the module checks.
fn read_requirements(
    top: &mut TableReader<'_, '_>,
    diagnostics: &mut Diagnostics,
) -> Vec<Requirement> {
    let mut requirements = Vec::new();
    if let Some(item) = top.get("require") {
        match item.get_ref() {
            DeValue::Array(items) => {
                for (position, element) in items.iter().enumerate() {
                    let context = format!("[[require]] #{}", position + 1);
                    match read_requirement(top.source, element, &context) {
                        Ok(requirement) => requirements.push(requirement),
                        Err(errors) => errors
                            .into_iter()
                            .for_each(|diagnostic| diagnostics.push(diagnostic)),
                    }
                }
            }
            _ => diagnostics.push(top.wrong_type(
                "require",
                item,
                "an array of tables, written [[require]]",
            )),
        }
    }
    requirements
}

pub fn valid_module_name(name: &str) -> bool {
    name.starts_with(|character: char| character.is_ascii_lowercase())
        && name.chars().all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
        })
}
