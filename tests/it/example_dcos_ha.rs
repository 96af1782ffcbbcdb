//! The dcos-ha example: the platform operators install today, in one spec. Each component
//! has its nodes on the hosts of its role, and the hosts wait for the control host's
//! services where they use them.

use std::collections::BTreeMap;

use crate::support::Sandbox;

/// The example's nodes by name, with their dependencies.
fn example_nodes() -> BTreeMap<String, (String, Vec<String>)> {
    let sandbox = Sandbox::with_example("dcos-ha");
    sandbox.compile().success();
    sandbox.nodes()
}

/// The hosts that have `host:<node>` for `node` (`kind:key`).
fn hosts_with(nodes: &BTreeMap<String, (String, Vec<String>)>, node: &str) -> Vec<String> {
    nodes
        .keys()
        .filter_map(|name| {
            let (host, rest) = name.split_once(':')?;
            (rest == node).then(|| host.to_string())
        })
        .collect()
}

#[test]
fn every_component_of_the_example_has_its_nodes_on_the_hosts_of_its_role() {
    let nodes = example_nodes();
    let every_host = [
        "agent1", "agent2", "agent3", "control", "db1", "db2", "lb1", "lb2", "master1", "master2",
        "master3",
    ];
    let masters = ["master1", "master2", "master3"];
    let load_balancers = ["lb1", "lb2"];
    let expectations: [(&str, &[&str]); 14] = [
        // Preflight checks and host initialisation: every host.
        ("check:os-release", &every_host),
        ("check:clock-sync", &every_host),
        ("file:/etc/apt/sources.list.d/cairn.sources", &every_host),
        ("file:/etc/hosts", &every_host),
        ("file:/etc/chrony/chrony.conf", &every_host),
        ("file:/etc/docker/daemon.json", &every_host),
        ("health:docker-ready", &every_host),
        // The control host's services.
        ("container:repository", &["control"]),
        ("container:registry", &["control"]),
        // The platform.
        ("file:/var/lib/zookeeper/myid", &masters),
        ("container:haproxy", &load_balancers),
        ("container:keepalived", &load_balancers),
        ("container:mysql", &["db1", "db2"]),
        // The operators' own module, loaded from the spec's module folder.
        ("container:console", &["agent1"]),
    ];
    for (node, hosts) in expectations {
        assert_eq!(hosts_with(&nodes, node), hosts, "the hosts with {node}");
    }
}

#[test]
fn the_hosts_wait_for_the_control_hosts_repository_and_registry_and_it_does_not_wait_for_itself() {
    let nodes = example_nodes();
    for host in ["agent1", "db1", "lb2", "master3"] {
        let packages = &nodes[&format!("{host}:package:docker")].1;
        assert!(
            packages.contains(&"control:health:repository-http".to_string()),
            "{host}: {packages:?}"
        );
        let docker_ready = &nodes[&format!("{host}:health:docker-ready")].1;
        assert!(
            docker_ready.contains(&"control:health:registry-http".to_string()),
            "{host}: {docker_ready:?}"
        );
    }
    for node in ["package:docker", "health:docker-ready"] {
        let dependencies = &nodes[&format!("control:{node}")].1;
        assert!(
            dependencies
                .iter()
                .all(|dependency| !dependency.starts_with("control:health:re")),
            "{dependencies:?}"
        );
    }
}

#[test]
fn the_console_waits_for_the_zookeeper_quorum_on_every_master() {
    let nodes = example_nodes();
    let console = &nodes["agent1:container:console"].1;
    for master in ["master1", "master2", "master3"] {
        assert!(
            console.contains(&format!("{master}:health:zookeeper-quorum")),
            "{console:?}"
        );
    }
}
