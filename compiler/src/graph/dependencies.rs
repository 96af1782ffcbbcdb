use std::borrow::Cow;
use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt};

use cairn_lockfiles::{NodeKind, NodeName, Scope};

use crate::diagnostic::{Diagnostic, Diagnostics, SourceSpan};
use crate::graph::emit::{EmittedDependency, EmittedNode, RenderedDependency};
use crate::spec::ClusterSpec;
use crate::suggest::did_you_mean;

/// Every node's dependencies and the nodes it is ordered after, by position, with where
/// each edge was declared. Positions, not names: at ten thousand hosts, a set of cloned
/// names per node and a hash map of edges were a fifth of compile's peak memory; the names
/// are given once, when the nodes are handed over (`build.rs`).
pub struct Resolved<'m> {
    /// Per node, the positions of its dependencies (part of its id), sorted, once each.
    pub deps: Vec<Vec<usize>>,
    /// Per node, the positions of what it is ordered after (`order_only = true`: waited
    /// for, not in its id), sorted, once each.
    pub ordered_after: Vec<Vec<usize>>,
    /// Per edge (dependant, dependency), where it was declared; the barriers' edges join
    /// them (`barriers.rs`).
    pub edges: DeclaredEdges<'m>,
    /// Per order-only edge (dependant, node waited for), where it was declared.
    pub order_only_edges: DeclaredEdges<'m>,
}

/// Where each edge of a graph was declared, by (dependant, dependency) position, in the
/// order the declarations were met. A list, not a hash map: a million edges take a third
/// of the room. Sorted once all are in, the barriers' edges with the rest, and only for a
/// cycle's error, which looks up each edge of the cycle ([`DeclaredEdges::into_sorted`]):
/// a graph without one leaves them as they came.
#[derive(Default)]
pub struct DeclaredEdges<'m> {
    edges: Vec<((usize, usize), SourceSpan<'m>)>,
}

impl<'m> DeclaredEdges<'m> {
    /// Records where the edge `(dependant, dependency)` was declared.
    pub fn add(&mut self, edge: (usize, usize), at: SourceSpan<'m>) {
        self.edges.push((edge, at));
    }

    /// Where the edge `(dependant, dependency)` was first declared, by a scan of the edges
    /// added so far: for an error found while they are still coming in.
    pub fn first_of(&self, edge: (usize, usize)) -> Option<&SourceSpan<'m>> {
        self.edges
            .iter()
            .find(|(added, _)| *added == edge)
            .map(|(_, at)| at)
    }

    /// The edges sorted to be looked up, each where it was first declared.
    pub fn into_sorted(mut self) -> SortedEdges<'m> {
        // A stable sort: of an edge declared twice, the first declaration stays first.
        self.edges.sort_by_key(|(edge, _)| *edge);
        self.edges.dedup_by_key(|(edge, _)| *edge);
        // Kept to the end of the compile, for a cycle's error: without the room to grow.
        self.edges.shrink_to_fit();
        SortedEdges { edges: self.edges }
    }
}

/// Where each edge of a graph was first declared, sorted by (dependant, dependency)
/// position, each edge once.
pub struct SortedEdges<'m> {
    edges: Vec<((usize, usize), SourceSpan<'m>)>,
}

impl<'m> SortedEdges<'m> {
    /// Where the edge `(dependant, dependency)` was first declared.
    pub fn of(&self, edge: (usize, usize)) -> Option<&SourceSpan<'m>> {
        let found = self.edges.binary_search_by_key(&edge, |(edge, _)| *edge);
        found.ok().map(|index| &self.edges[index].1)
    }
}

/// The scopes a dependency looks in, with the kind and key of the nodes it names there: the
/// scopes borrowed where they can be (the node's own, a role's hosts), not cloned per
/// dependency.
type DependencyScopes<'d> = (Cow<'d, [Scope]>, NodeKind, &'d str);

/// Where images are.
const CLUSTER_SCOPE: &[Scope] = &[Scope::Cluster];

/// A wildcard key: every node of the kind on the host.
const EVERY_KEY: &str = "*";

/// Resolves every declared dependency to node positions: per node, its dependencies and
/// the nodes it is ordered after, and for each edge the manifest span that declared it. A
/// node named both ways (a wildcard and an order-only dependency on one of its nodes) is an
/// error at the order-only one.
pub fn resolve_dependencies<'m>(
    spec: &ClusterSpec,
    nodes: &[EmittedNode<'m>],
) -> Result<Resolved<'m>, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let index = NodeIndex::new(nodes);
    let roles = RoleMembers::of(spec);
    let mut resolved = Resolved {
        deps: Vec::with_capacity(nodes.len()),
        ordered_after: Vec::with_capacity(nodes.len()),
        edges: DeclaredEdges::default(),
        order_only_edges: DeclaredEdges::default(),
    };
    for (position, node) in nodes.iter().enumerate() {
        let mut dependencies = Vec::new();
        let mut ordered_after = Vec::new();
        for dependency in &node.dependencies {
            let targets = match dependency_targets((spec, &roles), &index, position, dependency) {
                Ok(targets) => targets,
                Err(found) => {
                    diagnostics.extend(found);
                    continue;
                }
            };
            let (positions, edges) = if dependency.order_only {
                (&mut ordered_after, &mut resolved.order_only_edges)
            } else {
                (&mut dependencies, &mut resolved.edges)
            };
            for target in targets {
                positions.push(target);
                edges.add((position, target), dependency.at.clone());
            }
        }
        for positions in [&mut dependencies, &mut ordered_after] {
            positions.sort_unstable();
            positions.dedup();
        }
        for name in named_both_ways(nodes, &dependencies, &ordered_after) {
            diagnostics.push(both_ways(&index, &resolved, position, name));
        }
        resolved.deps.push(dependencies);
        resolved.ordered_after.push(ordered_after);
    }
    if diagnostics.is_empty() {
        Ok(resolved)
    } else {
        Err(diagnostics)
    }
}

/// The names of the nodes among both `dependencies` and `ordered_after` (sorted
/// positions), in the order of names.
fn named_both_ways<'n>(
    nodes: &'n [EmittedNode<'_>],
    dependencies: &[usize],
    ordered_after: &[usize],
) -> BTreeSet<&'n NodeName> {
    ordered_after
        .iter()
        .filter(|position| dependencies.binary_search(position).is_ok())
        .map(|&position| &nodes[position].name)
        .collect()
}

/// The positions of the nodes one declared dependency of the node at `position` names.
fn dependency_targets(
    (spec, roles): (&ClusterSpec, &RoleMembers<'_>),
    index: &NodeIndex<'_, '_>,
    position: usize,
    dependency: &EmittedDependency<'_>,
) -> Result<Vec<usize>, Vec<Diagnostic>> {
    let node = &index.nodes[position];
    let at = &dependency.at;
    let optional = matches!(
        dependency.reference,
        RenderedDependency::Local { optional: true, .. }
            | RenderedDependency::Role { optional: true, .. }
    );
    let (scopes, kind, key) =
        match dependency_scopes((spec, roles), node, &dependency.reference, optional, at) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(Vec::new()),
            Err(diagnostic) => return Err(vec![diagnostic]),
        };
    let mut targets = Vec::new();
    let mut problems = Vec::new();
    for scope in scopes.iter() {
        match index.targets(position, scope, kind, key, optional, at) {
            Ok(found) => targets.extend(found),
            Err(diagnostic) => problems.push(diagnostic),
        }
    }
    if problems.is_empty() {
        Ok(targets)
    } else {
        Err(problems)
    }
}

/// The error of a node that depends on `name` and is ordered after it too: at the
/// order-only declaration, naming the other.
fn both_ways(
    index: &NodeIndex<'_, '_>,
    resolved: &Resolved<'_>,
    position: usize,
    name: &NodeName,
) -> Diagnostic {
    let target = index
        .position_of(name)
        .expect("a resolved dependency is a node");
    let node = &index.nodes[position].name;
    let mut diagnostic = Diagnostic::new(format!(
        "`{node}` depends on `{name}` and waits for it order-only too"
    ));
    if let Some(at) = resolved.order_only_edges.first_of((position, target)) {
        diagnostic = diagnostic.at_location(at.location());
    }
    if let Some(at) = resolved.edges.first_of((position, target)) {
        diagnostic = diagnostic.note(format!("the dependency is declared at {}", at.display()));
    }
    diagnostic.hint(
        "a dependency is waited for already; keep one: the dependency (its changes replace the node) or `order_only = true` (they do not), and narrow a `kind:*` that names it",
    )
}

/// The scopes a dependency looks in, with the kind and key it names: `None` for an optional
/// dependency on a role no host has; an error for a role no host has or a host the spec
/// does not have.
fn dependency_scopes<'d>(
    (spec, roles): (&ClusterSpec, &'d RoleMembers<'_>),
    node: &'d EmittedNode<'_>,
    dependency: &'d RenderedDependency,
    optional: bool,
    at: &SourceSpan<'_>,
) -> Result<Option<DependencyScopes<'d>>, Diagnostic> {
    Ok(Some(match dependency {
        RenderedDependency::Local {
            kind: NodeKind::Image,
            key,
            ..
        } => (Cow::Borrowed(CLUSTER_SCOPE), NodeKind::Image, key),
        RenderedDependency::Local { kind, key, .. } => (
            Cow::Borrowed(std::slice::from_ref(&node.name.scope)),
            *kind,
            key,
        ),
        RenderedDependency::Role {
            role, kind, key, ..
        } => {
            let members = roles.of_role(role);
            if members.is_empty() && optional {
                return Ok(None);
            }
            if members.is_empty() {
                return Err(Diagnostic::new(format!(
                    "`{}` needs `{kind}:{key}` on the hosts with role `{role}`, and no host has that role",
                    node.name
                ))
                .at_location(at.location())
                .hint(format!("add `{role}` to the roles of a host in the spec")));
            }
            (Cow::Borrowed(members), *kind, key)
        }
        RenderedDependency::Host { host, kind, key } => {
            if !spec.hosts.contains_key(host) {
                return Err(Diagnostic::new(format!(
                    "`{}` needs `{kind}:{key}` on host `{host}`, which the spec does not have",
                    node.name
                ))
                .at_location(at.location())
                .maybe_hint(did_you_mean(host, spec.hosts.keys().map(String::as_str))));
            }
            (
                Cow::Owned(vec![Scope::Host(host.as_str().into())]),
                *kind,
                key,
            )
        }
    }))
}

/// The hosts of each role, as scopes, in the spec's order: asked once per role dependency
/// of every node, so found once (a scan of the hosts for each would make compile grow with
/// the square of the hosts).
struct RoleMembers<'s>(HashMap<&'s str, Vec<Scope>>);

impl<'s> RoleMembers<'s> {
    fn of(spec: &'s ClusterSpec) -> Self {
        let mut members: HashMap<&str, Vec<Scope>> = HashMap::new();
        for host in spec.hosts.values() {
            for role in &host.roles {
                members
                    .entry(role.as_str())
                    .or_default()
                    .push(Scope::Host(host.name.as_str().into()));
            }
        }
        Self(members)
    }

    /// The hosts with `role`, none if no host has it.
    fn of_role(&self, role: &str) -> &[Scope] {
        self.0.get(role).map_or(&[], Vec::as_slice)
    }
}

/// A node's name as borrowed parts: scope (`cluster` or the host), kind and key. Looked up
/// by, a dependency names no `NodeName` (two strings cloned per dependency).
type NameParts<'n> = (&'n str, NodeKind, &'n str);

/// The emitted nodes, looked up by name and by scope and kind.
struct NodeIndex<'n, 'm> {
    nodes: &'n [EmittedNode<'m>],
    by_name: HashMap<NameParts<'n>, usize>,
    by_scope_and_kind: HashMap<(&'n Scope, NodeKind), Vec<usize>>,
}

impl<'n, 'm> NodeIndex<'n, 'm> {
    /// Indexes the nodes by name, and by scope and kind.
    fn new(nodes: &'n [EmittedNode<'m>]) -> Self {
        let by_name: HashMap<NameParts<'n>, usize> = nodes
            .iter()
            .enumerate()
            .map(|(position, node)| (parts(&node.name), position))
            .collect();
        let mut by_scope_and_kind: HashMap<(&Scope, NodeKind), Vec<usize>> = HashMap::new();
        for (position, node) in nodes.iter().enumerate() {
            by_scope_and_kind
                .entry((&node.name.scope, node.name.kind))
                .or_default()
                .push(position);
        }
        Self {
            nodes,
            by_name,
            by_scope_and_kind,
        }
    }

    /// The position of the node named `name`.
    fn position_of(&self, name: &NodeName) -> Option<usize> {
        self.by_name.get(&parts(name)).copied()
    }

    /// The positions of the nodes a dependency of the node at `position` names in one
    /// scope: every node of the kind but itself for the `*` key, else the one of the key
    /// (none if it is optional and missing); an error if a required one is missing.
    fn targets(
        &self,
        position: usize,
        scope: &Scope,
        kind: NodeKind,
        key: &str,
        optional: bool,
        at: &SourceSpan<'_>,
    ) -> Result<Vec<usize>, Diagnostic> {
        if key == EVERY_KEY {
            return Ok(self
                .by_scope_and_kind
                .get(&(scope, kind))
                .map(|positions| {
                    positions
                        .iter()
                        .copied()
                        .filter(|target| *target != position)
                        .collect()
                })
                .unwrap_or_default());
        }
        match self.by_name.get(&(scope.as_str(), kind, key)) {
            Some(target) => Ok(vec![*target]),
            None if optional => Ok(Vec::new()),
            None => {
                let target_name = NodeName::new(scope.clone(), kind, key);
                let candidates: Vec<&str> = self
                    .by_scope_and_kind
                    .get(&(scope, kind))
                    .map(|positions| {
                        positions
                            .iter()
                            .map(|target| self.nodes[*target].name.key.as_ref())
                            .collect()
                    })
                    .unwrap_or_default();
                Err(Diagnostic::new(format!(
                    "`{}` depends on `{target_name}`, which no module emits",
                    self.nodes[position].name
                ))
                .at_location(at.location())
                .maybe_hint(
                    did_you_mean(key, candidates)
                        .map(|hint| format!("{hint} (a {kind} on {})", scope.as_str())),
                ))
            }
        }
    }
}

/// `name` as the parts [`NodeIndex`] looks nodes up by: its scope as written (no host may
/// be named `cluster`), kind and key.
fn parts(name: &NodeName) -> NameParts<'_> {
    (name.scope.as_str(), name.kind, name.key.as_ref())
}
