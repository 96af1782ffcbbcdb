//! The lockfile's rollout policies, one per container name: the defaults the lockfile
//! crate gives (a quarter of the hosts at a time, gated by the container's own health
//! nodes), what the container's module states (`[node.rollout]`, its gates added to the
//! default ones), then what the spec changes (`[rollouts.NAME]`: the pace, and how many
//! releases' images the hosts keep).

use std::collections::{BTreeMap, BTreeSet};

use cairn_lockfiles::{NodeKind, NodeName, RolloutPolicy, Value};

use crate::diagnostic::{CompileError, Diagnostic, Diagnostics, SourceSpan};
use crate::module::node_declaration::NodeDeclaration;
use crate::spec::{ClusterSpec, RolloutOverride};
use crate::suggest::did_you_mean;

/// What the rollouts read of an emitted container or health node, kept once its spec went
/// to the lockfile (the other emitted nodes are not kept).
pub struct RolloutSource<'m> {
    pub name: NodeName,
    pub declared_at: SourceSpan<'m>,
    /// The declaration it was rendered from.
    pub declaration: &'m NodeDeclaration,
    /// A container's rollout, rendered, where its declaration states one.
    pub rollout: Option<BTreeMap<String, Value>>,
}

impl RolloutSource<'_> {
    /// Whether the rollouts read a node of `kind`: containers and health nodes.
    pub fn kept(kind: NodeKind) -> bool {
        matches!(kind, NodeKind::Container | NodeKind::Health)
    }
}

/// Every container name's policy where it is not the default one.
pub fn stated_rollouts(
    spec: &ClusterSpec,
    nodes: &[RolloutSource<'_>],
    defaults: &BTreeMap<String, RolloutPolicy>,
) -> Result<BTreeMap<String, RolloutPolicy>, CompileError> {
    let mut diagnostics = Diagnostics::default();
    let mut stated = module_rollouts(nodes, defaults, &mut diagnostics);
    for (container, spec_override) in &spec.rollouts {
        let Some(default) = defaults.get(container) else {
            diagnostics.push(
                Diagnostic::new(format!(
                    "[rollouts.{container}]: no host runs a container named `{container}`"
                ))
                .at(&spec.source, &spec_override.name_span)
                .maybe_hint(did_you_mean(container, defaults.keys().map(String::as_str))),
            );
            continue;
        };
        let policy = stated
            .entry(container.clone())
            .or_insert_with(|| default.clone());
        apply_override(policy, spec_override);
    }
    diagnostics.finish(stated)
}

/// The policies the modules state, each read from its first host and the same on every
/// other, with the default gates added. A container's mistake is reported once.
fn module_rollouts(
    nodes: &[RolloutSource<'_>],
    defaults: &BTreeMap<String, RolloutPolicy>,
    diagnostics: &mut Diagnostics,
) -> BTreeMap<String, RolloutPolicy> {
    let health_nodes: BTreeSet<(&str, &str)> = nodes
        .iter()
        .filter(|node| node.name.kind == NodeKind::Health)
        .filter_map(|node| Some((node.name.host()?, node.name.key.as_ref())))
        .collect();
    let mut stated: BTreeMap<String, (RolloutPolicy, &str, SourceSpan<'_>)> = BTreeMap::new();
    let mut refused: BTreeSet<&str> = BTreeSet::new();
    for node in nodes {
        let (Some(fields), Some(declared), Some(host)) =
            (&node.rollout, &node.declaration.rollout, node.name.host())
        else {
            continue;
        };
        let container = node.name.key.as_ref();
        if refused.contains(container) {
            continue;
        }
        let at = SourceSpan::new(node.declared_at.source, declared.span.clone());
        let read = RolloutPolicy::from_fields(fields.clone())
            .map_err(|error| {
                Diagnostic::new(format!("the rollout of container `{container}`: {error}"))
            })
            .and_then(|policy| match stated.get(container) {
                Some((first, first_host, _)) if *first != policy => Err(Diagnostic::new(format!(
                    "the rollout of container `{container}` differs between hosts `{first_host}` and `{host}`"
                ))
                .hint("a rollout is one policy for all the container's hosts: render it from cluster-wide values, not `host`")),
                _ => Ok(policy),
            });
        match read {
            Ok(policy) => {
                stated
                    .entry(container.to_string())
                    .or_insert((policy, host, at));
            }
            Err(diagnostic) => {
                diagnostics.push(diagnostic.at_location(at.location()));
                refused.insert(container);
            }
        }
    }
    stated.retain(|container, (policy, _, at)| {
        let hosts = hosts_running(nodes, container);
        match check_gates(container, policy, &hosts, &health_nodes) {
            Ok(()) => true,
            Err(diagnostic) => {
                diagnostics.push(diagnostic.at_location(at.location()));
                false
            }
        }
    });
    stated
        .into_iter()
        .map(|(container, (mut policy, _, _))| {
            if let Some(default) = defaults.get(&container) {
                let gates: BTreeSet<String> =
                    default.gates.iter().chain(&policy.gates).cloned().collect();
                policy.gates = gates.into_iter().collect();
            }
            (container, policy)
        })
        .collect()
}

/// The hosts that run container `container`.
fn hosts_running<'n>(nodes: &'n [RolloutSource<'_>], container: &str) -> Vec<&'n str> {
    nodes
        .iter()
        .filter(|node| node.name.kind == NodeKind::Container && &*node.name.key == container)
        .filter_map(|node| node.name.host())
        .collect()
}

/// Each gate of `policy` is a health node of one of `hosts` at least (a host without it
/// skips it: the MySQL slave's replication check).
fn check_gates(
    container: &str,
    policy: &RolloutPolicy,
    hosts: &[&str],
    health_nodes: &BTreeSet<(&str, &str)>,
) -> Result<(), Diagnostic> {
    let missing = policy.gates.iter().find(|gate| {
        let key = gate.trim_start_matches("health:");
        !hosts
            .iter()
            .any(|host| health_nodes.contains(&(*host, key)))
    });
    match missing {
        None => Ok(()),
        Some(gate) => Err(Diagnostic::new(format!(
            "the rollout of container `{container}`: gate `{gate}` is a health node of none of its hosts ({})",
            hosts.join(", ")
        ))
        .hint("a gate names a health node of the container's hosts, `health:NAME`")),
    }
}

/// The spec's changes over a module's (or the default) policy.
fn apply_override(policy: &mut RolloutPolicy, spec_override: &RolloutOverride) {
    if let Some(max_parallel) = spec_override.max_parallel {
        policy.max_parallel = max_parallel;
    }
    if let Some(seconds) = spec_override.min_healthy_seconds {
        policy.min_healthy_seconds = seconds;
    }
    if let Some(seconds) = spec_override.deadline_seconds {
        policy.deadline_seconds = seconds;
    }
    if let Some(keep_releases) = spec_override.keep_releases {
        policy.keep_releases = keep_releases;
    }
}
