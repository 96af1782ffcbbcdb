//! `show`, `explain` and `graph` read a lockfile for people and for programs.

use crate::support::{Sandbox, cairn};

/// How many nodes the sandbox's lockfile holds, by its `[[node]]` tables.
fn node_count(sandbox: &Sandbox) -> usize {
    sandbox
        .read("cluster.lock")
        .lines()
        .filter(|line| *line == "[[node]]")
        .count()
}

#[test]
fn show_lists_every_node_with_its_id() {
    let sandbox = Sandbox::with_example("quickstart");
    let outcome = sandbox.cairn(&["show", "cluster.lock"]).success();
    assert!(outcome.stdout.contains("node1:container:zookeeper"));
    assert!(outcome.stdout.contains("cluster:image:haproxy"));
    let count = node_count(&sandbox);
    assert!(
        outcome
            .stdout
            .contains(&format!("{count} nodes on 1 host;"))
    );
}

#[test]
fn show_one_node_prints_its_inputs_and_rendered_content() {
    let sandbox = Sandbox::with_example("quickstart");
    let outcome = cairn()
        .current_dir(sandbox.path())
        .args([
            "show",
            "cluster.lock",
            "node1:file:/etc/cairn/haproxy/haproxy.cfg",
        ])
        .run()
        .success();
    assert!(outcome.stdout.contains("kind: file"));
    assert!(outcome.stdout.contains("resolvers consul"));
    assert!(
        outcome
            .stdout
            .contains("server-template marathon 10 _marathon._tcp.service.consul resolvers consul")
    );
}

#[test]
fn show_json_gives_name_kind_host_id_deps_and_for_files_path_and_content() {
    let sandbox = Sandbox::with_example("quickstart");
    let outcome = sandbox.cairn(&["show", "cluster.lock", "--json"]).success();
    let nodes = outcome.json();
    let nodes = nodes.as_array().unwrap();
    assert_eq!(nodes.len(), node_count(&sandbox));
    for node in nodes {
        for field in ["name", "kind", "host", "id", "deps"] {
            assert!(node.get(field).is_some(), "{field} in {node}");
        }
    }
    let zoo_cfg = nodes
        .iter()
        .find(|node| node["name"] == "node1:file:/etc/cairn/zookeeper/zoo.cfg")
        .unwrap();
    assert_eq!(zoo_cfg["kind"], "file");
    assert_eq!(zoo_cfg["host"], "node1");
    assert_eq!(zoo_cfg["path"], "/etc/cairn/zookeeper/zoo.cfg");
    assert!(
        zoo_cfg["content"]
            .as_str()
            .unwrap()
            .contains("server.1=127.0.0.1:12888:13888")
    );
    let image = nodes
        .iter()
        .find(|node| node["name"] == "cluster:image:haproxy")
        .unwrap();
    assert_eq!(image["host"], serde_json::Value::Null);
}

#[test]
fn show_an_unknown_node_suggests_names_and_exits_2() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox
        .cairn(&["show", "cluster.lock", "haproxy.cfg"])
        .code(2)
        .stderr_has("node1:file:/etc/cairn/haproxy/haproxy.cfg");
}

#[test]
fn explain_prints_the_canonical_inputs_and_the_dependency_ids() {
    let sandbox = Sandbox::with_example("quickstart");
    let nodes = sandbox.nodes();
    let outcome = sandbox
        .cairn(&["explain", "cluster.lock", "node1:container:zookeeper"])
        .success();
    assert!(
        outcome
            .stdout
            .contains(&format!("id:   {}", nodes["node1:container:zookeeper"].0))
    );
    assert!(outcome.stdout.contains("\"network\": \"host\""));
    assert!(
        outcome.stdout.contains(&nodes["cluster:image:zookeeper"].0),
        "the image's id is an input"
    );
}

#[test]
fn graph_dot_has_one_cluster_per_host_and_an_edge_per_dependency() {
    let sandbox = Sandbox::with_example("quickstart");
    let nodes = sandbox.nodes();
    let outcome = sandbox.cairn(&["graph", "cluster.lock"]).success();
    assert!(outcome.stdout.starts_with("digraph \"quickstart\" {"));
    assert_eq!(
        outcome.stdout.matches("subgraph cluster_").count(),
        2,
        "the cluster's images and node1"
    );
    let order_only: usize = sandbox.ordered_after().values().map(Vec::len).sum();
    let edges: usize = nodes.values().map(|(_, deps)| deps.len()).sum::<usize>() + order_only;
    assert_eq!(outcome.stdout.matches(" -> ").count(), edges);
    assert_eq!(
        outcome.stdout.matches("style=dashed").count(),
        order_only,
        "keepalived waits for HAProxy's health, order only"
    );
}

#[test]
fn graph_json_lists_nodes_and_edges() {
    let sandbox = Sandbox::with_example("quickstart");
    let outcome = sandbox
        .cairn(&["graph", "cluster.lock", "--format", "json"])
        .success();
    let graph = outcome.json();
    assert_eq!(
        graph["nodes"].as_array().unwrap().len(),
        node_count(&sandbox)
    );
    assert!(
        graph["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|edge| edge["from"] == "node1:container:console"
                && edge["to"] == "node1:health:zookeeper-quorum")
    );
}

#[test]
fn a_usage_error_exits_2() {
    cairn().args(["compile"]).run().code(2);
    cairn().args(["no-such-command"]).run().code(2);
}

#[test]
fn a_missing_spec_is_an_input_error() {
    cairn()
        .args(["compile", "/nonexistent/cluster.toml"])
        .run()
        .code(2)
        .stderr_has("cannot read the spec");
}
