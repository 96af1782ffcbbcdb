//! `[hosts.<name>]`: each host's address, how it is reached, its roles and id; and the
//! checks across hosts (ids unique, an id on every host of a module that numbers its
//! hosts by them).

use std::collections::BTreeMap;

use cairn_lockfiles::Scope;
use toml::de::DeValue;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::module::library::ModuleLibrary;
use crate::module::setting::{SecretReference, secret_reference};
use crate::module::text_type::TextType;
use crate::source_file::SourceFile;
use crate::spec::cluster_spec::HostSpec;
use crate::spec::cluster_table::valid_label;
use crate::suggest::did_you_mean;
use crate::toml_reader::{Located, TableReader};

/// Reads `[hosts]`, a host at a time, recording every problem.
pub(super) fn read_hosts(
    top: &mut TableReader<'_, '_>,
    source: &SourceFile,
    known_roles: &[&str],
    diagnostics: &mut Diagnostics,
) -> Result<BTreeMap<String, HostSpec>, Diagnostic> {
    let mut hosts = BTreeMap::new();
    match top.optional_table("hosts")? {
        None => diagnostics.push(
            Diagnostic::new("the spec has no hosts")
                .at(source, &(0..0))
                .hint("add a [hosts.<name>] table for each host, with `address` and `roles`"),
        ),
        Some((table, span)) if table.is_empty() => diagnostics.push(
            Diagnostic::new("[hosts] names no host")
                .at(source, &span)
                .hint("add a [hosts.<name>] table for each host, with `address` and `roles`"),
        ),
        Some((table, _)) => {
            for (host_key, host_item) in table.iter() {
                let host_name = host_key.get_ref().to_string();
                if let Some(host) = diagnostics.ok(read_host(
                    source,
                    &host_name,
                    &host_key.span(),
                    host_item,
                    known_roles,
                )) {
                    hosts.insert(host_name, host);
                }
            }
        }
    }
    Ok(hosts)
}

/// Host ids: unique, and on every host of a module that numbers its hosts by them.
pub(super) fn check_host_ids(
    hosts: &BTreeMap<String, HostSpec>,
    library: &ModuleLibrary,
    source: &SourceFile,
    diagnostics: &mut Diagnostics,
) {
    let mut id_owners: BTreeMap<u8, &str> = BTreeMap::new();
    for host in hosts.values() {
        let Some(id) = host.id else { continue };
        if let Some(owner) = id_owners.insert(id, &host.name) {
            diagnostics.push(
                Diagnostic::new(format!(
                    "hosts `{owner}` and `{}` both have `id = {id}`",
                    host.name
                ))
                .at(source, &host.span)
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
                    .at(source, &host.span)
                    .note("an id stays with its host: adding or renaming a host renumbers no other (ZooKeeper's myid, MySQL's server-id)")
                    .hint(format!(
                        "add `id = {free}` to [hosts.{}]: a number from 1 to 255, unique in the cluster",
                        host.name
                    )),
                );
            }
        }
    }
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
    let root = read_root(&mut reader, transport)?;
    let id = reader
        .optional_integer("id", 1, 255)?
        .map(|located| located.value as u8);
    let (become_method, become_password) = read_become(source, &mut reader, &context)?;
    let (roles, roles_span) = read_roles(&mut reader, name, known_roles)?;
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
        roles_span,
    })
}

/// `roles`: each one a role some module applies to; sorted, without duplicates.
fn read_roles(
    reader: &mut TableReader<'_, '_>,
    name: &str,
    known_roles: &[&str],
) -> Result<(Vec<String>, std::ops::Range<usize>), Diagnostic> {
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
    Ok((roles, roles_located.span))
}

/// `root`: the folder a host's files and state live under, absolute (a local host's may be
/// relative to the spec's folder), never `/`, without `.` or `..` components.
fn read_root(
    reader: &mut TableReader<'_, '_>,
    transport: cairn_lockfiles::TransportKind,
) -> Result<Option<String>, Diagnostic> {
    Ok(match reader.optional_string("root")? {
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
