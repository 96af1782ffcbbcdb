use std::collections::HashMap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::GraphError;
use crate::node_name::NodeName;

/// Orders nodes so that every node comes after its dependencies.
///
/// `nodes` is a list of (name, dependency names). The result is a list of indices into it.
/// Ties are broken by position, so the order is deterministic for a sorted input.
pub fn topological_order(nodes: &[(&NodeName, &[NodeName])]) -> Result<Vec<usize>, GraphError> {
    let mut index_of: HashMap<&NodeName, usize> = HashMap::with_capacity(nodes.len());
    for (position, (name, _)) in nodes.iter().enumerate() {
        if index_of.insert(name, position).is_some() {
            return Err(GraphError::DuplicateName((*name).clone()));
        }
    }
    let mut dependencies = DependencyPositions::with_capacity(nodes.len(), nodes.len() * 2);
    for (name, dependency_names) in nodes {
        for dependency in *dependency_names {
            let Some(&dependency_position) = index_of.get(dependency) else {
                return Err(GraphError::DanglingDependency {
                    node: (*name).clone(),
                    dependency: dependency.clone(),
                });
            };
            dependencies.push_dependency(dependency_position);
        }
        dependencies.end_node();
    }
    order_positions(&[&dependencies], |position| nodes[position].0)
}

/// The dependencies of every node as positions, in one flat list: node `n`'s are
/// `dependencies_of(n)`, in the order they were pushed. Built once per graph, so validation,
/// ordering and hashing compare integers, not names.
#[derive(Debug, Default)]
pub(crate) struct DependencyPositions {
    /// Where each node's run of `positions` ends; node `n`'s starts where `n - 1`'s ends.
    ends: Vec<usize>,
    positions: Vec<usize>,
}

impl DependencyPositions {
    pub(crate) fn with_capacity(nodes: usize, edges: usize) -> Self {
        Self {
            ends: Vec::with_capacity(nodes),
            positions: Vec::with_capacity(edges),
        }
    }

    /// Adds a dependency to the node being built.
    pub(crate) fn push_dependency(&mut self, position: usize) {
        self.positions.push(position);
    }

    /// Closes the node being built; the next push starts the next node.
    pub(crate) fn end_node(&mut self) {
        self.ends.push(self.positions.len());
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn dependencies_of(&self, node: usize) -> &[usize] {
        let start = if node == 0 { 0 } else { self.ends[node - 1] };
        &self.positions[start..self.ends[node]]
    }
}

/// [`topological_order`] on positions: every dependency already resolved. `name_of` names
/// the nodes of a cycle.
///
/// The order is petgraph's `toposort` of the graph whose edges run from a dependency to
/// its dependants (a depth-first search, dependants visited newest edge first), computed
/// on flat arrays: building petgraph's graph and its second, cycle-checking search took a
/// tenth of reading a 10,000-host lockfile. A cycle shows as an order that puts a node
/// before one of its dependencies; only then is petgraph's graph built, to find it.
///
/// The edges are each node's positions in every list of `waited_for` (of the same nodes),
/// in turn: its dependencies, then what it is ordered after.
pub(crate) fn order_positions<'a>(
    waited_for: &[&DependencyPositions],
    name_of: impl Fn(usize) -> &'a NodeName,
) -> Result<Vec<usize>, GraphError> {
    let edges = WaitedFor(waited_for);
    if let Some(order) = depth_first_order(&edges) {
        return Ok(order);
    }
    let graph = petgraph_graph(&edges);
    Err(GraphError::Cycle {
        nodes: find_cycle(&graph, &edges)
            .into_iter()
            .map(|position| name_of(position).clone())
            .collect(),
    })
}

/// What each node waits for: its positions in each list, in turn. Read from the lists
/// where they are, not copied into one (twelve megabytes at 10,000 hosts).
struct WaitedFor<'a>(&'a [&'a DependencyPositions]);

impl WaitedFor<'_> {
    fn len(&self) -> usize {
        self.0.first().map_or(0, |list| list.len())
    }

    fn edge_count(&self) -> usize {
        self.0.iter().map(|list| list.positions.len()).sum()
    }

    fn of(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        self.0
            .iter()
            .flat_map(move |list| list.dependencies_of(node).iter().copied())
    }

    /// Whether `check` holds of every edge, given its node's and its dependency's
    /// positions: each list walked as slices, not through [`WaitedFor::of`]'s chain (a
    /// million edges at 10,000 hosts).
    fn all(&self, check: impl Fn(usize, usize) -> bool) -> bool {
        self.0.iter().all(|list| {
            (0..list.len()).all(|node| {
                list.dependencies_of(node)
                    .iter()
                    .all(|&dependency| check(node, dependency))
            })
        })
    }
}

/// The nodes in the order of petgraph's `toposort` (see [`order_positions`]), or `None`
/// where there is a cycle.
fn depth_first_order(dependencies: &WaitedFor<'_>) -> Option<Vec<usize>> {
    let count = dependencies.len();
    let dependants = Dependants::of(dependencies);
    let mut discovered = vec![false; count];
    let mut finished = vec![false; count];
    let mut finish_stack = Vec::with_capacity(count);
    let mut stack = Vec::new();
    for start in 0..count {
        if discovered[start] {
            continue;
        }
        stack.push(start);
        while let Some(&node) = stack.last() {
            if !discovered[node] {
                discovered[node] = true;
                // petgraph walks a node's edges newest first: its last dependant first.
                for &dependant in dependants.of_node(node).iter().rev() {
                    if !discovered[dependant] {
                        stack.push(dependant);
                    }
                }
            } else {
                stack.pop();
                if !finished[node] {
                    finished[node] = true;
                    finish_stack.push(node);
                }
            }
        }
    }
    finish_stack.reverse();
    let mut place = vec![0; count];
    for (index, &node) in finish_stack.iter().enumerate() {
        place[node] = index;
    }
    let acyclic = dependencies.all(|node, dependency| place[dependency] < place[node]);
    acyclic.then_some(finish_stack)
}

/// Every node's dependants, in the order their edges were added (by the dependant's
/// position), in one flat list.
struct Dependants {
    starts: Vec<usize>,
    positions: Vec<usize>,
}

impl Dependants {
    fn of(dependencies: &WaitedFor<'_>) -> Self {
        let count = dependencies.len();
        let mut starts = vec![0; count + 1];
        for list in dependencies.0 {
            for &dependency in &list.positions {
                starts[dependency + 1] += 1;
            }
        }
        for node in 0..count {
            starts[node + 1] += starts[node];
        }
        let mut next = starts.clone();
        let mut positions = vec![0; dependencies.edge_count()];
        for node in 0..count {
            // Each list's edges of the node in turn, as slices.
            for list in dependencies.0 {
                for &dependency in list.dependencies_of(node) {
                    positions[next[dependency]] = node;
                    next[dependency] += 1;
                }
            }
        }
        Self { starts, positions }
    }

    fn of_node(&self, node: usize) -> &[usize] {
        &self.positions[self.starts[node]..self.starts[node + 1]]
    }
}

/// The graph as petgraph's, an edge from each dependency to its dependant.
fn petgraph_graph(dependencies: &WaitedFor<'_>) -> DiGraph<usize, ()> {
    let count = dependencies.len();
    let mut graph: DiGraph<usize, ()> = DiGraph::with_capacity(count, dependencies.edge_count());
    for position in 0..count {
        graph.add_node(position);
    }
    for position in 0..count {
        for dependency_position in dependencies.of(position) {
            graph.add_edge(
                NodeIndex::new(dependency_position),
                NodeIndex::new(position),
                (),
            );
        }
    }
    graph
}

/// One cycle of the graph, as positions, each node depending on the next.
fn find_cycle(graph: &DiGraph<usize, ()>, dependencies: &WaitedFor<'_>) -> Vec<usize> {
    let mut components: Vec<Vec<NodeIndex>> = tarjan_scc(graph)
        .into_iter()
        .filter(|component| {
            component.len() > 1
                || component
                    .first()
                    .is_some_and(|index| graph.contains_edge(*index, *index))
        })
        .collect();
    // The component whose smallest member comes first: deterministic for a given input.
    components.sort_by_key(|component| component.iter().map(|index| graph[*index]).min());
    let Some(component) = components.into_iter().next() else {
        return Vec::new();
    };
    let members: std::collections::BTreeSet<usize> =
        component.iter().map(|index| graph[*index]).collect();
    // Walk dependency edges inside the component from its smallest member until a node
    // repeats; the repeated stretch is a cycle.
    let Some(&start) = members.iter().next() else {
        return Vec::new();
    };
    let mut path = vec![start];
    let mut seen = HashMap::from([(start, 0usize)]);
    let mut current = start;
    while let Some(next) = dependencies
        .of(current)
        .filter(|position| members.contains(position))
        .min()
    {
        if let Some(&cycle_start) = seen.get(&next) {
            return path[cycle_start..].to_vec();
        }
        seen.insert(next, path.len());
        path.push(next);
        current = next;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use petgraph::algo::toposort;

    fn name(text: &str) -> NodeName {
        text.parse().unwrap()
    }

    #[test]
    fn dependencies_come_first() {
        let a = name("h:file:/a");
        let b = name("h:file:/b");
        let c = name("h:file:/c");
        let deps_a = [b.clone()];
        let deps_b = [c.clone()];
        let nodes = [(&a, &deps_a[..]), (&b, &deps_b[..]), (&c, &[][..])];
        assert_eq!(topological_order(&nodes).unwrap(), vec![2, 1, 0]);
    }

    #[test]
    fn a_cycle_is_reported_with_every_node_on_it() {
        let a = name("h:file:/a");
        let b = name("h:file:/b");
        let c = name("h:file:/c");
        let outside = name("h:file:/outside");
        let deps_a = [b.clone()];
        let deps_b = [c.clone()];
        let deps_c = [a.clone()];
        let deps_outside = [a.clone()];
        let nodes = [
            (&a, &deps_a[..]),
            (&b, &deps_b[..]),
            (&c, &deps_c[..]),
            (&outside, &deps_outside[..]),
        ];
        let error = topological_order(&nodes).unwrap_err();
        assert_eq!(
            error,
            GraphError::Cycle {
                nodes: vec![a.clone(), b.clone(), c.clone()]
            }
        );
        assert_eq!(
            error.to_string(),
            "dependency cycle: h:file:/a -> h:file:/b -> h:file:/c -> h:file:/a"
        );
    }

    #[test]
    fn a_dangling_dependency_names_both_ends() {
        let a = name("h:file:/a");
        let deps = [name("h:file:/missing")];
        let error = topological_order(&[(&a, &deps[..])]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "node `h:file:/a` depends on `h:file:/missing`, which is not in the graph"
        );
    }

    /// A graph of `count` nodes, each depending on some of the nodes before it (acyclic) or
    /// also after it (`backwards`: maybe cyclic).
    fn graph(count: usize, edges: &[(usize, usize)]) -> DependencyPositions {
        let mut dependencies = DependencyPositions::with_capacity(count, edges.len());
        for node in 0..count {
            let mut of_node: Vec<usize> = edges
                .iter()
                .filter(|(from, _)| *from == node)
                .map(|(_, to)| *to)
                .collect();
            of_node.sort_unstable();
            of_node.dedup();
            for dependency in of_node {
                dependencies.push_dependency(dependency);
            }
            dependencies.end_node();
        }
        dependencies
    }

    proptest::proptest! {
        /// The order is petgraph's toposort's, node for node, and a cycle is found where
        /// petgraph finds one.
        #[test]
        fn the_order_is_petgraphs(
            count in 1usize..40,
            edges in proptest::collection::vec((0usize..40, 0usize..40), 0..120),
            acyclic in proptest::bool::ANY,
        ) {
            let edges: Vec<(usize, usize)> = edges
                .into_iter()
                .map(|(from, to)| (from % count, to % count))
                .filter(|(from, to)| !acyclic || to < from)
                .collect();
            // Every other edge in a second list, as a node's `ordered_after` is.
            let (first, second): (Vec<_>, Vec<_>) =
                edges.iter().enumerate().partition(|(index, _)| index % 2 == 0);
            let list = |edges: Vec<(usize, &(usize, usize))>| {
                graph(count, &edges.into_iter().map(|(_, edge)| *edge).collect::<Vec<_>>())
            };
            let (first, second) = (list(first), list(second));
            // One list holding each node's edges of both, in turn: the graph the two make.
            let mut both = DependencyPositions::with_capacity(count, edges.len());
            for node in 0..count {
                for &dependency in first.dependencies_of(node).iter().chain(second.dependencies_of(node)) {
                    both.push_dependency(dependency);
                }
                both.end_node();
            }
            let expected = toposort(&petgraph_graph(&WaitedFor(&[&both])), None)
                .ok()
                .map(|order| order.into_iter().map(|index| index.index()).collect::<Vec<_>>());
            proptest::prop_assert_eq!(depth_first_order(&WaitedFor(&[&first, &second])), expected);
        }
    }
}
