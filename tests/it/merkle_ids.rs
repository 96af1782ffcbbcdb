//! A node's id covers its inputs and its dependencies' ids: a change changes exactly the
//! ids of the changed node and of what depends on it, and no other.

use crate::support::{Sandbox, changed_ids, with_dependants};

#[test]
fn changing_one_template_changes_exactly_that_node_and_its_dependants() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.compile().success();
    let before = sandbox.nodes();

    sandbox.edit("../modules/console/console.conf.j2", |text| {
        format!("{text}refresh_seconds = 30\n")
    });
    sandbox.compile().success();
    let after = sandbox.nodes();

    let expected = with_dependants(&before, &["node1:file:/etc/cairn/console/console.conf"]);
    assert_eq!(changed_ids(&before, &after), expected);
    // What that means here: the file, the container that reads it, the container's health.
    assert_eq!(
        expected.into_iter().collect::<Vec<_>>(),
        [
            "node1:container:console",
            "node1:file:/etc/cairn/console/console.conf",
            "node1:health:console-http",
        ]
    );
}

#[test]
fn changing_an_image_file_changes_the_image_and_its_containers_not_the_configs() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.compile().success();
    let before = sandbox.nodes();

    sandbox.edit("../modules/console/entrypoint.sh.j2", |text| {
        text.replace("exec python3", "exec python3 -u")
    });
    sandbox.compile().success();
    let after = sandbox.nodes();

    let changed = changed_ids(&before, &after);
    assert_eq!(
        changed,
        with_dependants(&before, &["cluster:image:console"])
    );
    assert!(changed.contains("node1:container:console"));
    assert!(!changed.contains("node1:file:/etc/cairn/console/console.conf"));
}

#[test]
fn changing_a_setting_changes_only_the_nodes_that_read_it_and_their_dependants() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.compile().success();
    let before = sandbox.nodes();

    sandbox.edit("cluster.toml", |text| {
        text.replace("[zookeeper]\n", "[zookeeper]\ntick_time_ms = 3000\n")
    });
    sandbox.compile().success();
    let after = sandbox.nodes();

    let changed = changed_ids(&before, &after);
    assert_eq!(
        changed,
        with_dependants(&before, &["node1:file:/etc/cairn/zookeeper/zoo.cfg"])
    );
    assert!(changed.contains("node1:container:zookeeper"));
    assert!(changed.contains("node1:health:zookeeper-quorum"));
    assert!(
        !changed.contains("node1:container:haproxy"),
        "HAProxy does not read ZooKeeper's settings"
    );
}

#[test]
fn nodes_emitted_for_hosts_of_a_role_depend_on_every_host_of_that_role() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "cluster.toml",
        &crate::support::MINIMAL_SPEC.replace(
            "[repository]",
            "[hosts.node2]\naddress = \"127.0.0.2\"\nroles = [\"master\"]\nid = 2\n\n[hosts.node3]\naddress = \"127.0.0.3\"\nroles = [\"master\"]\nid = 3\n\n[repository]",
        ),
    );
    sandbox.compile().success();
    let nodes = sandbox.nodes();
    let quorum_deps = &nodes["node2:health:zookeeper-quorum"].1;
    for host in ["node1", "node2", "node3"] {
        assert!(
            quorum_deps.contains(&format!("{host}:container:zookeeper")),
            "{quorum_deps:?}"
        );
    }
    // Each server has its own myid, and all share one zoo.cfg.
    let zoo_cfg_ids: std::collections::BTreeSet<&String> = ["node1", "node2", "node3"]
        .iter()
        .map(|host| &nodes[&format!("{host}:file:/etc/cairn/zookeeper/zoo.cfg")].0)
        .collect();
    assert_eq!(
        zoo_cfg_ids.len(),
        1,
        "the same zoo.cfg is the same node id on every master"
    );
    let myid_ids: std::collections::BTreeSet<&String> = ["node1", "node2", "node3"]
        .iter()
        .map(|host| &nodes[&format!("{host}:file:/var/lib/zookeeper/myid")].0)
        .collect();
    assert_eq!(myid_ids.len(), 3);
}
