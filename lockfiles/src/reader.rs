//! Reading a lockfile back: its text into tables, then into nodes through the same
//! `from_fields` the compiler uses, then the graph validated and every id recomputed and
//! compared with the recorded one.
//!
//! The text is parsed by `subset_parser` when it is in the subset of TOML the writer
//! writes (every lockfile cairn wrote: the fast way, reading a file as it streams in), else
//! by the `toml` crate into wire types (a lockfile edited by hand: valid TOML of another
//! shape reads the same, and any problem is reported as it always was, a syntax error with
//! its line and column).
//!
//! The same node on ten thousand hosts (the same file, check or command) is written with
//! the same kind, key and fields: the subset parser groups such nodes into classes, whose
//! spec is read once and cloned, and whose inputs `Lockfile::from_sorted` checks and
//! encodes once. Every node's id is still computed from its inputs and its dependencies'
//! ids, and compared with the one it records.

#[cfg(test)]
mod fuzz;
mod like_hosts;
mod node_list;
mod pin_sets;
mod recorded_digests;
mod subset_parser;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::content::{ContentHash, ContentTable, Text};
use crate::error::LockError;
use crate::host::{BecomeMethod, HostEntry, TransportKind};
use crate::lockfile::{
    ClusterInfo, FORMAT_VERSION, Lockfile, OLDEST_READ_VERSION, ORDERED_AFTER_VERSION,
};
use crate::node_id::NodeId;
use crate::node_name::NodeName;
use crate::nodes::{FieldReader, NodeSpec, PinSets, TextSource};
use crate::rollout::RolloutPolicy;
use crate::secret::{SecretEntry, SecretSource};
use crate::value::Value;
use node_list::NodeList;
use recorded_digests::RecordedDigests;

/// The format versions this reader reads.
const READ_VERSIONS: std::ops::RangeInclusive<i64> = OLDEST_READ_VERSION..=FORMAT_VERSION;

/// A lockfile's tables, parsed but not yet checked: what either parser hands over.
struct LockDocument {
    version: i64,
    /// The top-level digest, as written.
    digest: String,
    cluster: ClusterWire,
    hosts: BTreeMap<String, HostWire>,
    secrets: BTreeMap<String, SecretWire>,
    /// Each `[rollouts.NAME]` table's fields, its `digest` among them.
    rollouts: BTreeMap<String, BTreeMap<String, Value>>,
    nodes: NodeTables,
    /// Each `[package_pins.HASH]` table's fields (format 6).
    package_pins: BTreeMap<String, BTreeMap<String, Value>>,
    content: BTreeMap<String, String>,
}

/// What nodes name by hash, read and checked before the nodes: the texts of `[content]`
/// and the pin sets of `[package_pins]`.
struct SharedTables {
    content: ContentTable,
    pin_sets: PinSets,
}

/// The `[[node]]` tables, as each parser reads them.
enum NodeTables {
    /// The general parser's: each table as written, each field read.
    Written(Vec<NodeTable>),
    /// The subset parser's: names, ids and dependencies parsed, and the fields of each class
    /// of nodes (the same file, check or command on many hosts) read once.
    Read {
        nodes: Vec<ReadNode>,
        classes: Vec<SpecClass>,
        /// Whether the nodes are sorted by name, as written.
        sorted: bool,
        /// The nodes of the hosts written like another (format 7), read apart.
        like_nodes: Vec<like_hosts::LikeNode>,
    },
}

/// One `[[node]]` table: the fields every node has, and the fields of its kind as values.
struct NodeTable {
    /// `None` when missing or not a string.
    name: Option<String>,
    /// `None` when missing or not a string.
    id: Option<String>,
    deps: DepsTable,
    ordered_after: DepsTable,
    /// Each key once.
    fields: Vec<(Cow<'static, str>, Value)>,
}

/// A node as the subset parser reads it.
struct ReadNode {
    name: NodeName,
    /// The id the lockfile records.
    id: NodeId,
    /// Sorted, without duplicates.
    deps: Vec<NodeName>,
    /// Sorted, without duplicates.
    ordered_after: Vec<NodeName>,
    /// Its index in [`NodeTables::Read`]'s `classes`.
    class: usize,
}

/// The nodes written with the same kind, key and fields (their text): nodes with one spec.
struct SpecClass {
    /// The fields of the kind, read.
    fields: Vec<(Cow<'static, str>, Value)>,
    /// The first node of the class, its index in [`NodeTables::Read`]'s `nodes`.
    first: usize,
}

/// A node's `deps` (or `ordered_after`) as written.
enum DepsTable {
    Missing,
    /// An array: its items, `None` for one that is not a string.
    Names(Vec<Option<String>>),
    /// Anything but an array.
    NotAnArray,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockWire {
    version: i64,
    digest: String,
    cluster: ClusterWire,
    #[serde(default)]
    hosts: BTreeMap<String, HostWire>,
    #[serde(default)]
    secrets: BTreeMap<String, SecretWire>,
    #[serde(default)]
    rollouts: BTreeMap<String, toml::Table>,
    #[serde(default)]
    node: Vec<toml::Table>,
    #[serde(default)]
    package_pins: BTreeMap<String, toml::Table>,
    #[serde(default)]
    content: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterWire {
    name: String,
    domain: String,
    fingerprint_key: Option<SourceWire>,
    digest: String,
    nodes_digest: String,
}

/// Where a secret or the fingerprint key is read: exactly one of the two.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceWire {
    env: Option<String>,
    file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostWire {
    address: String,
    user: Option<String>,
    port: Option<u16>,
    roles: Vec<String>,
    transport: Option<String>,
    root: Option<String>,
    #[serde(rename = "become")]
    become_method: Option<String>,
    become_password: Option<String>,
    /// The host whose nodes this one's are, but for what its own tables say (format 7).
    like: Option<String>,
    digest: String,
    nodes_digest: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretWire {
    env: Option<String>,
    file: Option<String>,
    fingerprint: String,
    digest: String,
}

/// A source of exactly one of `env` and `file`.
fn read_source(source: SourceWire) -> Option<SecretSource> {
    match (source.env, source.file) {
        (Some(variable), None) => Some(SecretSource::Env(variable)),
        (None, Some(path)) => Some(SecretSource::File(path)),
        _ => None,
    }
}

#[derive(Deserialize)]
struct VersionOnly {
    version: Option<i64>,
}

/// A host's entry, checked: its transport and way to become root known, a relative
/// `root` only on a local host, a sudo password only with `become`.
fn read_host(name: &str, host: HostWire) -> Result<HostEntry, String> {
    let transport = match host.transport.as_deref() {
        None => TransportKind::Ssh,
        Some(text) => text
            .parse()
            .map_err(|message: String| format!("[hosts.{name}]: {message}"))?,
    };
    if let Some(root) = &host.root
        && !root.starts_with('/')
        && transport != TransportKind::Local
    {
        return Err(format!(
            "[hosts.{name}]: a relative `root` ({root}) is for hosts with transport = \"local\" only"
        ));
    }
    let become_method = match host.become_method.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<BecomeMethod>()
                .map_err(|message| format!("[hosts.{name}]: {message}"))?,
        ),
    };
    if host.become_password.is_some() && become_method.is_none() {
        return Err(format!(
            "[hosts.{name}]: `become_password` is for a host with `become`"
        ));
    }
    Ok(HostEntry {
        address: host.address,
        user: host.user,
        port: host.port,
        roles: host.roles,
        transport,
        root: host.root,
        become_method,
        become_password: host.become_password,
    })
}

pub(crate) fn read(text: &str, origin: &str) -> Result<Lockfile, LockError> {
    let document = match subset_parser::parse(text.as_bytes()) {
        Ok(Some(document)) => document,
        Ok(None) | Err(_) => parse_toml(text, origin)?,
    };
    read_document(document, origin)
}

/// [`read`] of a file, read as it is parsed: a lockfile the subset parser leaves to the
/// general one is read again, whole.
pub(crate) fn read_file(path: &Path) -> Result<Lockfile, LockError> {
    let origin = path.display().to_string();
    let read_error = |source| LockError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    let document = match subset_parser::parse_sized(file, size).map_err(read_error)? {
        Some(document) => document,
        None => {
            let text = std::fs::read_to_string(path).map_err(read_error)?;
            parse_toml(&text, &origin)?
        }
    };
    read_document(document, &origin)
}

/// The lockfile a document holds, checked: what both parsers' documents go through.
fn read_document(document: LockDocument, origin: &str) -> Result<Lockfile, LockError> {
    if !READ_VERSIONS.contains(&document.version) {
        return Err(unsupported(origin, document.version));
    }
    let shared = SharedTables {
        content: read_content(document.content, origin)?,
        pin_sets: pin_sets::read_pin_sets(document.package_pins, document.version, origin)?,
    };
    let mut recorded = RecordedDigests {
        version: document.version,
        whole: document.digest,
        cluster: document.cluster.digest,
        cluster_nodes: document.cluster.nodes_digest,
        ..RecordedDigests::default()
    };
    recorded.models = like_hosts::read_models(&document.hosts, document.version, origin)?;
    let hosts = read_hosts(document.hosts, &mut recorded, origin)?;
    let secrets = read_secrets(document.secrets, &mut recorded, origin)?;
    let fingerprint_key = read_fingerprint_key(document.cluster.fingerprint_key, &secrets, origin)?;
    check_become_passwords(&hosts, &secrets, origin)?;
    let nodes = NodeList::read(document.nodes, &recorded.models, &shared, origin)?;
    let cluster = ClusterInfo {
        name: document.cluster.name,
        domain: document.cluster.domain,
        fingerprint_key,
    };
    if document.version < ORDERED_AFTER_VERSION
        && let Some(node) = nodes.first_ordered_after()
    {
        return Err(LockError::InvalidNode {
            origin: origin.to_string(),
            node: node.to_string(),
            message: format!(
                "format {} has no `ordered_after`; version {ORDERED_AFTER_VERSION} added it",
                document.version
            ),
        });
    }
    let mut lockfile = nodes.into_lockfile(cluster, hosts, secrets, &shared, origin)?;
    let rollouts = read_rollouts(document.rollouts, document.version, &mut recorded, origin)?;
    lockfile.set_rollouts(rollouts);
    // The digests first: a table edited by hand is named as such, before what the edit
    // broke (a gate whose health node was deleted).
    recorded.check(&lockfile, origin)?;
    lockfile
        .check_rollouts()
        .map_err(|source| LockError::Graph {
            origin: origin.to_string(),
            source: Box::new(source),
        })?;
    Ok(lockfile)
}

/// The error of a lockfile whose tables say something impossible.
fn invalid(origin: &str, message: String) -> LockError {
    LockError::Invalid {
        origin: origin.to_string(),
        message,
    }
}

/// The `[content]` table: each text under the hash of its text, checked.
fn read_content(
    entries: BTreeMap<String, String>,
    origin: &str,
) -> Result<ContentTable, LockError> {
    let mut content = ContentTable::with_capacity_and_hasher(entries.len(), Default::default());
    for (hash_text, body) in entries {
        let hash = hash_text
            .parse::<ContentHash>()
            .map_err(|message| invalid(origin, format!("[content]: {message}")))?;
        let text = Text::new(body);
        if text.hash() != hash {
            return Err(invalid(
                origin,
                format!(
                    "[content] entry {hash} holds text whose hash is {}; the lockfile was edited by hand or damaged",
                    text.hash()
                ),
            ));
        }
        content.insert(hash, text);
    }
    Ok(content)
}

/// The `[hosts]` tables, each checked, their digests kept in `recorded`.
fn read_hosts(
    tables: BTreeMap<String, HostWire>,
    recorded: &mut RecordedDigests,
    origin: &str,
) -> Result<BTreeMap<String, HostEntry>, LockError> {
    let mut hosts = BTreeMap::new();
    for (name, mut host) in tables {
        let digests = (
            std::mem::take(&mut host.digest),
            std::mem::take(&mut host.nodes_digest),
        );
        recorded.hosts.insert(name.clone(), digests);
        let entry = read_host(&name, host).map_err(|message| invalid(origin, message))?;
        hosts.insert(name, entry);
    }
    Ok(hosts)
}

/// The `[secrets]` tables, each with exactly one source, their digests kept in `recorded`.
fn read_secrets(
    tables: BTreeMap<String, SecretWire>,
    recorded: &mut RecordedDigests,
    origin: &str,
) -> Result<BTreeMap<String, SecretEntry>, LockError> {
    let mut secrets = BTreeMap::new();
    for (name, secret) in tables {
        let source = read_source(SourceWire {
            env: secret.env,
            file: secret.file,
        })
        .ok_or_else(|| {
            invalid(
                origin,
                format!("secret `{name}` must have exactly one of `env` and `file`"),
            )
        })?;
        recorded.secrets.insert(name.clone(), secret.digest);
        secrets.insert(
            name,
            SecretEntry {
                source,
                fingerprint: secret.fingerprint,
            },
        );
    }
    Ok(secrets)
}

/// The cluster's `fingerprint_key`, with exactly one source, and present if there are secrets.
fn read_fingerprint_key(
    source: Option<SourceWire>,
    secrets: &BTreeMap<String, SecretEntry>,
    origin: &str,
) -> Result<Option<SecretSource>, LockError> {
    let fingerprint_key = match source {
        None => None,
        Some(source) => Some(read_source(source).ok_or_else(|| {
            invalid(
                origin,
                "[cluster]: `fingerprint_key` must have exactly one of `env` and `file`".into(),
            )
        })?),
    };
    if fingerprint_key.is_none() && !secrets.is_empty() {
        return Err(invalid(
            origin,
            "[cluster] has no `fingerprint_key`, but the lockfile has secrets: apply could not check them".into(),
        ));
    }
    Ok(fingerprint_key)
}

/// Refuses a host whose `become_password` names a secret `[secrets]` does not declare.
fn check_become_passwords(
    hosts: &BTreeMap<String, HostEntry>,
    secrets: &BTreeMap<String, SecretEntry>,
    origin: &str,
) -> Result<(), LockError> {
    for (name, host) in hosts {
        if let Some(secret) = &host.become_password
            && !secrets.contains_key(secret)
        {
            return Err(invalid(
                origin,
                format!(
                    "[hosts.{name}]: `become_password` names secret `{secret}`, which [secrets] does not declare"
                ),
            ));
        }
    }
    Ok(())
}

/// The `[rollouts.NAME]` tables as policies, their digests into `recorded`: none in a
/// format-3 lockfile.
fn read_rollouts(
    tables: BTreeMap<String, BTreeMap<String, Value>>,
    version: i64,
    recorded: &mut RecordedDigests,
    origin: &str,
) -> Result<BTreeMap<String, RolloutPolicy>, LockError> {
    let invalid = |name: &str, message: String| LockError::Invalid {
        origin: origin.to_string(),
        message: format!("[rollouts.{}]: {message}", crate::toml_text::key(name)),
    };
    let mut policies = BTreeMap::new();
    for (name, mut fields) in tables {
        if version < 4 {
            return Err(invalid(
                &name,
                format!("format {version} has no rollout tables; version 4 added them"),
            ));
        }
        if version < 5 && fields.contains_key("keep_releases") {
            return Err(invalid(
                &name,
                format!("format {version} has no `keep_releases`; version 5 added it"),
            ));
        }
        let Some(Value::String(digest)) = fields.remove("digest") else {
            return Err(invalid(&name, "missing string field `digest`".to_string()));
        };
        recorded.rollouts.insert(name.clone(), digest);
        let policy = RolloutPolicy::from_fields(fields)
            .map_err(|error| invalid(&name, error.to_string()))?;
        policies.insert(name, policy);
    }
    Ok(policies)
}

/// What a node table written by hand says beyond the fields of its kind: its name, the id
/// it records, its dependencies and the nodes it is ordered after (each sorted, once each).
fn read_header(table: &NodeTable, origin: &str, position: usize) -> Result<NodeHeader, LockError> {
    let node_error = |node: &str, message: String| LockError::InvalidNode {
        origin: origin.to_string(),
        node: node.to_string(),
        message,
    };
    let label = || format!("#{}", position + 1);
    let Some(name_text) = &table.name else {
        return Err(node_error(&label(), "missing string field `name`".into()));
    };
    let name: NodeName = name_text
        .parse()
        .map_err(|message| node_error(&label(), message))?;
    let id = match &table.id {
        Some(text) => text
            .parse::<NodeId>()
            .map_err(|message| node_error(name_text, message))?,
        None => return Err(node_error(name_text, "missing string field `id`".into())),
    };
    let names = |field: &str, written: &DepsTable| {
        read_names(written, |message| {
            node_error(
                name_text,
                message.unwrap_or_else(|| format!("`{field}` must be an array of node names")),
            )
        })
    };
    let deps = names("deps", &table.deps)?;
    let ordered_after = names("ordered_after", &table.ordered_after)?;
    Ok(NodeHeader {
        name,
        id,
        deps,
        ordered_after,
    })
}

/// A node table's name, recorded id, `deps` and `ordered_after`.
struct NodeHeader {
    name: NodeName,
    id: NodeId,
    deps: Vec<NodeName>,
    ordered_after: Vec<NodeName>,
}

/// A list of node names as written, sorted and once each. `error` makes the error: of a
/// string that is not a node name, with the parser's message; of anything but an array of
/// strings, without.
fn read_names(
    written: &DepsTable,
    error: impl Fn(Option<String>) -> LockError,
) -> Result<Vec<NodeName>, LockError> {
    let items = match written {
        DepsTable::Missing => return Ok(Vec::new()),
        DepsTable::Names(items) => items,
        DepsTable::NotAnArray => return Err(error(None)),
    };
    let mut names = Vec::with_capacity(items.len());
    for item in items {
        let text = item.as_ref().ok_or_else(|| error(None))?;
        names.push(
            text.parse::<NodeName>()
                .map_err(|message| error(Some(message)))?,
        );
    }
    // Written sorted, once each; read as a set, whatever the order.
    if !names.is_sorted_by(|left, right| left < right) {
        names.sort();
        names.dedup();
    }
    Ok(names)
}

/// A node's spec, from the fields of its kind, through the `from_fields` the compiler uses.
fn read_spec(
    name: &NodeName,
    mut fields: Vec<(Cow<'static, str>, Value)>,
    shared: &SharedTables,
    origin: &str,
) -> Result<Arc<NodeSpec>, LockError> {
    // A name that parsed is written as it was read.
    let node_error = |message: String| LockError::InvalidNode {
        origin: origin.to_string(),
        node: name.to_string(),
        message,
    };
    let kind = name.kind;
    let key_field = NodeSpec::key_field(kind);
    if fields.iter().any(|(field, _)| field == key_field) {
        return Err(node_error(format!(
            "`{key_field}` is the last part of the node's name and is not written again"
        )));
    }
    fields.push((
        Cow::Borrowed(key_field),
        Value::String(name.key.to_string()),
    ));
    NodeSpec::from_fields(
        kind,
        FieldReader::from_entries(fields, TextSource::Table(&shared.content))
            .with_pin_sets(&shared.pin_sets),
    )
    .map(Arc::new)
    .map_err(|error| node_error(error.to_string()))
}

/// The general route: the `toml` crate into wire types, for a lockfile outside the subset
/// the writer writes.
fn parse_toml(text: &str, origin: &str) -> Result<LockDocument, LockError> {
    let wire: LockWire = match toml::from_str(text) {
        Ok(wire) => wire,
        Err(error) => {
            // A newer format may have fields this reader does not know: say so first.
            if let Ok(VersionOnly {
                version: Some(found),
            }) = toml::from_str::<VersionOnly>(text)
                && !READ_VERSIONS.contains(&found)
            {
                return Err(unsupported(origin, found));
            }
            return Err(syntax_error(text, origin, &error));
        }
    };
    let nodes = wire
        .node
        .into_iter()
        .enumerate()
        .map(|(position, table)| node_table(table, origin, position))
        .collect::<Result<_, _>>()
        .map(NodeTables::Written)?;
    Ok(LockDocument {
        version: wire.version,
        digest: wire.digest,
        cluster: wire.cluster,
        hosts: wire.hosts,
        secrets: wire.secrets,
        rollouts: named_tables_values(wire.rollouts, "rollouts", origin)?,
        nodes,
        package_pins: named_tables_values(wire.package_pins, "package_pins", origin)?,
        content: wire.content,
    })
}

/// A node's table as the `toml` crate read it, as the reader's.
fn node_table(
    mut table: toml::Table,
    origin: &str,
    position: usize,
) -> Result<NodeTable, LockError> {
    let string = |value: Option<toml::Value>| match value {
        Some(toml::Value::String(text)) => Some(text),
        _ => None,
    };
    let name = string(table.remove("name"));
    let id = string(table.remove("id"));
    let names = |value: Option<toml::Value>| match value {
        None => DepsTable::Missing,
        Some(toml::Value::Array(items)) => {
            DepsTable::Names(items.into_iter().map(|item| string(Some(item))).collect())
        }
        Some(_) => DepsTable::NotAnArray,
    };
    let deps = names(table.remove("deps"));
    let ordered_after = names(table.remove("ordered_after"));
    let fields = table
        .into_iter()
        .map(|(field, value)| to_value(value).map(|value| (Cow::Owned(field), value)))
        .collect::<Result<_, _>>()
        .map_err(|message| LockError::InvalidNode {
            origin: origin.to_string(),
            node: name.clone().unwrap_or_else(|| format!("#{}", position + 1)),
            message,
        })?;
    Ok(NodeTable {
        name,
        id,
        deps,
        ordered_after,
        fields,
    })
}

/// A table's entries as values.
/// The values of each table of `[section.NAME]` tables, by name; an error names the
/// section.
fn named_tables_values(
    tables: BTreeMap<String, toml::Table>,
    section: &str,
    origin: &str,
) -> Result<BTreeMap<String, BTreeMap<String, Value>>, LockError> {
    tables
        .into_iter()
        .map(|(name, table)| Ok((name, table_values(table)?)))
        .collect::<Result<_, String>>()
        .map_err(|message| LockError::Invalid {
            origin: origin.to_string(),
            message: format!("[{section}]: {message}"),
        })
}

fn table_values(table: toml::Table) -> Result<BTreeMap<String, Value>, String> {
    table
        .into_iter()
        .map(|(key, item)| to_value(item).map(|item| (key, item)))
        .collect()
}

fn to_value(value: toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(text) => Value::String(text),
        toml::Value::Integer(number) => Value::Integer(number),
        toml::Value::Boolean(flag) => Value::Bool(flag),
        toml::Value::Array(items) => {
            Value::List(items.into_iter().map(to_value).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(entries) => Value::Table(table_values(entries)?),
        toml::Value::Float(_) | toml::Value::Datetime(_) => {
            return Err(format!(
                "a {} is not a value a lockfile holds",
                value.type_str()
            ));
        }
    })
}

fn unsupported(origin: &str, found: i64) -> LockError {
    LockError::UnsupportedVersion {
        origin: origin.to_string(),
        found,
        oldest: OLDEST_READ_VERSION,
        supported: FORMAT_VERSION,
    }
}

fn syntax_error(text: &str, origin: &str, error: &toml::de::Error) -> LockError {
    let (line, column) = error
        .span()
        .map(|span| line_and_column(text, span.start))
        .unwrap_or((1, 1));
    LockError::Syntax {
        origin: origin.to_string(),
        line,
        column,
        message: error.message().to_string(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::secret::secret_placeholder;
    use crate::test_fixtures::node;

    fn fields(entries: &[(&str, Value)]) -> BTreeMap<String, Value> {
        entries
            .iter()
            .map(|(key, value)| (key.to_string(), value.clone()))
            .collect()
    }

    /// Two hosts with the same nodes (the same text on both, as on ten thousand hosts), one
    /// node of its own on each, and values that need every kind of string the writer writes.
    fn two_hosts() -> Lockfile {
        two_hosts_ordered(true)
    }

    /// [`two_hosts`], where with `ordered_after` each host's health probe is ordered after
    /// its `check:os-release-too` (a format-5 field). A fixture written out node by node:
    /// as long as its nodes are many.
    fn two_hosts_ordered(ordered_after: bool) -> Lockfile {
        let mut nodes = vec![node(
            "cluster:image:app",
            &[],
            &[
                ("base", "debian:bookworm-slim".into()),
                ("packages", Value::strings(&["curl".into()])),
                (
                    "files",
                    Value::List(vec![Value::Table(fields(&[
                        ("path", "/entrypoint.sh".into()),
                        ("mode", "0755".into()),
                        (
                            "content",
                            "#!/bin/sh\necho '''quoted''' \"and\" \\back\nexec \"$@\"\n".into(),
                        ),
                    ]))]),
                ),
                ("env", Value::Table(fields(&[("A", "1".into())]))),
                ("entrypoint", Value::strings(&["/entrypoint.sh".into()])),
            ],
        )];
        for host in ["h1", "h2"] {
            let name = |rest: &str| format!("{host}:{rest}");
            nodes.extend([
                node(
                    &name("check:disk-free:/"),
                    &[],
                    &[
                        ("probe", "disk_free".into()),
                        ("path", "/".into()),
                        ("minimum_bytes", Value::Integer(1 << 30)),
                    ],
                ),
                node(
                    &name("check:os-release"),
                    &[],
                    &[
                        ("probe", "os_release".into()),
                        ("allowed", Value::strings(&["debian 12".into()])),
                    ],
                ),
                node(
                    &name("check:os-release-too"),
                    &[],
                    &[
                        ("probe", "os_release".into()),
                        ("allowed", Value::strings(&["debian 12".into()])),
                    ],
                ),
                node(
                    &name("file:/etc/app.conf"),
                    &[&name("check:disk-free:/")],
                    &[
                        (
                            "content",
                            format!(
                                "password={}\ttab\r\nend ends with a quote'",
                                secret_placeholder("app.password")
                            )
                            .into(),
                        ),
                        ("mode", "0600".into()),
                    ],
                ),
                node(
                    &name("file:/etc/hostname"),
                    &[&name("check:disk-free:/"), &name("check:os-release")],
                    &[("content", format!("{host}\n").into())],
                ),
                node(
                    &name("command:migrate"),
                    &[&name("file:/etc/app.conf")],
                    &[
                        (
                            "run",
                            "set -e\ncat <<'EOF'\n[[node]]\nEOF\napp migrate --name \"x\" \u{e9}\n"
                                .into(),
                        ),
                        ("unless", "app migrated\t\"quoted\" \\ \u{1}".into()),
                    ],
                ),
                node(
                    &name("container:app"),
                    &["cluster:image:app", &name("command:migrate")],
                    &[
                        ("image", "app".into()),
                        (
                            "env",
                            Value::Table(fields(&[
                                ("PLAIN", "x".into()),
                                (
                                    "SECRET",
                                    Value::Table(fields(&[("secret", "app.password".into())])),
                                ),
                            ])),
                        ),
                        ("ports", Value::strings(&["80:80".into()])),
                    ],
                ),
                node(
                    &name("health:app"),
                    &[&name("container:app")],
                    &[
                        ("probe", "tcp_exchange".into()),
                        ("address", "127.0.0.1:80".into()),
                        ("send", "ping\n".into()),
                        ("expect", "pong".into()),
                        ("retries", Value::Integer(3)),
                    ],
                ),
            ]);
            if ordered_after {
                let health = nodes.last_mut().unwrap();
                health.ordered_after = vec![name("check:os-release-too").parse().unwrap()];
            }
        }
        let host = |address: &str| HostEntry {
            address: address.into(),
            user: Some("root".into()),
            port: Some(22),
            roles: vec!["app".into()],
            transport: TransportKind::Ssh,
            root: None,
            become_method: None,
            become_password: None,
        };
        // A host whose user and port come from the SSH configuration, logging in as
        // `deploy` and running everything through sudo with a password.
        let sudo_host = HostEntry {
            user: Some("deploy".into()),
            port: None,
            become_method: Some(BecomeMethod::Sudo),
            become_password: Some("app.password".into()),
            ..host("10.0.0.2")
        };
        Lockfile::from_unhashed(
            ClusterInfo {
                name: "test".into(),
                domain: "test.example".into(),
                fingerprint_key: Some(SecretSource::Env("FINGERPRINT_KEY".into())),
            },
            BTreeMap::from([("h1".into(), host("10.0.0.1")), ("h2".into(), sudo_host)]),
            BTreeMap::from([(
                "app.password".to_string(),
                SecretEntry {
                    source: SecretSource::Env("APP_PASSWORD".into()),
                    fingerprint: "00112233445566778899aabbccddeeff".into(),
                },
            )]),
            nodes,
        )
        .unwrap()
        .with_rollouts(BTreeMap::from([(
            "app".to_string(),
            RolloutPolicy {
                max_parallel: crate::Parallelism::Count(1),
                last: Some(crate::LastHosts {
                    run: "test -e '/run/app.leader' && echo \"lead\"".into(),
                    are: "the app's leader".into(),
                }),
                drain: Some("touch /run/app.drained".into()),
                undrain: Some("rm -f /run/app.drained".into()),
                gates: vec!["health:app".into()],
                min_healthy_seconds: 10,
                deadline_seconds: 60,
                keep_releases: 2,
            },
        )]))
        .unwrap()
    }

    /// `two_hosts` (without `ordered_after`) as format 3 wrote it: no rollout table, the
    /// digests of format 3.
    fn two_hosts_in_format_3() -> String {
        let lockfile = two_hosts_ordered(false);
        let text = in_format(&lockfile, 3);
        let start = text.find("\n[rollouts.app]").unwrap();
        let end = start + 1 + text[start + 1..].find("\n\n").unwrap();
        format!("{}{}", &text[..start], &text[end..])
    }

    /// `lockfile`'s text as format `version` wrote it: that version, the digests it
    /// computed (what the lockfile holds must be what that format could hold).
    fn in_format(lockfile: &Lockfile, version: i64) -> String {
        let text = crate::writer::write_every_host_whole(lockfile);
        let now = crate::LockfileDigests::of(lockfile);
        let then = crate::LockfileDigests::of_format(lockfile, version);
        let mut text = text.replacen(
            &format!("version = {FORMAT_VERSION}"),
            &format!("version = {version}"),
            1,
        );
        for (name, (_, nodes)) in &now.hosts {
            text = text.replacen(&nodes.to_string(), &then.hosts[name].1.to_string(), 1);
        }
        if version < 5 {
            // Format 3 has no rollout table at all (its callers remove them).
            for (name, policy) in lockfile.rollouts() {
                text = text.replacen(
                    &format!("keep_releases = {}\n", policy.keep_releases),
                    "",
                    1,
                );
                if let Some(digest) = then.rollouts.get(name) {
                    text = text.replacen(&now.rollouts[name].to_string(), &digest.to_string(), 1);
                }
            }
        }
        text.replacen(
            &now.cluster_nodes.to_string(),
            &then.cluster_nodes.to_string(),
            1,
        )
        .replacen(&now.whole.to_string(), &then.whole.to_string(), 1)
    }

    #[test]
    fn a_format_4_lockfile_still_reads() {
        let lockfile = two_hosts_ordered(false);
        let read = Lockfile::parse(&in_format(&lockfile, 4), "old.lock").unwrap();
        assert_eq!(read.nodes(), lockfile.nodes());
        assert_eq!(read.rollouts(), lockfile.rollouts());
        assert_eq!(read.to_toml(), lockfile.to_toml());
    }

    #[test]
    fn ordered_after_is_refused_in_a_format_4_lockfile() {
        let error = outcome(read(&in_format(&two_hosts(), 4), "old.lock")).unwrap_err();
        assert!(
            error.contains("h1:health:app") && error.contains("format 4 has no `ordered_after`"),
            "{error}"
        );
    }

    #[test]
    fn ordered_after_reads_back_by_either_parser() {
        let lockfile = two_hosts();
        let text = lockfile.to_toml();
        assert!(
            text.contains("ordered_after = [\n    \"h1:check:os-release-too\",\n]\n"),
            "{text}"
        );
        for read in [read(&text, "test.lock"), read_with_toml(&text)] {
            let read = read.unwrap();
            assert_eq!(read.nodes(), lockfile.nodes());
            assert_eq!(read.to_toml(), text);
        }
    }

    /// No id covers `ordered_after`: the host's `nodes_digest` does, so a hand edit (an
    /// order-only dependency removed, or added) is refused, naming the host's nodes.
    #[test]
    fn an_edited_ordered_after_is_refused_by_the_hosts_nodes_digest() {
        let text = two_hosts().to_toml();
        let removed = text.replacen(
            "ordered_after = [\n    \"h1:check:os-release-too\",\n]\n",
            "",
            1,
        );
        let added = text.replacen(
            "ordered_after = [\n    \"h1:check:os-release-too\",\n]\n",
            "ordered_after = [\n    \"h1:check:os-release\",\n    \"h1:check:os-release-too\",\n]\n",
            1,
        );
        for edited in [removed, added] {
            assert_ne!(edited, text);
            for result in [read(&edited, "test.lock"), read_with_toml(&edited)] {
                let error = outcome(result).unwrap_err();
                assert!(error.contains("the set of host `h1`'s nodes"), "{error}");
            }
        }
    }

    /// `two_hosts` (without `ordered_after`) as format 4 wrote it: no `keep_releases`, the
    /// digests of format 4.
    fn two_hosts_in_format_4() -> String {
        in_format(&two_hosts_ordered(false), 4)
    }

    #[test]
    fn a_format_4_lockfile_reads_with_its_containers_keeping_two_releases() {
        let text = two_hosts_in_format_4();
        assert!(!text.contains("keep_releases"), "{text}");
        let read = Lockfile::parse(&text, "old.lock").unwrap();
        assert_eq!(read.rollout("app").unwrap().keep_releases, 2);
        assert_eq!(read.rollouts(), two_hosts_ordered(false).rollouts());
    }

    #[test]
    fn keep_releases_is_refused_in_a_format_4_lockfile() {
        let text = two_hosts_in_format_4().replacen(
            "deadline_seconds = 60\n",
            "deadline_seconds = 60\nkeep_releases = 2\n",
            1,
        );
        let error = outcome(read(&text, "old.lock")).unwrap_err();
        assert!(
            error.contains("format 4 has no `keep_releases`; version 5 added it"),
            "{error}"
        );
    }

    #[test]
    fn keep_releases_is_covered_by_the_rollout_digest() {
        let text = two_hosts().to_toml();
        let edited = text.replacen("keep_releases = 2", "keep_releases = 3", 1);
        let error = outcome(read(&edited, "test.lock")).unwrap_err();
        assert!(error.contains("[rollouts.app] was edited"), "{error}");
    }

    #[test]
    fn a_format_3_lockfile_reads_with_the_default_rollouts() {
        let read = Lockfile::parse(&two_hosts_in_format_3(), "old.lock").unwrap();
        assert_eq!(
            read.rollout("app"),
            Some(&RolloutPolicy::default_with_gates(vec![
                "health:app".into()
            ]))
        );
    }

    #[test]
    fn a_rollout_table_is_covered_by_its_digest_and_by_the_format() {
        let text = two_hosts().to_toml();
        let edited = text.replacen("max_parallel = 1", "max_parallel = 2", 1);
        let error = outcome(read(&edited, "test.lock")).unwrap_err();
        assert!(error.contains("[rollouts.app] was edited"), "{error}");
        let removed = text.replacen("[rollouts.app]", "[rollouts.other]", 1);
        let error = outcome(read(&removed, "test.lock")).unwrap_err();
        assert!(
            error.contains("[rollouts.app] (removed) was edited"),
            "{error}"
        );
        let old = two_hosts_in_format_3().replacen(
            "\n[[node]]",
            "\n[rollouts.app]\ndigest = \"0\"\n\n[[node]]",
            1,
        );
        let error = outcome(read(&old, "old.lock")).unwrap_err();
        assert!(error.contains("format 3 has no rollout tables"), "{error}");
    }

    /// What reading gives, comparable: the lockfile's text as written again, or the error.
    fn outcome(result: Result<Lockfile, LockError>) -> Result<String, String> {
        result
            .map(|lockfile| lockfile.to_toml())
            .map_err(|error| error.to_string())
    }

    /// Reading through the general parser alone.
    fn read_with_toml(text: &str) -> Result<Lockfile, LockError> {
        read_document(parse_toml(text, "test.lock")?, "test.lock")
    }

    #[test]
    fn a_host_becomes_root_only_as_known_and_with_a_declared_password() {
        let text = two_hosts().to_toml();
        assert!(
            text.contains("user = \"deploy\"\nroles = [\"app\"]\nbecome = \"sudo\"\nbecome_password = \"app.password\"\n"),
            "{text}"
        );
        for (case, broken, expected) in [
            (
                "an unknown method",
                text.replacen("become = \"sudo\"", "become = \"doas\"", 1),
                "[hosts.h2]: `doas` is not a way to become root",
            ),
            (
                "an undeclared password",
                text.replacen(
                    "become_password = \"app.password\"",
                    "become_password = \"other\"",
                    1,
                ),
                "[hosts.h2]: `become_password` names secret `other`, which [secrets] does not declare",
            ),
            (
                "a password without become",
                text.replacen("become = \"sudo\"\n", "", 1),
                "[hosts.h2]: `become_password` is for a host with `become`",
            ),
        ] {
            let error = read(&broken, "test.lock").unwrap_err().to_string();
            assert!(error.contains(expected), "{case}: {error}");
        }
    }

    #[test]
    fn what_the_writer_writes_is_in_the_subset_and_reads_back_the_same() {
        let lockfile = two_hosts();
        let text = lockfile.to_toml();
        assert!(
            subset_parser::parse(text.as_bytes()).unwrap().is_some(),
            "{text}"
        );
        let read = read(&text, "test.lock").unwrap();
        assert_eq!(read.nodes(), lockfile.nodes());
        assert_eq!(read.hosts, lockfile.hosts);
        assert_eq!(read.secrets, lockfile.secrets);
        assert_eq!(read.cluster, lockfile.cluster);
        assert_eq!(read.to_toml(), text);
        assert_eq!(read_with_toml(&text).unwrap().nodes(), lockfile.nodes());
        // A read lockfile keeps the inputs id of each class: the same as computed.
        for (read_node, node) in read.nodes().iter().zip(lockfile.nodes()) {
            assert_eq!(read.inputs_id(read_node), lockfile.inputs_id(node));
            assert_eq!(read.inputs_id(node), lockfile.inputs_id(node));
        }
        // The hosts' shared nodes are one spec each, as their ids say.
        let id = |name: &str| read.node(&name.parse().unwrap()).unwrap().id;
        assert_eq!(id("h1:command:migrate"), id("h2:command:migrate"));
        assert_ne!(id("h1:file:/etc/hostname"), id("h2:file:/etc/hostname"));
    }

    /// Valid TOML of other shapes than the writer's (a lockfile edited by hand, carefully),
    /// and invalid text: either way, what the general parser makes of it. One table of
    /// cases, each a text and what is expected of it: as long as the table.
    #[test]
    fn text_outside_the_subset_reads_as_the_general_parser_reads_it() {
        let text = two_hosts().to_toml();
        let edits: Vec<(&str, String)> = vec![
            (
                "a literal string",
                text.replacen("user = \"root\"", "user = 'root'", 1),
            ),
            ("id before name", {
                let first = text.find("[[node]]\nname = ").unwrap();
                let name_line_end = text[first + 9..].find('\n').unwrap() + first + 9;
                let id_line_end = text[name_line_end + 1..].find('\n').unwrap() + name_line_end + 1;
                format!(
                    "{}{}\n{}{}",
                    &text[..first + 9],
                    &text[name_line_end + 1..id_line_end],
                    &text[first + 9..name_line_end],
                    &text[id_line_end..]
                )
            }),
            (
                "deps after the fields",
                text.replacen(
                    "deps = [\n    \"h1:check:disk-free:/\",\n]\ncontent",
                    "content",
                    1,
                )
                .replacen(
                    "mode = \"0600\"\n",
                    "mode = \"0600\"\ndeps = [\"h1:check:disk-free:/\"]\n",
                    1,
                ),
            ),
            (
                "deps inline",
                text.replacen(
                    "deps = [\n    \"h1:check:disk-free:/\",\n]",
                    "deps = [ \"h1:check:disk-free:/\" ] # one",
                    1,
                ),
            ),
            (
                "comments",
                text.replace("\n[[node]]\n", "\n# a node\n[[node]] # here\n"),
            ),
            (
                "a comment between fields",
                text.replacen(
                    "probe = \"disk_free\"\n",
                    "probe = \"disk_free\"\n  # why\n",
                    1,
                ),
            ),
            (
                "a table header with spaces",
                text.replacen("[cluster]", "[ cluster ]", 1),
            ),
            (
                "a quoted key",
                text.replacen("address = ", "\"address\" = ", 1),
            ),
            (
                "a dotted key",
                text.replacen("domain = ", "cluster.domain = ", 1),
            ),
            (
                "an integer with underscores",
                text.replacen("port = 22", "port = 2_2", 1),
            ),
            (
                "a hex integer",
                text.replacen("port = 22", "port = 0x16", 1),
            ),
            ("CRLF line endings", text.replace('\n', "\r\n")),
            ("nodes out of order", {
                let start = text
                    .find("[[node]]\nname = \"h1:check:disk-free:/\"")
                    .unwrap();
                let end = text[start..].find("\n\n").unwrap() + start + 2;
                let block = &text[start..end];
                let content = text.find("[content]").unwrap();
                format!("{}{}\n{}", &text[..start], &text[end..content], block) + &text[content..]
            }),
            (
                "the same key twice",
                text.replacen("user = \"root\"", "user = \"root\"\nuser = \"root\"", 1),
            ),
            (
                "a node field twice",
                text.replacen("mode = \"0600\"", "mode = \"0600\"\nmode = \"0600\"", 1),
            ),
            (
                "the same host twice",
                text.replacen("[hosts.h2]", "[hosts.h1]", 1),
            ),
            (
                "cluster twice",
                text.replacen("[hosts.h1]", "[cluster]\n\n[hosts.h1]", 1),
            ),
            (
                "a missing value",
                text.replacen(&format!("version = {FORMAT_VERSION}"), "version = ", 1),
            ),
            (
                "an unterminated string",
                text.replacen("user = \"root\"", "user = \"root", 1),
            ),
            (
                "an unknown escape",
                text.replacen("\"debian 12\"", "\"debian\\q 12\"", 1),
            ),
            (
                "a unicode escape",
                text.replacen("\"debian 12\"", "\"debian\\u0020\\U0000004112\"", 1),
            ),
            ("a float", text.replacen("retries = 3", "retries = 3.5", 1)),
            (
                "a date",
                text.replacen("retries = 3", "retries = 1979-05-27", 1),
            ),
            (
                "a leading zero",
                text.replacen("retries = 3", "retries = 03", 1),
            ),
            (
                "a negative integer",
                text.replacen("retries = 3", "retries = -3", 1),
            ),
            (
                "a boolean",
                text.replacen("retries = 3", "retries = true", 1),
            ),
            (
                "a control character",
                text.replacen("debian 12", "debian\u{1}12", 1),
            ),
            ("a raw tab", text.replacen("debian 12", "debian\t12", 1)),
            (
                "a C1 control character",
                text.replacen("debian 12", "debian\u{85}12", 1),
            ),
            (
                "a delete character",
                text.replacen("debian 12", "debian\u{7f}12", 1),
            ),
            (
                "a non-ASCII letter",
                text.replacen("debian 12", "d\u{e9}bian 12", 1),
            ),
            (
                "a non-ASCII key",
                text.replacen("retries = 3", "r\u{e9}tries = 3", 1),
            ),
            (
                "a name that is not a string",
                text.replacen("name = \"h1:check:os-release\"", "name = 7", 1),
            ),
            (
                "a missing id",
                text.replacen(
                    "[[node]]\nname = \"h1:check:os-release\"\nid = ",
                    "[[node]]\nname = \"h1:check:os-release\"\nother = ",
                    1,
                ),
            ),
            (
                "deps not an array",
                text.replacen(
                    "deps = [\n    \"h1:check:disk-free:/\",\n]",
                    "deps = \"h1:check:disk-free:/\"",
                    1,
                ),
            ),
            (
                "a dependency that is not a string",
                text.replacen(
                    "    \"h1:check:disk-free:/\",\n]",
                    "    \"h1:check:disk-free:/\", 5,\n]",
                    1,
                ),
            ),
            (
                "an unknown field",
                text.replacen("retries = 3", "retries = 3\nretry = 4", 1),
            ),
            (
                "an unknown top-level key",
                text.replacen(
                    &format!("version = {FORMAT_VERSION}"),
                    &format!("version = {FORMAT_VERSION}\nnew = true"),
                    1,
                ),
            ),
            (
                "a newer version",
                text.replacen(
                    &format!("version = {FORMAT_VERSION}"),
                    &format!("version = {}", FORMAT_VERSION + 1),
                    1,
                ),
            ),
            (
                "a multi-line string ending in quotes",
                text.replacen("'''\nexpect", "''''\nexpect", 1),
            ),
            (
                "a trailing comma in an inline table",
                text.replacen(
                    "{ secret = \"app.password\" }",
                    "{ secret = \"app.password\", }",
                    1,
                ),
            ),
            (
                "an inline table over lines",
                text.replacen(
                    "{ secret = \"app.password\" }",
                    "{\n secret = \"app.password\" }",
                    1,
                ),
            ),
            ("an empty text", String::new()),
            (
                "no cluster",
                text.replacen(
                    "[cluster]\nname = \"test\"\ndomain = \"test.example\"\n",
                    "[other]\n",
                    1,
                ),
            ),
            ("a byte order mark", format!("\u{feff}{text}")),
        ];
        for (label, edited) in edits {
            assert_ne!(edited, text, "{label}: the edit applies");
            assert_eq!(
                outcome(read(&edited, "test.lock")),
                outcome(read_with_toml(&edited)),
                "{label}"
            );
        }
    }

    /// Every line removed, doubled, or broken: the subset parser reads what it can exactly as
    /// the general parser does, and leaves the rest to it.
    #[test]
    fn every_line_edited_reads_as_the_general_parser_reads_it() {
        let text = two_hosts().to_toml();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for index in 0..lines.len() {
            let with = |replacement: &str| {
                let mut edited = lines[..index].concat();
                edited.push_str(replacement);
                edited.push_str(&lines[index + 1..].concat());
                edited
            };
            let line = lines[index];
            for edited in [
                with(""),
                with(&format!("{line}{line}")),
                with(&format!("x{line}")),
                with(&line.replacen('"', "", 1)),
                with(&line.replacen(" = ", " = = ", 1)),
                with(&format!("{} # note\n", line.trim_end_matches('\n'))),
            ] {
                assert_eq!(
                    outcome(read(&edited, "test.lock")),
                    outcome(read_with_toml(&edited)),
                    "line {}: {line:?}",
                    index + 1
                );
            }
        }
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let text = two_hosts().to_toml();
        let line = text[..text.find("retries = 3").unwrap()]
            .matches('\n')
            .count()
            + 1;
        let edited = text.replacen("retries = 3", "retries = \"3", 1);
        let error = read(&edited, "test.lock").unwrap_err().to_string();
        assert!(error.starts_with(&format!("test.lock:{line}:")), "{error}");
    }

    /// Nodes that share their text with other hosts' (hosts written whole) are still
    /// checked one by one.
    #[test]
    fn a_shared_node_edited_on_one_host_is_refused_naming_it() {
        let text = crate::writer::write_every_host_whole(&two_hosts());
        let h2 = text.find("name = \"h2:command:migrate\"").unwrap();
        let recorded = |name: &str| {
            let at = text.find(&format!("name = \"{name}\"\nid = \"")).unwrap() + name.len() + 15;
            text[at..at + 32].to_string()
        };
        for (label, edited) in [
            (
                "its id",
                format!(
                    "{}{}",
                    &text[..h2],
                    text[h2..].replacen(
                        &recorded("h2:command:migrate"),
                        &recorded("h2:check:os-release"),
                        1
                    )
                ),
            ),
            (
                "a field",
                format!(
                    "{}{}",
                    &text[..h2],
                    text[h2..].replacen("app migrate", "app migrate --force", 1)
                ),
            ),
            (
                "a dependency",
                format!(
                    "{}{}",
                    &text[..h2],
                    text[h2..].replacen("deps = [\n    \"h2:file:/etc/app.conf\",\n]\n", "", 1)
                ),
            ),
        ] {
            assert_ne!(edited, text, "{label}");
            let error = read(&edited, "test.lock").unwrap_err().to_string();
            assert!(
                error.contains("node `h2:command:migrate` records id"),
                "{label}: {error}"
            );
        }
    }

    /// `check:os-release` and `check:os-release-too` are written with the same fields.
    #[test]
    fn nodes_with_the_same_fields_and_different_keys_keep_their_keys() {
        let text = two_hosts().to_toml();
        let read = read(&text, "test.lock").unwrap();
        for node in read.nodes() {
            assert_eq!(node.spec.key(), &*node.name.key, "{}", node.name);
        }
        let spec = |name: &str| &read.node(&name.parse().unwrap()).unwrap().spec;
        assert_ne!(spec("h2:check:os-release"), spec("h2:check:os-release-too"));
    }

    /// The fast way is the way of every lockfile cairn writes: a writer change that leaves
    /// the subset would make reading slow, not wrong, so it is caught here.
    #[test]
    fn the_committed_example_lockfiles_are_in_the_subset() {
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        for example in ["quickstart", "dcos-ha", "lab"] {
            let path = examples.join(example).join("cluster.lock");
            let text = std::fs::read_to_string(&path).unwrap();
            let document = subset_parser::parse(text.as_bytes()).unwrap();
            assert!(document.is_some(), "{}", path.display());
        }
    }

    /// However the text comes in, cut before any `[[node]]` line, it reads the same; a cut
    /// inside a multi-line string (a command's script holds such a line) leaves the text to
    /// the general parser.
    #[test]
    fn a_lockfile_read_in_chunks_of_any_size_reads_the_same() {
        let text = two_hosts().to_toml();
        assert!(text.contains("\n[[node]]\nEOF\n"));
        let mut left = 0;
        // The size a file's metadata gives, as it is, or off (the file changed meanwhile).
        let length = text.len() as u64;
        let sizes = [None, Some(length), Some(1), Some(3 * length)];
        for (chunk, size) in [1, 7, 64, 300, 1000, 1 << 20]
            .into_iter()
            .flat_map(|chunk| sizes.map(|size| (chunk, size)))
        {
            match subset_parser::parse_in_chunks(text.as_bytes(), chunk, size).unwrap() {
                Some(document) => assert_eq!(
                    outcome(read_document(document, "test.lock")),
                    Ok(text.clone()),
                    "in chunks of {chunk}, of a source said to be {size:?} bytes"
                ),
                None => left += 1,
            }
        }
        assert!(left > 0, "a cut inside the script");
        assert!(subset_parser::parse(text.as_bytes()).unwrap().is_some());
        assert_eq!(outcome(read(&text, "test.lock")), Ok(text.clone()));
    }

    #[test]
    fn a_file_is_read_as_its_text_is() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("cluster.lock");
        let text = two_hosts().to_toml();
        std::fs::write(&path, &text).unwrap();
        assert_eq!(outcome(read_file(&path)), Ok(text.clone()));
        let edited = text.replacen("user = \"root\"", "user = 'root'", 1);
        std::fs::write(&path, &edited).unwrap();
        assert_eq!(outcome(read_file(&path)), Ok(text));
        std::fs::write(&path, "version = \n").unwrap();
        let error = read_file(&path).unwrap_err().to_string();
        assert!(error.contains("cluster.lock:1:"), "{error}");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(matches!(read_file(&path), Err(LockError::Read { .. })));
    }
}
