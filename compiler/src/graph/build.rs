use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use cairn_lockfiles::{
    BarrierNode, ClusterInfo, GraphError, Lockfile, NodeKind, NodeName, NodeSpec, SecretEntry,
    UnhashedNode,
};

use crate::diagnostic::{CompileError, Diagnostic, Diagnostics, SourceSpan};
use crate::graph::barriers::join_barriers;
use crate::graph::claim_conflict::conflict_diagnostic;
use crate::graph::dependencies::{SortedEdges, resolve_dependencies};
use crate::graph::emit::{EmittedNode, emit_nodes};
use crate::graph::image_pins::PinningOptions;
use crate::graph::image_settings::set_image_settings;
use crate::graph::package_pins::{pin_packages, read_pins_ahead};
use crate::graph::rollouts::{RolloutSource, stated_rollouts};
use crate::render::{Renderer, TemplateContext, build_environment};
use crate::spec::ClusterSpec;

/// Renders the spec's modules, pins the packages and builds the lockfile, ids and
/// all. What the user should know goes to `notes`.
pub fn build_lockfile(
    spec: &ClusterSpec,
    secrets: BTreeMap<String, SecretEntry>,
    pinning: &PinningOptions<'_>,
    notes: &mut Vec<String>,
) -> Result<Lockfile, CompileError> {
    let environment = build_environment(&spec.library)?;
    let renderer = Renderer::new(&environment, &spec.library);
    let context = TemplateContext::new(spec, &spec.library.roles());
    let read_ahead = read_pins_ahead(spec, pinning);
    let mut nodes = emit_nodes(spec, &context, &renderer).map_err(into_error)?;
    set_image_settings(spec, &mut nodes).map_err(into_error)?;
    pin_packages(spec, &mut nodes, pinning, read_ahead, notes).map_err(into_error)?;

    refuse_duplicates(spec, &renderer, &nodes)?;
    // Rendering is over: its caches (a text per host of each template that reads `host`)
    // and the contexts are let go before the graph's peak.
    drop(renderer);
    drop(context);
    let mut resolved = resolve_dependencies(spec, &nodes).map_err(into_error)?;
    let barriers = join_barriers(&nodes, &mut resolved.deps, &mut resolved.edges);

    // To name each node's dependencies, and for a cycle's error, which names the nodes by
    // position.
    let names: Vec<NodeName> = nodes
        .iter()
        .map(|node| &node.name)
        .chain(barriers.iter().map(|barrier| &barrier.name))
        .cloned()
        .collect();
    let hosts = spec
        .hosts
        .values()
        .map(|host| (host.name.clone(), host.entry()))
        .collect();
    let emitted = nodes.len();
    let (mut unhashed, rollout_sources) = hand_over(nodes, barriers.len());
    let mut deps = resolved.deps;
    for barrier in barriers {
        deps.push(barrier.deps);
        unhashed.push(UnhashedNode {
            spec: NodeSpec::Barrier(BarrierNode {
                name: barrier.name.key.to_string(),
            }),
            name: barrier.name,
            deps: Vec::new(),
            ordered_after: Vec::new(),
        });
    }
    let cyclic = has_cycle(&deps, &resolved.ordered_after);
    name_dependencies(&mut unhashed, &names, deps, resolved.ordered_after);
    // Where the graph has no cycle, the lockfile's check of the same graph finds none: what
    // a cycle's error needs is let go before the lockfile is built, compile's peak (at ten
    // thousand hosts, a name and the edges' spans are 110 MB), and the edges are not sorted.
    let for_cycle_error = cyclic.then(|| {
        let edges = EdgeSpans {
            deps: resolved.edges.into_sorted(),
            order_only: resolved.order_only_edges.into_sorted(),
        };
        (names, edges)
    });
    order_by_name(&mut unhashed, emitted);
    let cluster = ClusterInfo {
        name: spec.name.clone(),
        domain: spec.domain.clone(),
        // Set by `compile_source`, which reads the key.
        fingerprint_key: None,
    };
    let lockfile =
        Lockfile::from_unhashed(cluster, hosts, secrets, unhashed).map_err(
            |error| match error {
                GraphError::Cycle { nodes: cycle } if for_cycle_error.is_some() => {
                    let (names, edges) = for_cycle_error.as_ref().expect("kept for a cycle");
                    cycle_error(&cycle, names, edges)
                }
                other => CompileError::from(Diagnostic::new(other.to_string())),
            },
        )?;
    let rollouts = stated_rollouts(spec, &rollout_sources, lockfile.rollouts())?;
    lockfile
        .with_rollouts(rollouts)
        .map_err(|error| CompileError::from(Diagnostic::new(error.to_string())))
}

/// Refuses two nodes of one name: where their declarations claim the same thing (a port),
/// in the operator's words (`claim_conflict.rs`).
fn refuse_duplicates<'m>(
    spec: &ClusterSpec,
    renderer: &Renderer<'m>,
    nodes: &[EmittedNode<'m>],
) -> Result<(), CompileError> {
    let mut first_declaration: HashMap<&NodeName, usize> = HashMap::with_capacity(nodes.len());
    let mut diagnostics = Diagnostics::default();
    for (position, node) in nodes.iter().enumerate() {
        if let Some(&first) = first_declaration.get(&node.name) {
            if let Some(conflict) = conflict_diagnostic(spec, renderer, &nodes[first], node) {
                diagnostics.push(conflict);
                continue;
            }
            diagnostics.push(
                Diagnostic::new(format!("two declarations emit the node `{}`", node.name))
                    .at_location(node.declared_at.location())
                    .note(format!(
                        "the first is at {}",
                        nodes[first].declared_at.display()
                    ))
                    .hint("give one of them another key, or a `when` that keeps them apart"),
            );
        } else {
            first_declaration.insert(&node.name, position);
        }
    }
    diagnostics.finish(())
}

/// A cycle's error, each edge of it at the manifest line that declared it. `names` are the
/// nodes' by the positions the edges are recorded by.
fn cycle_error(cycle: &[NodeName], names: &[NodeName], edges: &EdgeSpans<'_>) -> CompileError {
    let position_of: HashMap<&NodeName, usize> = names
        .iter()
        .enumerate()
        .map(|(position, name)| (name, position))
        .collect();
    let described = GraphError::Cycle {
        nodes: cycle.to_vec(),
    }
    .to_string();
    let mut diagnostic = Diagnostic::new(format!(
        "dependency cycle: {}",
        described.trim_start_matches("dependency cycle: ")
    ));
    for (index, name) in cycle.iter().enumerate() {
        let next = &cycle[(index + 1) % cycle.len()];
        if let Some((at, waits)) = edges.of(position_of[name], position_of[next]) {
            if diagnostic.location.is_none() {
                diagnostic = diagnostic.at_location(at.location());
            }
            diagnostic = diagnostic.note(format!("`{name}` {waits} `{next}` ({})", at.display()));
        }
    }
    let hint = if cycle.iter().any(|name| name.kind == NodeKind::Barrier) {
        "a node that a check (or a barrier's member) needs cannot wait for that barrier: say `after_checks = false` (or leave the barrier out of `after`) in its declaration"
    } else {
        "remove one of these dependencies; a node cannot wait for something that waits for it"
    };
    CompileError::from(diagnostic.hint(hint))
}

/// The emitted nodes as the lockfile's, their dependencies not yet named
/// (`name_dependencies`), and what the rollouts read of them (`rollouts.rs`), with room for
/// `room_for_barriers` more. Each spec is moved, not cloned, and the rest of the emitted
/// nodes let go: at ten thousand hosts, two copies of every spec, then the emitted nodes
/// held beside the lockfile's, were a good part of the compile's memory.
fn hand_over<'m>(
    nodes: Vec<EmittedNode<'m>>,
    room_for_barriers: usize,
) -> (Vec<UnhashedNode>, Vec<RolloutSource<'m>>) {
    let mut rollout_sources = Vec::new();
    // Collected in place: the lockfile's nodes take the emitted nodes' room (a node the
    // lockfile takes is smaller than an emitted one), which has room for the barriers too.
    // A list of their own, made while the emitted nodes' was still held, was compile's
    // peak: at ten thousand hosts, 95 MB beside 128 MB.
    let mut unhashed: Vec<UnhashedNode> = nodes
        .into_iter()
        .map(|node| {
            if RolloutSource::kept(node.name.kind) {
                rollout_sources.push(RolloutSource {
                    name: node.name.clone(),
                    declared_at: node.declared_at,
                    declaration: node.declaration,
                    rollout: node.rollout,
                });
            }
            UnhashedNode {
                name: node.name,
                deps: Vec::new(),
                ordered_after: Vec::new(),
                spec: node.spec,
            }
        })
        .collect();
    unhashed.reserve(room_for_barriers);
    (unhashed, rollout_sources)
}

/// Gives each node its dependencies and the nodes it is ordered after by name, from their
/// positions in `names` (each position once). Done once the emitted nodes are let go
/// (`hand_over`): the lists of names are the larger part of the graph, and the two no
/// longer meet at compile's peak.
fn name_dependencies(
    unhashed: &mut [UnhashedNode],
    names: &[NodeName],
    deps: Vec<Vec<usize>>,
    mut ordered_after: Vec<Vec<usize>>,
) {
    // Barriers are ordered after nothing.
    ordered_after.resize_with(unhashed.len(), Vec::new);
    for ((node, deps), ordered_after) in unhashed.iter_mut().zip(deps).zip(ordered_after) {
        node.deps = sorted_names(names, &deps);
        node.ordered_after = sorted_names(names, &ordered_after);
    }
}

/// The names of the nodes at `positions` (each once), sorted: a node's list as the lockfile
/// takes it. Its positions are in the order the nodes were emitted, not of their names.
fn sorted_names(names: &[NodeName], positions: &[usize]) -> Vec<NodeName> {
    let mut named: Vec<NodeName> = positions
        .iter()
        .map(|&position| names[position].clone())
        .collect();
    named.sort_unstable();
    named
}

/// Puts the nodes in the order of their names, from the order the first `emitted` were
/// emitted in: a scope's nodes together, the scopes in order (images, then the hosts as the
/// spec lists them), and after them the barriers, in order of host, each to go among its
/// host's. Each run is sorted alone, by kind and key, without comparing its host again:
/// `Lockfile::from_unhashed` then finds the nodes sorted at a glance, where its sort of them
/// all was 4% of a 10,000-host compile. Were they not in that order, its sort orders them
/// all the same.
fn order_by_name(unhashed: &mut [UnhashedNode], emitted: usize) {
    // `order[target]` is the position whose node goes to `target`.
    let mut order: Vec<usize> = Vec::with_capacity(unhashed.len());
    let mut next_barrier = emitted;
    let mut start = 0;
    while start < emitted {
        let scope = &unhashed[start].name.scope;
        let end = start
            + unhashed[start..emitted]
                .iter()
                .take_while(|node| &node.name.scope == scope)
                .count();
        let run = order.len();
        order.extend(start..end);
        while next_barrier < unhashed.len() && &unhashed[next_barrier].name.scope == scope {
            order.push(next_barrier);
            next_barrier += 1;
        }
        order[run..].sort_unstable_by(|&left, &right| {
            let (left, right) = (&unhashed[left].name, &unhashed[right].name);
            (left.kind, &left.key).cmp(&(right.kind, &right.key))
        });
        start = end;
    }
    order.extend(next_barrier..unhashed.len());
    cairn_lockfiles::place_in_order(unhashed, &mut order);
}

/// Whether the graph has a cycle through what its nodes wait for: each node's dependencies
/// and what it is ordered after, by position (Kahn's count: a node on no cycle is reached
/// once all that waits for it is). `ordered_after` may be shorter: the nodes past its end
/// are ordered after nothing.
fn has_cycle(deps: &[Vec<usize>], ordered_after: &[Vec<usize>]) -> bool {
    let waited_for = |position: usize| {
        let after = ordered_after.get(position).map_or(&[][..], Vec::as_slice);
        deps[position].iter().chain(after).copied()
    };
    let mut waiting = vec![0_usize; deps.len()];
    for position in 0..deps.len() {
        for dependency in waited_for(position) {
            waiting[dependency] += 1;
        }
    }
    let mut free: Vec<usize> = (0..deps.len())
        .filter(|&position| waiting[position] == 0)
        .collect();
    let mut reached = 0;
    while let Some(position) = free.pop() {
        reached += 1;
        for dependency in waited_for(position) {
            waiting[dependency] -= 1;
            if waiting[dependency] == 0 {
                free.push(dependency);
            }
        }
    }
    reached < deps.len()
}

/// Where each edge of the graph was declared, by (dependant, dependency) position.
struct EdgeSpans<'m> {
    deps: SortedEdges<'m>,
    order_only: SortedEdges<'m>,
}

impl<'m> EdgeSpans<'m> {
    /// Where the edge from `dependant` to `dependency` was declared, and how the dependant
    /// waits, in words: "depends on", or "waits (order only) for".
    fn of(&self, dependant: usize, dependency: usize) -> Option<(&SourceSpan<'m>, &'static str)> {
        let edge = (dependant, dependency);
        self.deps.of(edge).map(|at| (at, "depends on")).or_else(|| {
            self.order_only
                .of(edge)
                .map(|at| (at, "waits (order only) for"))
        })
    }
}

fn into_error(diagnostics: Diagnostics) -> CompileError {
    match diagnostics.finish(()) {
        Err(error) => error,
        Ok(()) => CompileError {
            diagnostics: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use cairn_lockfiles::{BarrierNode, NodeName, NodeSpec, UnhashedNode};

    use super::{has_cycle, order_by_name};

    fn node(name: &str) -> UnhashedNode {
        UnhashedNode {
            name: name.parse().unwrap(),
            deps: Vec::new(),
            ordered_after: Vec::new(),
            spec: NodeSpec::Barrier(BarrierNode {
                name: "checks".to_string(),
            }),
        }
    }

    /// The emitted nodes, then the barriers, put in order by `order_by_name`.
    fn ordered(emitted: &[&str], barriers: &[&str]) -> Vec<UnhashedNode> {
        let mut nodes: Vec<UnhashedNode> = emitted
            .iter()
            .chain(barriers)
            .map(|name| node(name))
            .collect();
        order_by_name(&mut nodes, emitted.len());
        nodes
    }

    #[test]
    fn nodes_go_in_the_order_of_their_names_each_barrier_among_its_hosts_nodes() {
        let emitted = [
            "cluster:image:b",
            "cluster:image:a",
            "h1:file:/z",
            "h1:check:a",
            "h1:file:/a",
            "h2:file:/a",
            "h2:check:a",
        ];
        let barriers = ["h1:barrier:checks", "h2:barrier:checks"];
        let nodes = ordered(&emitted, &barriers);
        let names: Vec<&NodeName> = nodes.iter().map(|node| &node.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), emitted.len() + barriers.len());
    }

    #[test]
    fn nodes_out_of_the_emitted_order_are_all_kept() {
        let emitted = ["h2:file:/a", "h1:file:/b", "h2:check:a"];
        let barriers = ["h1:barrier:checks"];
        let nodes = ordered(&emitted, &barriers);
        let mut names: Vec<String> = nodes.iter().map(|node| node.name.to_string()).collect();
        names.sort();
        let mut expected: Vec<&str> = emitted.iter().chain(&barriers).copied().collect();
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn a_cycle_through_an_order_only_edge_is_a_cycle() {
        // 0 -> 1 -> 2, and 2 ordered after 0.
        let deps = vec![vec![1], vec![2], vec![]];
        assert!(!has_cycle(&deps, &[]));
        assert!(has_cycle(&deps, &[vec![], vec![], vec![0]]));
        // A barrier past the end of `ordered_after`, waited for and waiting.
        assert!(has_cycle(&[vec![1], vec![0]], &[vec![]]));
        assert!(!has_cycle(&[vec![1], vec![]], &[vec![]]));
    }
}
