use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cairn_lockfiles::Scope;
use toml::de::DeValue;

use crate::diagnostic::{CompileError, Diagnostic, Diagnostics};
use crate::module::library::ModuleLibrary;
use crate::module::setting::{
    SecretReference, SettingType, SettingValue, check_value, secret_reference,
};
use crate::module::text_type::TextType;
use crate::source_file::SourceFile;
use crate::spec::cluster_spec::{ClusterSpec, DeclaredSecret, HostSpec, SectionValues};
use crate::suggest::did_you_mean;
use crate::toml_reader::{Located, TableReader, parse_document};

const FIXED_SECTIONS: [&str; 2] = ["cluster", "hosts"];

/// The start of a secret placeholder: no spec value may smuggle one into a template.
const PLACEHOLDER_MARKER: &str = "@@CAIRN_SECRET(";

/// Names templates already use: a settings section named so would hide them.
const RESERVED_SECTIONS: [&str; 5] = ["cluster", "hosts", "host", "roles", "item"];

/// Parses and checks a spec. `directory` is the folder holding it.
pub fn parse_spec(source: SourceFile, directory: &Path) -> Result<ClusterSpec, CompileError> {
    let mut diagnostics = Diagnostics::default();
    if let Some(offset) = source.text.find(PLACEHOLDER_MARKER) {
        return Err(Diagnostic::new("the spec holds the marker cairn uses for secret placeholders")
            .at(&source, &(offset..offset + PLACEHOLDER_MARKER.len()))
            .hint("a secret is a reference, `{ env = \"NAME\" }` or `{ file = \"path\" }`; cairn puts it where templates use it")
            .into());
    }
    let parsed = parse_document(&source)?;
    let document = parsed.get_ref();
    let mut top = TableReader::new(&source, document, parsed.span(), "the spec");

    // [cluster]
    let mut name = String::new();
    let mut domain = String::new();
    let mut fingerprint_key = None;
    let mut module_folders = Vec::new();
    let mut excluded_names = Vec::new();
    match top.optional_table("cluster")? {
        None => diagnostics.push(
            Diagnostic::new("the spec has no [cluster] table")
                .at(&source, &(0..0))
                .hint("start the spec with [cluster], holding `name` and `domain`"),
        ),
        Some((table, span)) => {
            let mut reader = TableReader::new(&source, table, span, "[cluster]");
            if let Some(located) = diagnostics.ok(reader.string("name", "\"production\"")) {
                if valid_label(&located.value) {
                    name = located.value;
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
                    Ok(()) => domain = located.value,
                    Err(why) => diagnostics.push(
                        reader
                            .error(&located.span, format!("`domain` in [cluster]: {why}"))
                            .hint("write a DNS name such as \"cluster.example\": hosts are named `<host>.<domain>`"),
                    ),
                }
            }
            if let Some(folders) = diagnostics.ok(reader.string_array("modules")).flatten() {
                module_folders = folders.value;
            }
            if let Some(names) = diagnostics
                .ok(reader.string_array("exclude_modules"))
                .flatten()
            {
                excluded_names = names.value;
            }
            if let Some(item) = reader.get("fingerprint_key") {
                fingerprint_key = diagnostics
                    .ok(secret_reference(
                        item,
                        &source,
                        "`fingerprint_key` in [cluster]",
                    ))
                    .map(|reference| Located::new(reference, item.span()));
            }
            diagnostics.extend(reader.unknown_keys());
        }
    }

    // Modules: the built-in ones and the spec's folders.
    let mut library = ModuleLibrary::builtin()?;
    for folder in &module_folders {
        let path = directory.join(&folder.value);
        if !path.is_dir() {
            diagnostics.push(
                Diagnostic::new(format!("module folder `{}` does not exist", folder.value))
                    .at(&source, &folder.span)
                    .hint("module folders are relative to the spec's own folder"),
            );
            continue;
        }
        if let Err(errors) = library.load_directory(&path, &folder.value) {
            diagnostics.extend(errors);
        }
    }
    // Modules the operator leaves out (hosts initialised by other means, say).
    let mut excluded: BTreeMap<String, crate::module::manifest::Module> = BTreeMap::new();
    for name in &excluded_names {
        match library.remove(&name.value) {
            Some(module) => {
                excluded.insert(name.value.clone(), module);
            }
            None => {
                let known: Vec<&str> = library
                    .modules()
                    .iter()
                    .map(|module| module.name.as_str())
                    .collect();
                diagnostics.push(
                    Diagnostic::new(format!(
                        "`exclude_modules` names `{}`, which is not a module",
                        name.value
                    ))
                    .at(&source, &name.span)
                    .maybe_hint(did_you_mean(&name.value, known.iter().copied())),
                );
            }
        }
    }
    let known_roles = library.roles();

    // [hosts.<name>]
    let mut hosts = BTreeMap::new();
    match top.optional_table("hosts")? {
        None => diagnostics.push(
            Diagnostic::new("the spec has no hosts")
                .at(&source, &(0..0))
                .hint("add a [hosts.<name>] table for each host, with `address` and `roles`"),
        ),
        Some((table, span)) if table.is_empty() => diagnostics.push(
            Diagnostic::new("[hosts] names no host")
                .at(&source, &span)
                .hint("add a [hosts.<name>] table for each host, with `address` and `roles`"),
        ),
        Some((table, _)) => {
            for (host_key, host_item) in table.iter() {
                let host_name = host_key.get_ref().to_string();
                if let Some(host) = diagnostics.ok(read_host(
                    &source,
                    &host_name,
                    &host_key.span(),
                    host_item,
                    &known_roles,
                )) {
                    hosts.insert(host_name, host);
                }
            }
        }
    }

    // Host ids: unique, and on every host of a module that numbers its hosts by them.
    let mut id_owners: BTreeMap<u8, &str> = BTreeMap::new();
    for host in hosts.values() {
        let Some(id) = host.id else { continue };
        if let Some(owner) = id_owners.insert(id, &host.name) {
            diagnostics.push(
                Diagnostic::new(format!(
                    "hosts `{owner}` and `{}` both have `id = {id}`",
                    host.name
                ))
                .at(&source, &host.span)
                .hint("give every host its own id: modules number their servers by it"),
            );
        }
    }
    for module in library
        .modules()
        .iter()
        .filter(|module| module.needs_host_id)
    {
        for host in hosts.values() {
            if host.id.is_none() && module.applies_to(&host.roles) {
                let free = (1..=255u8)
                    .find(|id| !id_owners.contains_key(id))
                    .unwrap_or(1);
                diagnostics.push(
                    Diagnostic::new(format!(
                        "host `{}` has no `id`, which module `{}` numbers its hosts by",
                        host.name, module.name
                    ))
                    .at(&source, &host.span)
                    .note("an id stays with its host: adding or renaming a host renumbers no other (ZooKeeper's myid, MySQL's server-id)")
                    .hint(format!(
                        "add `id = {free}` to [hosts.{}]: a number from 1 to 255, unique in the cluster",
                        host.name
                    )),
                );
            }
        }
    }

    // Settings sections, every one a module declares.
    let mut schemas_by_section: BTreeMap<&str, Vec<&crate::module::setting::SettingSchema>> =
        BTreeMap::new();
    let mut section_owner: BTreeMap<&str, &str> = BTreeMap::new();
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
        match section_owner.get(schema.section.as_str()) {
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
                section_owner.insert(&schema.section, &module.name);
            }
        }
        schemas_by_section
            .entry(&schema.section)
            .or_default()
            .push(schema);
    }
    let mut sections = BTreeMap::new();
    // A host's sudo password is a secret like a module's: fingerprinted into the
    // lockfile, read again where cairn applies.
    let mut secrets: BTreeMap<String, DeclaredSecret> = hosts
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
        .collect();
    for (section, schemas) in &schemas_by_section {
        let mut values = SectionValues::default();
        let table = match top.optional_table(section) {
            Ok(table) => table,
            Err(diagnostic) => {
                diagnostics.push(diagnostic);
                continue;
            }
        };
        let empty = toml::de::DeTable::new();
        let (table, span) = match table {
            Some((table, span)) => {
                values.span = Some(span.clone());
                (table, span)
            }
            None => (&empty, 0..0),
        };
        let mut reader = TableReader::new(&source, table, span.clone(), format!("[{section}]"));
        // Where the spec gives each key, for the keys that require others.
        let mut given = BTreeMap::new();
        for schema in schemas {
            match reader.get(&schema.key) {
                Some(item) => match check_value(schema, item, &source) {
                    Ok((value, reference)) => {
                        given.insert(schema.key.as_str(), item.span());
                        if let Some(reference) = reference {
                            secrets.insert(
                                format!("{section}.{}", schema.key),
                                DeclaredSecret {
                                    reference: Located::new(reference, item.span()),
                                    max_length: schema.max_length,
                                },
                            );
                        }
                        if let Some(diagnostic) =
                            check_host_setting(schema, &value, &hosts, &source, &item.span())
                        {
                            diagnostics.push(diagnostic);
                        }
                        values.values.insert(schema.key.clone(), value);
                    }
                    Err(diagnostic) => diagnostics.push(diagnostic),
                },
                None => match &schema.default {
                    Some(default) => {
                        values.values.insert(schema.key.clone(), default.clone());
                    }
                    // Left out of the context: templates test `is defined`.
                    None if schema.optional => {}
                    // Required only where the module runs: its settings mean nothing
                    // elsewhere.
                    None => {
                        let owner = library
                            .modules()
                            .iter()
                            .find(|module| module.name == section_owner[section]);
                        let Some(owner) = owner else { continue };
                        let first_user = hosts.values().find(|host| owner.applies_to(&host.roles));
                        let Some(first_user) = first_user else {
                            continue;
                        };
                        let mut diagnostic = Diagnostic::new(format!(
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
                        diagnostic = if values.span.is_some() {
                            diagnostic.at(&source, &reader.header_span())
                        } else if owner.applies_to_every_host() {
                            diagnostic
                                .at(&source, &end_of_file(&source))
                                .note(format!("module `{}` runs on every host", owner.name))
                        } else {
                            diagnostic.at(&source, &first_user.roles_span).note(format!(
                                "module `{}` runs on host `{}` because of its roles",
                                owner.name, first_user.name
                            ))
                        };
                        diagnostics.push(diagnostic);
                    }
                },
            }
        }
        for schema in schemas {
            let Some(span) = given.get(schema.key.as_str()) else {
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
                    .at(&source, span)
                    .hint(format!(
                        "add `{}` to [{section}], or remove `{}`",
                        required.value, schema.key
                    )),
                );
            }
        }
        diagnostics.extend(reader.unknown_keys());
        values.given = given
            .into_iter()
            .map(|(key, span)| (key.to_string(), span))
            .collect();
        sections.insert((*section).to_string(), values);
    }

    // Tables of the spec that no module declares.
    let valid_sections: BTreeSet<&str> = FIXED_SECTIONS
        .iter()
        .copied()
        .chain(schemas_by_section.keys().copied())
        .collect();
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
                .at(&source, &key.span())
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
                    .at(&source, &key.span())
                    .maybe_hint(did_you_mean(section, valid_sections.iter().copied()))
                    .note(
                        "sections other than [cluster] and [hosts.*] are the settings of modules",
                    ),
            );
        }
    }

    // A module whose settings the spec gives, on roles no host has.
    for module in library.modules() {
        if module.applies_to_every_host() {
            continue;
        }
        let module_roles: Vec<&str> = module
            .roles
            .iter()
            .map(|role| role.value.as_str())
            .collect();
        let used = hosts.values().any(|host: &HostSpec| {
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
            if let Some(span) = sections
                .get(schema_section)
                .and_then(|values: &SectionValues| values.span.clone())
            {
                let header = TableReader::new(&source, document, span, String::new()).header_span();
                diagnostics.push(
                    Diagnostic::new(format!(
                        "[{schema_section}] configures module `{}`, but no host has the role{} it runs on: {}",
                        module.name,
                        if module_roles.len() == 1 { "" } else { "s" },
                        module_roles.iter().map(|role| format!("`{role}`")).collect::<Vec<_>>().join(", ")
                    ))
                    .at(&source, &header)
                    .hint(format!(
                        "add `{}` to the roles of a host, or remove [{schema_section}]",
                        module_roles.first().copied().unwrap_or_default()
                    )),
                );
            }
        }
    }

    let spec = ClusterSpec {
        directory: directory.to_path_buf(),
        name,
        domain,
        fingerprint_key,
        hosts,
        sections,
        secrets,
        library,
        source: source.clone(),
    };
    diagnostics.finish(spec)
}

fn read_host(
    source: &SourceFile,
    name: &str,
    name_span: &std::ops::Range<usize>,
    item: &crate::toml_reader::Item<'_>,
    known_roles: &[&str],
) -> Result<HostSpec, Diagnostic> {
    let context = format!("[hosts.{name}]");
    if !valid_label(name) {
        return Err(Diagnostic::new(format!("`{name}` is not a host name"))
            .at(source, name_span)
            .hint("use lowercase letters, digits and `-`, starting with a letter or digit"));
    }
    if name == Scope::CLUSTER_NAME {
        return Err(Diagnostic::new(
            "`cluster` cannot name a host: it names the cluster-wide nodes",
        )
        .at(source, name_span)
        .hint("rename the host"));
    }
    let DeValue::Table(table) = item.get_ref() else {
        return Err(Diagnostic::new(format!("{context} must be a table")).at(source, &item.span()));
    };
    let mut reader = TableReader::new(source, table, item.span(), context.clone());
    let address = reader.string("address", "\"10.0.0.1\"")?;
    if let Err(why) = crate::module::text_grammar::host_address(&address.value) {
        return Err(reader
            .error(&address.span, format!("`address` in {context}: {why}"))
            .hint(TextType::HostAddress.hint()));
    }
    let user = match reader.optional_string("user")? {
        Some(located) => Some(check_user(&reader, located, &context)?),
        None => None,
    };
    let port = reader
        .optional_integer("port", 1, 65535)?
        .map(|located| located.value as u16);
    let transport = match reader.optional_string("transport")? {
        None => cairn_lockfiles::TransportKind::Ssh,
        Some(located) => located.value.parse().map_err(|message: String| {
            reader
                .error(&located.span, message)
                .hint("`ssh` (the default) reaches the host over SSH; `local` is the machine running cairn")
        })?,
    };
    let root = match reader.optional_string("root")? {
        None => None,
        Some(located)
            if located
                .value
                .split('/')
                .any(|component| component == ".." || component == ".") =>
        {
            return Err(reader
                .error(&located.span, format!("`root` holds a `.` or `..` component: `{}`", located.value))
                .hint("name the host's folder without `.` or `..`, such as \"/srv/sandbox/node1\": `/srv/x/..` would be `/srv` itself"));
        }
        Some(located)
            if located.value.starts_with('/')
                && !located.value.trim_end_matches('/').is_empty() =>
        {
            Some(located.value.trim_end_matches('/').to_string())
        }
        // A sandbox on the machine running cairn may live beside the spec.
        Some(located)
            if transport == cairn_lockfiles::TransportKind::Local
                && !located.value.is_empty()
                && !located.value.starts_with('/') =>
        {
            Some(located.value.trim_end_matches('/').to_string())
        }
        Some(located) => {
            return Err(reader
                .error(&located.span, format!("`root` must be an absolute path other than `/`, found `{}`", located.value))
                .hint("write the folder the host's files and state live under, such as \"/srv/sandbox/node1\"; a host with transport = \"local\" may also name one relative to the spec's folder"));
        }
    };
    let id = reader
        .optional_integer("id", 1, 255)?
        .map(|located| located.value as u8);
    let (become_method, become_password) = read_become(source, &mut reader, &context)?;
    let roles_located = reader
        .string_array("roles")?
        .ok_or_else(|| reader.missing("roles", "[\"master\"]"))?;
    let mut roles = Vec::new();
    for role in &roles_located.value {
        if !known_roles.contains(&role.value.as_str()) {
            return Err(reader
                .error(
                    &role.span,
                    format!("unknown role `{}` on host `{name}`", role.value),
                )
                .maybe_hint(did_you_mean(&role.value, known_roles.iter().copied()))
                .note("a role is known when a module applies to it"));
        }
        roles.push(role.value.clone());
    }
    roles.sort();
    roles.dedup();
    if let Some(unknown) = reader.unknown_keys().into_iter().next() {
        return Err(unknown);
    }
    Ok(HostSpec {
        name: name.to_string(),
        address: address.value,
        user,
        port,
        roles,
        transport,
        root,
        id,
        become_method,
        become_password,
        span: item.span(),
        roles_span: roles_located.span,
    })
}

/// A login name as `useradd` takes it: letters, digits, `.`, `_` and `-`, not starting with
/// `-`, 32 characters at most.
fn check_user(
    reader: &TableReader<'_, '_>,
    user: Located<String>,
    context: &str,
) -> Result<String, Diagnostic> {
    let valid = !user.value.is_empty()
        && user.value.len() <= 32
        && !user.value.starts_with('-')
        && user
            .value
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "._-".contains(character));
    if valid {
        return Ok(user.value);
    }
    Err(reader
        .error(
            &user.span,
            format!(
                "`user` in {context}: `{}` is not a user name",
                user.value.escape_default()
            ),
        )
        .hint("write a login name of letters, digits, `.`, `_` and `-`, such as \"deploy\""))
}

/// `become` and `become_password` of a host: sudo, and its password as a secret reference,
/// given only with `become`.
fn read_become(
    source: &SourceFile,
    reader: &mut TableReader<'_, '_>,
    context: &str,
) -> Result<
    (
        Option<cairn_lockfiles::BecomeMethod>,
        Option<Located<SecretReference>>,
    ),
    Diagnostic,
> {
    let method = match reader.optional_string("become")? {
        None => None,
        Some(located) => Some(located.value.parse().map_err(|message: String| {
            reader.error(&located.span, message).hint(
                "`become = \"sudo\"` runs cairn's commands through sudo, for a `user` that is not root",
            )
        })?),
    };
    let password = match reader.get("become_password") {
        None => None,
        Some(item) => {
            let reference =
                secret_reference(item, source, &format!("`become_password` in {context}"))?;
            if method.is_none() {
                return Err(reader
                    .error(&item.span(), "`become_password` is given without `become`")
                    .hint("add `become = \"sudo\"`, or leave the password out"));
            }
            Some(Located::new(reference, item.span()))
        }
    };
    Ok((method, password))
}

/// A host setting must name a host of the spec, with the role the setting asks for.
fn check_host_setting(
    schema: &crate::module::setting::SettingSchema,
    value: &SettingValue,
    hosts: &BTreeMap<String, HostSpec>,
    source: &SourceFile,
    span: &std::ops::Range<usize>,
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
fn end_of_file(source: &SourceFile) -> std::ops::Range<usize> {
    let text = source.text.trim_end();
    let start = text.rfind('\n').map_or(0, |index| index + 1);
    start..text.len()
}

/// A DNS label: lowercase letters, digits and `-`, not starting or ending with `-`.
fn valid_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && !text.starts_with('-')
        && !text.ends_with('-')
        && text.chars().all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
        })
}
