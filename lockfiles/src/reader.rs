//! Reading a lockfile back: TOML into wire types, then into nodes through the same
//! `from_fields` the compiler uses, then the graph validated and every id recomputed and
//! compared with the recorded one.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::content::{ContentHash, Text};
use crate::error::LockError;
use crate::host::{HostEntry, TransportKind};
use crate::lockfile::{ClusterInfo, FORMAT_VERSION, Lockfile, UnhashedNode};
use crate::node_id::NodeId;
use crate::node_name::NodeName;
use crate::nodes::{FieldReader, NodeSpec, TextSource};
use crate::secret::{SecretEntry, SecretSource};
use crate::value::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockWire {
    version: i64,
    cluster: ClusterWire,
    #[serde(default)]
    hosts: BTreeMap<String, HostWire>,
    #[serde(default)]
    secrets: BTreeMap<String, SecretWire>,
    #[serde(default)]
    node: Vec<toml::Table>,
    #[serde(default)]
    content: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterWire {
    name: String,
    domain: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostWire {
    address: String,
    user: String,
    port: u16,
    roles: Vec<String>,
    transport: Option<String>,
    root: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretWire {
    env: Option<String>,
    file: Option<String>,
    fingerprint: String,
}

#[derive(Deserialize)]
struct VersionOnly {
    version: Option<i64>,
}

pub(crate) fn read(text: &str, origin: &str) -> Result<Lockfile, LockError> {
    let wire: LockWire = match toml::from_str(text) {
        Ok(wire) => wire,
        Err(error) => {
            // A newer format may have fields this reader does not know: say so first.
            if let Ok(VersionOnly {
                version: Some(found),
            }) = toml::from_str::<VersionOnly>(text)
                && found != FORMAT_VERSION
            {
                return Err(unsupported(origin, found));
            }
            return Err(syntax_error(text, origin, &error));
        }
    };
    if wire.version != FORMAT_VERSION {
        return Err(unsupported(origin, wire.version));
    }
    let invalid = |message: String| LockError::Invalid {
        origin: origin.to_string(),
        message,
    };

    let mut content: BTreeMap<ContentHash, Text> = BTreeMap::new();
    for (hash_text, body) in wire.content {
        let hash = hash_text
            .parse::<ContentHash>()
            .map_err(|message| invalid(format!("[content]: {message}")))?;
        let text = Text::new(body);
        if text.hash() != hash {
            return Err(invalid(format!(
                "[content] entry {hash} holds text whose hash is {}; the lockfile was edited by hand or damaged",
                text.hash()
            )));
        }
        content.insert(hash, text);
    }

    let mut hosts = BTreeMap::new();
    for (name, host) in wire.hosts {
        let transport = match host.transport.as_deref() {
            None => TransportKind::Ssh,
            Some(text) => text
                .parse()
                .map_err(|message: String| invalid(format!("[hosts.{name}]: {message}")))?,
        };
        if let Some(root) = &host.root
            && !root.starts_with('/')
            && transport != TransportKind::Local
        {
            return Err(invalid(format!(
                "[hosts.{name}]: a relative `root` ({root}) is for hosts with transport = \"local\" only"
            )));
        }
        hosts.insert(
            name,
            HostEntry {
                address: host.address,
                user: host.user,
                port: host.port,
                roles: host.roles,
                transport,
                root: host.root,
            },
        );
    }
    let mut secrets = BTreeMap::new();
    for (name, secret) in wire.secrets {
        let source = match (secret.env, secret.file) {
            (Some(variable), None) => SecretSource::Env(variable),
            (None, Some(path)) => SecretSource::File(path),
            _ => {
                return Err(invalid(format!(
                    "secret `{name}` must have exactly one of `env` and `file`"
                )));
            }
        };
        secrets.insert(
            name,
            SecretEntry {
                source,
                fingerprint: secret.fingerprint,
            },
        );
    }

    let mut unhashed = Vec::with_capacity(wire.node.len());
    let mut recorded_ids: Vec<NodeId> = Vec::with_capacity(wire.node.len());
    let mut used_content: BTreeSet<ContentHash> = BTreeSet::new();
    for (position, table) in wire.node.into_iter().enumerate() {
        let (node, id) = read_node(table, &content, origin, position)?;
        used_content.extend(node.spec.texts().iter().map(Text::hash));
        recorded_ids.push(id);
        unhashed.push(node);
    }
    if let Some(unused) = content.keys().find(|hash| !used_content.contains(hash)) {
        return Err(invalid(format!(
            "[content] entry {unused} is used by no node; the lockfile was edited by hand or damaged"
        )));
    }
    // `from_unhashed` sorts the nodes by name (a stable sort); the recorded ids follow them
    // there. A lockfile is written sorted, so this is one comparison per node.
    let mut by_name: Vec<usize> = (0..unhashed.len()).collect();
    by_name.sort_by(|&left, &right| unhashed[left].name.cmp(&unhashed[right].name));
    let recorded_ids: Vec<NodeId> = by_name
        .into_iter()
        .map(|position| recorded_ids[position])
        .collect();

    let lockfile = Lockfile::from_unhashed(
        ClusterInfo {
            name: wire.cluster.name,
            domain: wire.cluster.domain,
        },
        hosts,
        secrets,
        unhashed,
    )
    .map_err(|source| LockError::Graph {
        origin: origin.to_string(),
        source: Box::new(source),
    })?;
    for (node, &recorded) in lockfile.nodes().iter().zip(&recorded_ids) {
        if recorded != node.id {
            return Err(LockError::IdMismatch {
                origin: origin.to_string(),
                node: Box::new(node.name.clone()),
                recorded,
                computed: node.id,
            });
        }
    }
    Ok(lockfile)
}

fn read_node(
    mut table: toml::Table,
    content: &BTreeMap<ContentHash, Text>,
    origin: &str,
    position: usize,
) -> Result<(UnhashedNode, NodeId), LockError> {
    let label = format!("#{}", position + 1);
    let node_error = |node: &str, message: String| LockError::InvalidNode {
        origin: origin.to_string(),
        node: node.to_string(),
        message,
    };
    let name_text = match table.remove("name") {
        Some(toml::Value::String(text)) => text,
        _ => return Err(node_error(&label, "missing string field `name`".into())),
    };
    let name: NodeName = name_text
        .parse()
        .map_err(|message| node_error(&label, message))?;
    let id = match table.remove("id") {
        Some(toml::Value::String(text)) => text
            .parse::<NodeId>()
            .map_err(|message| node_error(&name_text, message))?,
        _ => return Err(node_error(&name_text, "missing string field `id`".into())),
    };
    let deps = match table.remove("deps") {
        None => BTreeSet::new(),
        Some(toml::Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                toml::Value::String(text) => text.parse::<NodeName>(),
                _ => Err("`deps` must be an array of node names".to_string()),
            })
            .collect::<Result<_, _>>()
            .map_err(|message| node_error(&name_text, message))?,
        Some(_) => {
            return Err(node_error(
                &name_text,
                "`deps` must be an array of node names".into(),
            ));
        }
    };
    let key_field = NodeSpec::key_field(name.kind);
    if table.contains_key(key_field) {
        return Err(node_error(
            &name_text,
            format!("`{key_field}` is the last part of the node's name and is not written again"),
        ));
    }
    let mut fields = table
        .into_iter()
        .map(|(field, value)| to_value(value).map(|value| (field, value)))
        .collect::<Result<BTreeMap<_, _>, _>>()
        .map_err(|message| node_error(&name_text, message))?;
    fields.insert(key_field.to_string(), Value::String(name.key.clone()));
    let spec = NodeSpec::from_fields(
        name.kind,
        FieldReader::new(fields, TextSource::Table(content)),
    )
    .map_err(|error| node_error(&name_text, error.to_string()))?;
    Ok((UnhashedNode { name, deps, spec }, id))
}

fn to_value(value: toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(text) => Value::String(text),
        toml::Value::Integer(number) => Value::Integer(number),
        toml::Value::Boolean(flag) => Value::Bool(flag),
        toml::Value::Array(items) => {
            Value::List(items.into_iter().map(to_value).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(entries) => Value::Table(
            entries
                .into_iter()
                .map(|(key, item)| to_value(item).map(|item| (key, item)))
                .collect::<Result<_, _>>()?,
        ),
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
