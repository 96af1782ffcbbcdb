//! One barrier node per host and barrier that some node of the host waits for and some
//! node of the host is a member of (`module/barrier_declaration.rs`): `HOST:barrier:checks`
//! depends on the host's checks, and every node that waits for them depends on it alone.
//! A barrier with no member on its host (host-base left out: no `docker-ready`) is not
//! made, and what would wait for it waits for nothing, as an optional dependency.

use std::collections::BTreeMap;

use foldhash::HashMap;

use cairn_lockfiles::{NodeKind, NodeName, Scope};

use crate::diagnostic::SourceSpan;
use crate::graph::dependencies::DeclaredEdges;
use crate::graph::emit::EmittedNode;
use crate::module::barrier_declaration::BarrierName;

/// A barrier node: its name and its members, by position.
pub struct BarrierNode {
    pub name: NodeName,
    pub deps: Vec<usize>,
}

/// The waiting nodes and the members of one host's barrier, by position, with the span
/// that made each edge.
#[derive(Default)]
struct Sides<'m> {
    waiting: Vec<(usize, SourceSpan<'m>)>,
    members: Vec<(usize, SourceSpan<'m>)>,
}

/// The sides of each host's barriers, found by host. A host's nodes come one after another
/// (`emit_hosts.rs`), so the host is looked up once per run of nodes, not per node: a map
/// keyed by host and barrier, searched per node, compared host names most of the time.
#[derive(Default)]
struct HostsSides<'n, 'm> {
    hosts: Vec<(&'n str, BTreeMap<BarrierName, Sides<'m>>)>,
    position_of: HashMap<&'n str, usize>,
    /// The host last looked up, and its place in `hosts`.
    last: Option<(&'n str, usize)>,
}

impl<'n, 'm> HostsSides<'n, 'm> {
    /// The sides of `host`'s barriers.
    fn of(&mut self, host: &'n str) -> &mut BTreeMap<BarrierName, Sides<'m>> {
        let place = match self.last {
            Some((last, place)) if last == host => place,
            _ => {
                let next = self.hosts.len();
                let place = *self.position_of.entry(host).or_insert(next);
                if place == next {
                    self.hosts.push((host, BTreeMap::new()));
                }
                self.last = Some((host, place));
                place
            }
        };
        &mut self.hosts[place].1
    }

    /// Every host's barriers, by host and barrier.
    fn in_order(mut self) -> impl Iterator<Item = (&'n str, BarrierName, Sides<'m>)> {
        self.hosts.sort_unstable_by_key(|(host, _)| *host);
        self.hosts.into_iter().flat_map(|(host, sides)| {
            sides
                .into_iter()
                .map(move |(barrier, side)| (host, barrier, side))
        })
    }
}

/// Makes the barriers of every host: adds each barrier to the dependencies of the nodes
/// that wait for it, and its edges to `edges`; barrier number `n` is at position
/// `nodes.len() + n` there. Returns the barriers in that order. A node's dependencies stay
/// sorted: a barrier's position is after every node's, and each barrier's after the last.
pub fn join_barriers<'m>(
    nodes: &[EmittedNode<'m>],
    dependencies: &mut [Vec<usize>],
    edges: &mut DeclaredEdges<'m>,
) -> Vec<BarrierNode> {
    let mut hosts = HostsSides::default();
    for (position, node) in nodes.iter().enumerate() {
        let Scope::Host(host) = &node.name.scope else {
            continue;
        };
        let sides = hosts.of(host);
        let barriers = &node.declaration.barriers;
        let at = |span: &Option<std::ops::Range<usize>>| {
            let span = span
                .clone()
                .unwrap_or_else(|| node.declared_at.span.clone());
            SourceSpan::new(node.declared_at.source, span)
        };
        for (barrier, span) in &barriers.after {
            let side = sides.entry(*barrier).or_default();
            side.waiting.push((position, at(span)));
        }
        if let Some((barrier, span)) = &barriers.member_of {
            let side = sides.entry(*barrier).or_default();
            side.members.push((position, at(span)));
        }
    }
    let mut barriers = Vec::new();
    for (host, barrier, side) in hosts.in_order() {
        if side.waiting.is_empty() || side.members.is_empty() {
            continue;
        }
        let name = NodeName::on_host(host, NodeKind::Barrier, barrier.as_str());
        let position = nodes.len() + barriers.len();
        for (waiting, at) in side.waiting {
            let waited_for = &mut dependencies[waiting];
            // Waiting twice for one barrier is waiting for it.
            if waited_for.last() != Some(&position) {
                waited_for.push(position);
            }
            edges.add((waiting, position), at);
        }
        let mut deps = Vec::with_capacity(side.members.len());
        for (member, at) in side.members {
            deps.push(member);
            edges.add((position, member), at);
        }
        deps.sort_unstable();
        deps.dedup();
        barriers.push(BarrierNode { name, deps });
    }
    barriers
}
