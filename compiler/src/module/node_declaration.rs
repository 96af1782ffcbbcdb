use std::ops::Range;

use cairn_lockfiles::NodeKind;
use toml::de::DeValue;

use crate::diagnostic::Diagnostic;
use crate::module::barrier_declaration::{
    BARRIER_KEYS, BarrierDeclaration, read_barriers, refuse_barriers,
};
use crate::module::claim::{Claim, read_claim};
use crate::module::rollout_declaration::{RolloutDeclaration, read_rollout};
use crate::source_file::SourceFile;
use crate::toml_reader::{Item, Located, TableReader, integer_of, type_name};

/// A field value as a module declares it. Strings are templates: `"{{ expr }}"` alone keeps
/// the expression's type (an integer, a list, a secret); any other string renders to text.
#[derive(Debug, Clone)]
pub enum DeclaredValue {
    String(String),
    Integer(i64),
    Boolean(bool),
    List(Vec<Located<DeclaredValue>>),
    Table(Vec<(Located<String>, Located<DeclaredValue>)>),
}

/// A dependency as a module declares it.
#[derive(Debug, Clone)]
pub enum DependencyReference {
    /// `"kind:key"`: the node of that kind and key on the same host (for `image:`, the
    /// cluster's image). A key of `*` means every node of that kind on the host.
    /// `{ node = "kind:key", optional = true }`: that node if the host has it (a module
    /// left out by `exclude_modules` emits none), else no dependency.
    Local {
        kind: NodeKind,
        key: String,
        optional: bool,
    },
    /// `{ role = "master", node = "kind:key" }`: that node on every host with the role (the
    /// role may be a template: `"{{ consul.server_role }}"`).
    /// With `optional = true`: on those hosts that have it, and nothing where no host has
    /// the role (a control host's repository, where the cluster has one).
    Role {
        role: String,
        kind: NodeKind,
        key: String,
        optional: bool,
    },
    /// `{ host = "{{ mysql.master }}", node = "kind:key" }`: that node on one host, named
    /// by a template.
    ///
    /// Any table form may add `order_only = true` ([`DeclaredDependency::order_only`]).
    Host {
        host: String,
        kind: NodeKind,
        key: String,
    },
}

/// A dependency and the condition under which the node has it: `when`, an expression of
/// the node's own context (`"'control' not in host.roles"`): a role's node that this host
/// would wait for, save on the hosts of that role themselves.
#[derive(Debug, Clone)]
pub struct DeclaredDependency {
    pub reference: Located<DependencyReference>,
    pub when: Option<Located<String>>,
    /// `order_only = true`: apply waits for the node(s) named, but they are not part of the
    /// dependant's id (the lockfile's `ordered_after`), so their changes do not replace it.
    /// For a node that must start after another and reads nothing of it: keepalived after
    /// HAProxy answers.
    pub order_only: bool,
}

/// One `[[node]]` (or `[[image]]`) of a module manifest, before rendering.
#[derive(Debug, Clone)]
pub struct NodeDeclaration {
    pub kind: NodeKind,
    /// The span of the declaration's table, for errors about the node as a whole.
    pub span: Range<usize>,
    /// An expression; the node is emitted only where it is true.
    pub when: Option<Located<String>>,
    /// An expression giving a list; the node is emitted once per element, as `item`.
    pub for_each: Option<Located<String>>,
    pub deps: Vec<DeclaredDependency>,
    /// Every other field, in the order declared.
    pub fields: Vec<(Located<String>, Located<DeclaredValue>)>,
    /// What the node stands for in the operator's terms (`module/claim.rs`).
    pub claim: Option<Claim>,
    /// The host's barriers it waits for and the one it is a member of.
    pub barriers: BarrierDeclaration,
    /// How a container's replicas are replaced (`module/rollout_declaration.rs`).
    pub rollout: Option<RolloutDeclaration>,
}

const DECLARATION_KEYS: [&str; 6] = ["kind", "when", "for_each", "deps", "claim", "rollout"];

pub fn read_declaration(
    source: &SourceFile,
    item: &Item<'_>,
    context: &str,
    fixed_kind: Option<NodeKind>,
) -> Result<NodeDeclaration, Diagnostic> {
    let DeValue::Table(table) = item.get_ref() else {
        return Err(Diagnostic::new(format!("{context} must be a table")).at(source, &item.span()));
    };
    let mut reader = TableReader::new(source, table, item.span(), context.to_string());
    let kind = match fixed_kind {
        Some(kind) => kind,
        None => {
            let text = reader.string("kind", "\"file\"")?;
            let kind = text.value.parse::<NodeKind>().map_err(|message| {
                reader
                    .error(&text.span, message)
                    .maybe_hint(crate::suggest::did_you_mean(&text.value, NodeKind::names()))
            })?;
            if kind == NodeKind::Barrier {
                return Err(reader
                    .error(&text.span, "a barrier is made by the compiler, not declared")
                    .hint("to wait for one, write `after = [\"docker-ready\"]` in the node that waits"));
            }
            kind
        }
    };
    let barriers = match fixed_kind {
        Some(_) => refuse_barriers(&mut reader).map(|()| BarrierDeclaration::default())?,
        None => read_barriers(&mut reader, kind)?,
    };
    let when = reader.optional_string("when")?;
    let for_each = reader.optional_string("for_each")?;
    let mut deps = Vec::new();
    if let Some(deps_item) = reader.get("deps") {
        let DeValue::Array(items) = deps_item.get_ref() else {
            return Err(reader.wrong_type("deps", deps_item, "an array"));
        };
        for element in items.iter() {
            deps.push(read_dependency(source, element)?);
        }
    }
    let claim = match reader.get("claim") {
        Some(claim) => Some(read_claim(source, claim)?),
        None => None,
    };
    let rollout = read_rollout(source, &mut reader, kind)?;
    let mut fields = Vec::new();
    for (key, value) in table.iter() {
        let name = key.get_ref().as_ref();
        if DECLARATION_KEYS.contains(&name) || BARRIER_KEYS.contains(&name) {
            continue;
        }
        fields.push((
            Located::new(name.to_string(), key.span()),
            read_value(source, value)?,
        ));
    }
    Ok(NodeDeclaration {
        kind,
        span: item.span(),
        when,
        for_each,
        deps,
        fields,
        claim,
        barriers,
        rollout,
    })
}

pub(super) fn read_value(
    source: &SourceFile,
    item: &Item<'_>,
) -> Result<Located<DeclaredValue>, Diagnostic> {
    let value = match item.get_ref() {
        DeValue::String(text) => DeclaredValue::String(text.to_string()),
        DeValue::Integer(_) => DeclaredValue::Integer(
            integer_of(item.get_ref())
                .ok_or_else(|| Diagnostic::new("integer out of range").at(source, &item.span()))?,
        ),
        DeValue::Boolean(flag) => DeclaredValue::Boolean(*flag),
        DeValue::Array(items) => DeclaredValue::List(
            items
                .iter()
                .map(|element| read_value(source, element))
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Table(table) => DeclaredValue::Table(
            table
                .iter()
                .map(|(key, element)| {
                    read_value(source, element)
                        .map(|value| (Located::new(key.get_ref().to_string(), key.span()), value))
                })
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(Diagnostic::new(format!(
                "{} is not a value a node field can hold",
                type_name(other)
            ))
            .at(source, &item.span()));
        }
    };
    Ok(Located::new(value, item.span()))
}

fn read_dependency(source: &SourceFile, item: &Item<'_>) -> Result<DeclaredDependency, Diagnostic> {
    let mut when = None;
    let mut order_only = false;
    let parse_target = |text: &str,
                        span: &Range<usize>|
     -> Result<(NodeKind, String), Diagnostic> {
        let Some((kind_text, key)) = text.split_once(':') else {
            return Err(Diagnostic::new(format!("`{text}` is not a dependency"))
                .at(source, span)
                .hint("write `kind:key`, such as \"file:/etc/hosts\" or \"check:*\""));
        };
        let kind = kind_text.parse::<NodeKind>().map_err(|message| {
            Diagnostic::new(message)
                .at(source, span)
                .maybe_hint(crate::suggest::did_you_mean(kind_text, NodeKind::names()))
        })?;
        if kind == NodeKind::Barrier {
            return Err(Diagnostic::new(format!("`{text}`: a barrier is not a dependency"))
                    .at(source, span)
                    .hint("every node waits for `checks` unless `after_checks = false`; write `after = [\"docker-ready\"]` for the others"));
        }
        if key.is_empty() {
            return Err(Diagnostic::new(format!("`{text}` names no key"))
                .at(source, span)
                .hint("write `kind:key`, or `kind:*` for every node of that kind"));
        }
        Ok((kind, key.to_string()))
    };
    let reference = match item.get_ref() {
        DeValue::String(text) => {
            let (kind, key) = parse_target(text, &item.span())?;
            DependencyReference::Local {
                kind,
                key,
                optional: false,
            }
        }
        DeValue::Table(table) => {
            let mut reader =
                TableReader::new(source, table, item.span(), "a dependency".to_string());
            let role = reader.optional_string("role")?;
            when = reader.optional_string("when")?;
            let host = reader.optional_string("host")?;
            let node = reader.string("node", "\"container:zookeeper\"")?;
            let optional = reader.optional_bool("optional")?;
            order_only = reader
                .optional_bool("order_only")?
                .is_some_and(|located| located.value);
            if let Some(unknown) = reader.unknown_keys().into_iter().next() {
                return Err(unknown);
            }
            let (kind, key) = parse_target(&node.value, &node.span)?;
            match (role, host) {
                (None, None) => DependencyReference::Local {
                    kind,
                    key,
                    optional: optional.is_some_and(|located| located.value),
                },
                (None, Some(_)) if optional.is_some() => {
                    return Err(Diagnostic::new(
                        "`optional` is for dependencies on a node of the same host or of a role",
                    )
                    .at(source, &item.span())
                    .hint("a dependency on one named host is never optional: that host is in the spec"));
                }
                (Some(role), None) => DependencyReference::Role {
                    role: role.value,
                    kind,
                    key,
                    optional: optional.is_some_and(|located| located.value),
                },
                (None, Some(host)) => DependencyReference::Host {
                    host: host.value,
                    kind,
                    key,
                },
                _ => {
                    return Err(Diagnostic::new(
                        "a dependency table names a `role` or a `host`, not both",
                    )
                    .at(source, &item.span())
                    .hint("write { role = \"master\", node = \"kind:key\" } or { host = \"{{ mysql.master }}\", node = \"kind:key\" }"));
                }
            }
        }
        other => {
            return Err(Diagnostic::new(format!(
                "a dependency must be a string or a table, found {}",
                type_name(other)
            ))
            .at(source, &item.span()));
        }
    };
    Ok(DeclaredDependency {
        reference: Located::new(reference, item.span()),
        when,
        order_only,
    })
}
