use std::collections::{BTreeSet, HashMap};

use cairn_lockfiles::{NodeKind, NodeName, Scope};

use crate::diagnostic::{Diagnostic, Diagnostics, SourceSpan};
use crate::graph::emit::{EmittedNode, RenderedDependency};
use crate::spec::ClusterSpec;
use crate::suggest::did_you_mean;

/// Per node, its dependencies; and per edge (dependant, dependency), where it was declared.
type Resolved<'m> = (
    Vec<BTreeSet<NodeName>>,
    HashMap<(usize, usize), SourceSpan<'m>>,
);

/// A wildcard key: every node of the kind on the host.
const EVERY_KEY: &str = "*";

/// Resolves every declared dependency to node names. Returns, per node, its dependencies,
/// and for each edge the manifest span that declared it.
pub fn resolve_dependencies<'m>(
    spec: &ClusterSpec,
    nodes: &[EmittedNode<'m>],
) -> Result<Resolved<'m>, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let position_of: HashMap<&NodeName, usize> = nodes
        .iter()
        .enumerate()
        .map(|(position, node)| (&node.name, position))
        .collect();
    let mut by_scope_and_kind: HashMap<(&Scope, NodeKind), Vec<usize>> = HashMap::new();
    for (position, node) in nodes.iter().enumerate() {
        by_scope_and_kind
            .entry((&node.name.scope, node.name.kind))
            .or_default()
            .push(position);
    }

    let mut resolved = Vec::with_capacity(nodes.len());
    let mut edges = HashMap::new();
    for (position, node) in nodes.iter().enumerate() {
        let mut dependencies = BTreeSet::new();
        for (dependency, at) in &node.dependencies {
            let optional = matches!(
                dependency,
                RenderedDependency::Local { optional: true, .. }
                    | RenderedDependency::Role { optional: true, .. }
            );
            let (scopes, kind, key): (Vec<Scope>, NodeKind, &str) = match dependency {
                RenderedDependency::Local {
                    kind: NodeKind::Image,
                    key,
                    ..
                } => (vec![Scope::Cluster], NodeKind::Image, key),
                RenderedDependency::Local { kind, key, .. } => {
                    (vec![node.name.scope.clone()], *kind, key)
                }
                RenderedDependency::Role {
                    role, kind, key, ..
                } => {
                    let members = spec.hosts_with_role(role);
                    if members.is_empty() && optional {
                        continue;
                    }
                    if members.is_empty() {
                        diagnostics.push(
                            Diagnostic::new(format!(
                                "`{}` needs `{kind}:{key}` on the hosts with role `{role}`, and no host has that role",
                                node.name
                            ))
                            .at_location(at.location())
                            .hint(format!("add `{role}` to the roles of a host in the spec")),
                        );
                        continue;
                    }
                    (
                        members
                            .iter()
                            .map(|host| Scope::Host(host.name.clone()))
                            .collect(),
                        *kind,
                        key,
                    )
                }
                RenderedDependency::Host { host, kind, key } => {
                    if !spec.hosts.contains_key(host) {
                        diagnostics.push(
                            Diagnostic::new(format!(
                                "`{}` needs `{kind}:{key}` on host `{host}`, which the spec does not have",
                                node.name
                            ))
                            .at_location(at.location())
                            .maybe_hint(did_you_mean(host, spec.hosts.keys().map(String::as_str))),
                        );
                        continue;
                    }
                    (vec![Scope::Host(host.clone())], *kind, key)
                }
            };
            for scope in scopes {
                let targets: Vec<usize> = if key == EVERY_KEY {
                    by_scope_and_kind
                        .get(&(&scope, kind))
                        .map(|positions| {
                            positions
                                .iter()
                                .copied()
                                .filter(|target| *target != position)
                                .collect()
                        })
                        .unwrap_or_default()
                } else {
                    let target_name = NodeName::new(scope.clone(), kind, key);
                    match position_of.get(&target_name) {
                        Some(target) => vec![*target],
                        None if optional => Vec::new(),
                        None => {
                            let candidates: Vec<&str> = by_scope_and_kind
                                .get(&(&scope, kind))
                                .map(|positions| {
                                    positions
                                        .iter()
                                        .map(|target| nodes[*target].name.key.as_str())
                                        .collect()
                                })
                                .unwrap_or_default();
                            diagnostics.push(
                                Diagnostic::new(format!(
                                    "`{}` depends on `{target_name}`, which no module emits",
                                    node.name
                                ))
                                .at_location(at.location())
                                .maybe_hint(
                                    did_you_mean(key, candidates).map(|hint| {
                                        format!("{hint} (a {kind} on {})", scope.as_str())
                                    }),
                                ),
                            );
                            continue;
                        }
                    }
                };
                for target in targets {
                    dependencies.insert(nodes[target].name.clone());
                    edges
                        .entry((position, target))
                        .or_insert_with(|| at.clone());
                }
            }
        }
        resolved.push(dependencies);
    }
    if diagnostics.is_empty() {
        Ok((resolved, edges))
    } else {
        Err(diagnostics)
    }
}
