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
    let agents = ["agent1", "agent2", "agent3"];
    let expectations: [(&str, &[&str]); 23] = [
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
        ("file:/etc/cairn/consul/service-mysql.json", &["db1", "db2"]),
        // Consul: an agent everywhere (servers on the masters), reloaded after file changes.
        ("container:consul", &every_host),
        ("command:consul-reload", &every_host),
        ("health:consul-dns", &every_host),
        // Mesos: masters with a leader, agents registered with it; Marathon on the masters.
        ("health:mesos-leader", &masters),
        ("container:mesos-agent", &agents),
        ("health:mesos-agent-registered", &agents),
        ("health:marathon-leader", &masters),
        // cAdvisor: every host.
        ("health:cadvisor-http", &every_host),
        // The operators' own module, loaded from the spec's module folder.
        ("container:console", &["agent1"]),
    ];
    for (node, hosts) in expectations {
        assert_eq!(hosts_with(&nodes, node), hosts, "the hosts with {node}");
    }
}

/// Order only: what the hosts install is pinned, so the servers' settings are no part of
/// it, and a change to them replaces nothing.
#[test]
fn the_hosts_wait_for_the_control_hosts_repository_and_registry_and_it_does_not_wait_for_itself() {
    let sandbox = Sandbox::with_example("dcos-ha");
    sandbox.compile().success();
    let nodes = sandbox.nodes();
    let ordered_after = sandbox.ordered_after();
    for host in ["agent1", "db1", "lb2", "master3"] {
        for (node, server) in [
            ("package:docker", "control:health:repository-http"),
            ("health:docker-ready", "control:health:registry-http"),
        ] {
            let name = format!("{host}:{node}");
            assert!(
                ordered_after[&name].contains(&server.to_string()),
                "{name} waits for {server}: {:?}",
                ordered_after[&name]
            );
            assert!(
                !nodes[&name].1.contains(&server.to_string()),
                "{name} does not depend on {server}"
            );
        }
    }
    for node in ["package:docker", "health:docker-ready"] {
        let name = format!("control:{node}");
        assert!(
            nodes[&name]
                .1
                .iter()
                .chain(&ordered_after[&name])
                .all(|dependency| !dependency.starts_with("control:health:re")),
            "{name}: {:?} {:?}",
            nodes[&name].1,
            ordered_after[&name]
        );
    }
}

#[test]
fn the_console_waits_for_the_zookeeper_quorum_on_every_master() {
    let sandbox = Sandbox::with_example("dcos-ha");
    sandbox.compile().success();
    let console = &sandbox.ordered_after()["agent1:container:console"];
    for master in ["master1", "master2", "master3"] {
        assert!(
            console.contains(&format!("{master}:health:zookeeper-quorum")),
            "{console:?}"
        );
    }
}

/// The example's lockfile as `cairn show --json` gives it.
fn example_json() -> serde_json::Value {
    let sandbox = Sandbox::with_example("dcos-ha");
    sandbox.compile().success();
    sandbox.show_json()
}

fn json_file(nodes: &serde_json::Value, name: &str) -> serde_json::Value {
    let text = crate::support::file_content(nodes, name);
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{name} is not JSON: {error}\n{text}"))
}

#[test]
fn consul_runs_three_servers_on_the_masters_and_every_other_agent_joins_them() {
    let nodes = example_json();
    let masters = ["10.10.0.11", "10.10.0.12", "10.10.0.13"];
    for host in ["master1", "master2", "master3", "agent2", "db1", "control"] {
        let config = json_file(
            &nodes,
            &format!("{host}:file:/etc/cairn/consul/consul.json"),
        );
        let server = host.starts_with("master");
        assert_eq!(config["server"], server, "{host}");
        assert_eq!(config["retry_join"], serde_json::json!(masters), "{host}");
        assert_eq!(config["node_name"], host);
        if server {
            assert_eq!(config["bootstrap_expect"], 3, "{host}");
        } else {
            assert!(config.get("bootstrap_expect").is_none(), "{host}");
        }
        // DNS on the host's own address, port 53: where Docker sends the containers.
        let address = config["bind_addr"].as_str().unwrap().to_string();
        assert_eq!(config["addresses"]["dns"], format!("127.0.0.1 {address}"));
        // The HTTP API, which registers services, on loopback alone.
        assert_eq!(config["client_addr"], "127.0.0.1");
        assert_eq!(config["ports"]["dns"], 53);
        assert_eq!(config["dns_config"]["only_passing"], true);
        let daemon = json_file(&nodes, &format!("{host}:file:/etc/docker/daemon.json"));
        assert_eq!(daemon["dns"], serde_json::json!([address]), "{host}");
        // The gossip key is a secret: its placeholder, never its value, is in the lockfile.
        assert_eq!(config["encrypt"], "@@CAIRN_SECRET(consul.gossip_key)@@");
    }
    let haproxy = crate::support::file_content(&nodes, "lb1:file:/etc/cairn/haproxy/haproxy.cfg");
    assert!(
        haproxy.contains("nameserver consul 127.0.0.1:53"),
        "{haproxy}"
    );
}

#[test]
fn mysql_vip_names_the_master_and_falls_to_the_slave_only_while_no_master_passes() {
    let nodes = example_json();
    let master = json_file(&nodes, "db1:file:/etc/cairn/consul/service-mysql.json");
    let slave = json_file(&nodes, "db2:file:/etc/cairn/consul/service-mysql.json");
    let service = |definition: &serde_json::Value, name: &str| -> serde_json::Value {
        definition["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|service| service["name"] == name)
            .unwrap_or_else(|| panic!("no service {name} in {definition}"))
            .clone()
    };
    assert_eq!(service(&master, "mysql-master")["address"], "10.10.0.31");
    assert_eq!(service(&slave, "mysql-slave")["address"], "10.10.0.32");
    let master_vip = service(&master, "mysql-vip");
    let slave_vip = service(&slave, "mysql-vip");
    assert_ne!(
        master_vip["id"], slave_vip["id"],
        "two instances of one service"
    );
    // The master's instance: MySQL answers. The slave's: MySQL answers and no instance of
    // mysql-master passes (its MySQL or its agent is down).
    assert_eq!(master_vip["checks"].as_array().unwrap().len(), 1);
    assert_eq!(master_vip["checks"][0]["tcp"], "10.10.0.31:3306");
    let slave_checks = slave_vip["checks"].as_array().unwrap();
    assert_eq!(slave_checks.len(), 2);
    assert_eq!(slave_checks[0]["tcp"], "10.10.0.32:3306");
    let failover = slave_checks[1]["args"][2].as_str().unwrap();
    assert!(
        failover.contains("/v1/health/service/mysql-master?passing") && failover.contains("= '[]'"),
        "{failover}"
    );
}

#[test]
fn mesos_masters_elect_through_zookeeper_with_a_majority_quorum_and_agents_run_docker_tasks() {
    let nodes = example_json();
    let zookeeper = "zk://10.10.0.11:2181,10.10.0.12:2181,10.10.0.13:2181";
    let master = crate::support::file_content(&nodes, "master2:file:/etc/cairn/mesos/master.env");
    for line in [
        format!("MESOS_ZK={zookeeper}/mesos"),
        "MESOS_QUORUM=2".to_string(),
        "MESOS_IP=10.10.0.12".to_string(),
    ] {
        assert!(
            master.lines().any(|found| found == line),
            "{line} in\n{master}"
        );
    }
    let agent = crate::support::file_content(&nodes, "agent3:file:/etc/cairn/mesos/agent.env");
    for line in [
        format!("MESOS_MASTER={zookeeper}/mesos"),
        "MESOS_CONTAINERIZERS=docker,mesos".to_string(),
        "MESOS_RESOURCES=cpus:8;mem:30720;disk:204800;ports:[31000-32000]".to_string(),
        "MESOS_WORK_DIR=/var/lib/mesos/agent".to_string(),
    ] {
        assert!(
            agent.lines().any(|found| found == line),
            "{line} in\n{agent}"
        );
    }
    let marathon =
        crate::support::file_content(&nodes, "master1:file:/etc/cairn/marathon/marathon.env");
    assert!(marathon.contains(&format!("MARATHON_MASTER={zookeeper}/mesos\n")));
    assert!(marathon.contains(&format!("MARATHON_ZK={zookeeper}/marathon\n")));
    // The agent sees the host's processes and Docker; the masters are no such thing.
    let agent_container = crate::support::node_named(&nodes, "agent1:container:mesos-agent");
    assert_eq!(agent_container["inputs"]["privileged"], true);
    assert_eq!(agent_container["inputs"]["pid"], "host");
    let master_container = crate::support::node_named(&nodes, "master1:container:mesos-master");
    assert!(master_container["inputs"].get("privileged").is_none());
}

#[test]
fn the_downloaded_components_are_pinned_by_sha256_and_copied_into_their_images() {
    let nodes = example_json();
    let consul = crate::support::node_named(&nodes, "cluster:image:consul");
    let artifact = &consul["inputs"]["artifacts"][0];
    assert_eq!(
        artifact["sha256"],
        "1d48942fa9f1d0df3f56a1622c7a46e9b85924ed9976338912101bb5519aadf1"
    );
    let dockerfile = consul["inputs"]["dockerfile"].as_str().unwrap();
    assert!(
        dockerfile.contains(
            "COPY artifacts/1d48942fa9f1d0df3f56a1622c7a46e9b85924ed9976338912101bb5519aadf1/ /usr/local/bin/\n"
        ),
        "{dockerfile}"
    );
    let marathon = crate::support::node_named(&nodes, "cluster:image:marathon");
    let paths: Vec<&str> = marathon["inputs"]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|artifact| artifact["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/", "/opt/marathon"],
        "Mesos's library, then Marathon"
    );
}

#[test]
fn a_checksum_that_is_not_sha256_is_refused_at_its_line_in_the_spec() {
    let sandbox = Sandbox::with_example("dcos-ha");
    sandbox.replace(
        "cluster.toml",
        "artifact_sha256 = \"1d48942fa9f1d0df3f56a1622c7a46e9b85924ed9976338912101bb5519aadf1\"",
        "artifact_sha256 = \"1D48942F\"",
    );
    let line = sandbox
        .read("cluster.toml")
        .lines()
        .position(|line| line.contains("1D48942F"))
        .unwrap()
        + 1;
    sandbox
        .compile()
        .code(2)
        .stderr_has("`artifact_sha256` in [consul] must be a sha256 checksum")
        .stderr_has(&format!("cluster.toml:{line}:19"));
}

#[test]
fn consul_refuses_a_cluster_of_two_servers_at_compile() {
    let sandbox = Sandbox::with_example("dcos-ha");
    sandbox.replace(
        "cluster.toml",
        "[hosts.master3]\naddress = \"10.10.0.13\"\nid = 13\nroles = [\"master\"]",
        "[hosts.master3]\naddress = \"10.10.0.13\"\nid = 13\nroles = [\"agent\"]",
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("module `consul`: Consul needs 1, 3 or 5 servers, the hosts with role `master`; this spec has 2");
}

#[test]
fn each_host_checks_the_ports_of_what_it_runs_before_anything_is_installed() {
    let nodes = example_nodes();
    let ports_of = |host: &str| -> Vec<String> {
        nodes
            .keys()
            .filter_map(|name| name.strip_prefix(&format!("{host}:check:port-free:")))
            .map(str::to_string)
            .collect()
    };
    // A master: Consul's server (DNS and gossip on UDP too), ZooKeeper, Mesos, Marathon,
    // cAdvisor.
    assert_eq!(
        ports_of("master1"),
        [
            "2181", "2888", "3888", "4194", "5050", "53", "53/udp", "8080", "8300", "8301",
            "8301/udp", "8500",
        ]
    );
    // An agent: Consul's client (no server RPC), the Mesos agent, cAdvisor.
    assert_eq!(
        ports_of("agent2"),
        ["4194", "5051", "53", "53/udp", "8301", "8301/udp", "8500"]
    );
    // Each container waits for its host's checks, through the host's barrier.
    for (host, container) in [
        ("master1", "consul"),
        ("agent2", "mesos-agent"),
        ("lb1", "haproxy"),
    ] {
        let dependencies = &nodes[&format!("{host}:container:{container}")].1;
        assert!(
            dependencies.contains(&format!("{host}:barrier:checks")),
            "{host}:{container} waits for the checks' barrier: {dependencies:?}"
        );
        let checks = &nodes[&format!("{host}:barrier:checks")].1;
        assert!(
            checks.contains(&format!("{host}:check:port-free:53")),
            "{host}'s barrier waits for the port checks: {checks:?}"
        );
    }
}

#[test]
fn consul_refuses_a_host_named_by_a_dns_name_instead_of_an_address() {
    let sandbox = Sandbox::with_example("dcos-ha");
    sandbox.replace(
        "cluster.toml",
        "address = \"10.10.0.42\"",
        "address = \"agent2.dcos-ha.example\"",
    );
    sandbox.compile().code(2).stderr_has(
        "needs every host's address as an IP address, and these hosts give a name instead: agent2.",
    );
}
