//! host-base's firewall, judged by Debian's nftables: the ruleset a host gets passes
//! `nft --check` (and a broken copy does not), and, loaded for real in the network namespace
//! of a host of a [`PrivateNetwork`], it lets the cluster's hosts reach every port, any
//! other address only SSH and the ports the spec opens, and drops the rest. Loading it
//! again, and stopping nftables.service as cairn's drop-in makes it stop, touch no table
//! but cairn's own (Docker keeps its NAT in tables of its own). Every nft runs inside a
//! namespace of the test's own, in a mount namespace whose `/etc` is a copy-on-write
//! overlay: nothing touches this machine's firewall or files.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::network_namespaces::{NetworkHost, PrivateNetwork};
use crate::support::{Sandbox, file_content};

const RULESET: &str = "/etc/nftables.conf";
const CLUSTER_SETS: &str = "/etc/cairn/firewall/cluster.nft";
const DROP_IN: &str = "/etc/systemd/system/nftables.service.d/cairn.conf";

/// A cluster of `node1` and `node2` at the given addresses, with `firewall` as its
/// [firewall] section.
fn firewall_sandbox(node1: &str, node2: &str, firewall: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write(
        "cluster.toml",
        &format!(
            "[cluster]\nname = \"firewalled\"\ndomain = \"firewalled.example\"\nexclude_modules = [\"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\n\
             [hosts.node1]\naddress = \"{node1}\"\nroles = []\n\n\
             [hosts.node2]\naddress = \"{node2}\"\nroles = []\n\n\
             [repository]\nurl = \"http://{node2}:8080/debian\"\n\n\
             [registry]\naddress = \"{node2}:5000\"\n\n\
             [ntp]\nservers = [\"{node2}\"]\n\n\
             [firewall]\n{firewall}"
        ),
    );
    sandbox.compile().success();
    sandbox
}

/// Runs `nft` with `arguments` in `network_host`'s namespace, in a mount namespace of its
/// own whose `/etc` is an overlay holding `files` (path, content) at their paths, as the
/// host has them. Returns whether nft succeeded, and what it printed.
fn nft_in(
    network_host: &NetworkHost,
    files: &[(&str, &str)],
    arguments: &[&str],
) -> (bool, String) {
    let work = tempfile::tempdir().expect("a temporary folder");
    let folder = work.path();
    for name in ["upper", "scratch"] {
        std::fs::create_dir(folder.join(name)).expect("an overlay folder");
    }
    let mut script = format!(
        "set -eu\nmount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={scratch} /etc\n",
        upper = folder.join("upper").display(),
        scratch = folder.join("scratch").display(),
    );
    for (index, (path, content)) in files.iter().enumerate() {
        let staged = folder.join(format!("file-{index}"));
        std::fs::write(&staged, content).expect("a staged file");
        script.push_str(&format!("install -D -m 0644 {} {path}\n", staged.display()));
    }
    script.push_str(&format!("exec nft {}\n", arguments.join(" ")));
    let output = network_host
        .command("unshare")
        .args(["--mount", "sh", "-c", &script])
        .output()
        .expect("unshare runs (util-linux)");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// How a TCP connection attempt ended.
#[derive(Debug, PartialEq, Eq)]
enum Connection {
    Established,
    /// No answer at all within the time allowed: the packets were dropped.
    Dropped,
    /// Any other failure (refused: nothing listens, or a reject).
    Failed(Option<i32>),
}

/// A TCP connection from `from`'s namespace to `address:port` (bash's /dev/tcp).
fn connect(from: &NetworkHost, address: &str, port: u16) -> Connection {
    let status = from
        .command("timeout")
        .args([
            "2",
            "bash",
            "-c",
            &format!("exec 3<>/dev/tcp/{address}/{port}"),
        ])
        .stderr(Stdio::null())
        .status()
        .expect("timeout and bash run");
    match status.code() {
        Some(0) => Connection::Established,
        Some(124) => Connection::Dropped,
        code => Connection::Failed(code),
    }
}

/// TCP listeners in a namespace (busybox's nc, accepting any number of connections);
/// stopped when dropped.
struct Listeners(Vec<Child>);

impl Listeners {
    fn start(network_host: &NetworkHost, ports: &[u16]) -> Self {
        let busybox = Path::new("/bin/busybox");
        assert!(
            busybox.exists(),
            "/bin/busybox is missing: install Debian's busybox-static (.ci/run does)"
        );
        let listeners = Self(
            ports
                .iter()
                .map(|port| {
                    network_host
                        .command("/bin/busybox")
                        .args(["nc", "-ll", "-p", &port.to_string(), "-e", "/bin/true"])
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .expect("busybox nc runs")
                })
                .collect(),
        );
        // Ready once each answers on loopback, which no ruleset here drops.
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in ports {
            while connect(network_host, "127.0.0.1", *port) != Connection::Established {
                assert!(Instant::now() < deadline, "nothing listens on port {port}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        listeners
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn nft_accepts_the_ruleset_each_host_gets_and_rejects_a_broken_copy() {
    let network = PrivateNetwork::create("fwc", 1);
    // An IPv6 host, a range, and networks one inside the other (which a set of intervals
    // takes only with `auto-merge`).
    let sandbox = firewall_sandbox(
        "10.0.0.11",
        "fd00::12",
        "enabled = true\nopen_ports = [\"80/tcp\", \"31000-32000/udp\"]\n\
         trusted_networks = [\"192.168.10.0/24\", \"192.168.0.0/16\"]\n",
    );
    let nodes = sandbox.show_json();
    let cluster_sets = file_content(&nodes, &format!("node1:file:{CLUSTER_SETS}"));
    for host in ["node1", "node2"] {
        let ruleset = file_content(&nodes, &format!("{host}:file:{RULESET}"));
        let (accepted, output) = nft_in(
            &network.hosts[0],
            &[(RULESET, &ruleset), (CLUSTER_SETS, &cluster_sets)],
            &["--check", "-f", RULESET],
        );
        assert!(
            accepted,
            "nft --check rejects {host}'s ruleset:\n{output}\n--- {RULESET}\n{ruleset}\n--- {CLUSTER_SETS}\n{cluster_sets}"
        );
    }

    let ruleset = file_content(&nodes, &format!("node1:file:{RULESET}"));
    let broken = ruleset.replace("policy drop;", "policy dorp;");
    assert_ne!(broken, ruleset, "the edit changed nothing");
    let (accepted, output) = nft_in(
        &network.hosts[0],
        &[(RULESET, &broken), (CLUSTER_SETS, &cluster_sets)],
        &["--check", "-f", RULESET],
    );
    assert!(
        !accepted,
        "nft --check accepts a broken ruleset: the check proves nothing\n{output}"
    );
}

#[test]
fn a_cluster_host_reaches_every_port_and_any_other_address_only_ssh_and_the_open_ports() {
    let network = PrivateNetwork::create("fw", 3);
    // node2 is a host of the cluster; `outsider` is not in the spec.
    let (node1, node2, outsider) = (&network.hosts[0], &network.hosts[1], &network.hosts[2]);
    let sandbox = firewall_sandbox(
        &node1.address,
        &node2.address,
        "enabled = true\nopen_ports = [\"80/tcp\", \"master:2181/tcp\"]\n",
    );
    let nodes = sandbox.show_json();
    let ruleset = file_content(&nodes, &format!("node1:file:{RULESET}"));
    let cluster_sets = file_content(&nodes, &format!("node1:file:{CLUSTER_SETS}"));

    // SSH (the host's port, 22), an open port, a port open on masters only (node1 is not
    // one), and a port nobody opened.
    let _listeners = Listeners::start(node1, &[22, 80, 2181, 9000]);
    assert_eq!(
        connect(outsider, &node1.address, 9000),
        Connection::Established,
        "before the firewall, every address reaches the port: what follows is the firewall's doing"
    );

    let (loaded, output) = nft_in(
        node1,
        &[(RULESET, &ruleset), (CLUSTER_SETS, &cluster_sets)],
        &["-f", RULESET],
    );
    assert!(
        loaded,
        "nft -f {RULESET}:\n{output}\n--- {RULESET}\n{ruleset}"
    );

    let outcomes = [
        ("node2", node2, 9000, Connection::Established),
        ("node2", node2, 2181, Connection::Established),
        ("an outsider", outsider, 22, Connection::Established),
        ("an outsider", outsider, 80, Connection::Established),
        ("an outsider", outsider, 9000, Connection::Dropped),
        ("an outsider", outsider, 2181, Connection::Dropped),
    ];
    let failures: Vec<String> = outcomes
        .into_iter()
        .filter_map(|(who, from, port, expected)| {
            let found = connect(from, &node1.address, port);
            (found != expected)
                .then(|| format!("{who} → node1:{port}: {found:?}, expected {expected:?}"))
        })
        .collect();
    let (_, loaded_ruleset) = nft_in(node1, &[], &["list", "ruleset"]);
    assert!(
        failures.is_empty(),
        "{}\n--- loaded\n{loaded_ruleset}",
        failures.join("\n")
    );
}

#[test]
fn loading_the_ruleset_again_and_stopping_nftables_service_touch_no_table_but_cairns() {
    let network = PrivateNetwork::create("fwt", 1);
    let host = &network.hosts[0];
    let sandbox = firewall_sandbox("10.0.0.11", "10.0.0.12", "enabled = true\n");
    let nodes = sandbox.show_json();
    let files = [
        (
            RULESET,
            file_content(&nodes, &format!("node1:file:{RULESET}")),
        ),
        (
            CLUSTER_SETS,
            file_content(&nodes, &format!("node1:file:{CLUSTER_SETS}")),
        ),
    ];
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(path, content)| (*path, content.as_str()))
        .collect();
    let tables = || nft_in(host, &[], &["list", "tables"]).1;

    // Docker's NAT, as Docker keeps it: a table of its own.
    let docker_nat = "table ip nat {\n\tchain POSTROUTING {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t}\n}\n";
    let (made, output) = nft_in(
        host,
        &[("/etc/docker-nat.nft", docker_nat)],
        &["-f", "/etc/docker-nat.nft"],
    );
    assert!(made, "a stand-in for Docker's table: {output}");
    // Loaded twice: the second load replaces cairn's table, as a restart does.
    for _ in 0..2 {
        let (loaded, output) = nft_in(host, &files, &["-f", RULESET]);
        assert!(loaded, "nft -f {RULESET}: {output}");
    }
    assert_eq!(tables(), "table ip nat\ntable inet cairn\n");

    // nftables.service stops as the drop-in says (its last ExecStop=; `-`: a failure is
    // not the unit's).
    let drop_in = file_content(&nodes, &format!("node1:file:{DROP_IN}"));
    let stop = drop_in
        .lines()
        .filter_map(|line| line.strip_prefix("ExecStop="))
        .next_back()
        .expect("an ExecStop= line")
        .trim_start_matches('-');
    let (program, arguments) = stop.split_once(' ').expect("a command line");
    assert_eq!(program, "/usr/sbin/nft", "{drop_in}");
    let arguments: Vec<&str> = arguments.split(' ').collect();
    let (stopped, output) = nft_in(host, &[], &arguments);
    assert!(stopped, "{stop}: {output}");
    assert_eq!(tables(), "table ip nat\n", "only cairn's table is gone");
}

#[test]
fn with_the_firewall_off_by_default_no_host_gets_a_firewall_node() {
    let sandbox = firewall_sandbox("10.0.0.11", "10.0.0.12", "");
    let firewall_nodes: Vec<String> = sandbox
        .nodes()
        .into_keys()
        .filter(|name| name.contains("nftables") || name.contains("/etc/cairn/firewall"))
        .collect();
    assert!(firewall_nodes.is_empty(), "{firewall_nodes:?}");

    sandbox.edit("cluster.toml", |text| text + "enabled = true\n");
    sandbox.compile().success();
    let nodes = sandbox.nodes();
    for host in ["node1", "node2"] {
        let (_, service_deps) = &nodes[&format!("{host}:service:nftables.service")];
        for file in [RULESET, CLUSTER_SETS, DROP_IN] {
            assert!(
                service_deps.contains(&format!("{host}:file:{file}")),
                "{host}'s nftables.service restarts when {file} changes: {service_deps:?}"
            );
        }
        let (_, package_deps) = &nodes[&format!("{host}:package:nftables")];
        assert!(
            package_deps.contains(&format!("{host}:command:only-cluster-sources")),
            "{package_deps:?}"
        );
    }
}

#[test]
fn the_hosts_of_a_role_open_its_ports_and_ssh_is_allowed_on_each_hosts_own_port_before_any_drop() {
    let sandbox = Sandbox::new();
    sandbox
        .write(
            "cluster.toml",
            "[cluster]\nname = \"lbs\"\ndomain = \"lbs.example\"\nexclude_modules = [\"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\
             fingerprint_key = { file = \"fingerprint.key\" }\n\n\
             [hosts.control1]\naddress = \"10.0.0.1\"\nroles = [\"control\"]\n\n\
             [hosts.lb1]\naddress = \"10.0.0.11\"\nport = 2222\nid = 11\nroles = [\"loadbalancer\"]\n\n\
             [hosts.node1]\naddress = \"10.0.0.21\"\nroles = []\n\n\
             [repository]\nurl = \"http://10.0.0.1:8080/debian\"\n\n\
             [registry]\naddress = \"10.0.0.1:5000\"\n\n\
             [ntp]\nservers = [\"10.0.0.1\"]\n\n\
             [keepalived]\nvip = \"10.0.0.100/24\"\ninterface = \"eth0\"\n\
             auth_pass = { file = \"vrrp-pass\" }\n\n\
             [firewall]\nenabled = true\n\
             open_ports = [\"loadbalancer:80/tcp\", \"loadbalancer:443/tcp\", \"9100/tcp\"]\n",
        )
        .write("vrrp-pass", "vrrp-key\n")
        .write("fingerprint.key", "a-test-fingerprint-key\n");
    sandbox.compile().success();
    let nodes = sandbox.show_json();
    let rules = |host: &str| -> Vec<String> {
        let ruleset = file_content(&nodes, &format!("{host}:file:{RULESET}"));
        let chain = ruleset
            .split_once("chain input {")
            .unwrap_or_else(|| panic!("{ruleset}"))
            .1;
        chain
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#') && *line != "}")
            .map(str::to_string)
            .collect()
    };

    let load_balancer = rules("lb1");
    assert_eq!(
        load_balancer[..5],
        [
            "type filter hook input priority filter; policy drop;",
            "ct state established,related accept",
            "iif lo accept",
            "tcp dport 2222 ip saddr @ssh_ipv4 accept",
            "tcp dport 2222 ip6 saddr @ssh_ipv6 accept",
        ],
        "SSH, on the host's own port, comes right after replies and loopback"
    );
    assert_eq!(
        load_balancer[load_balancer.len() - 3..],
        [
            "tcp dport 80 accept",
            "tcp dport 443 accept",
            "tcp dport 9100 accept"
        ]
    );
    let other = rules("node1");
    assert!(other.contains(&"tcp dport 22 ip saddr @ssh_ipv4 accept".to_string()));
    assert_eq!(
        other.last().map(String::as_str),
        Some("tcp dport 9100 accept"),
        "{other:?}"
    );
    assert!(
        !other.iter().any(|rule| rule.contains("dport 80 ")),
        "{other:?}"
    );

    // The cluster's addresses are one text for every host.
    let cluster_sets = file_content(&nodes, &format!("lb1:file:{CLUSTER_SETS}"));
    assert_eq!(
        file_content(&nodes, &format!("node1:file:{CLUSTER_SETS}")),
        cluster_sets
    );
    assert_eq!(
        sandbox
            .read("cluster.lock")
            .matches("set cluster_ipv4 {")
            .count(),
        1
    );
    for address in ["10.0.0.1", "10.0.0.11", "10.0.0.21"] {
        assert!(
            cluster_sets.contains(&format!("\t\t{address}")),
            "{cluster_sets}"
        );
    }

    // The firewall's package comes from the control host's repository, as the others do
    // (waiting for it to answer, order only), save on the control host itself.
    let ordered_after = sandbox.ordered_after();
    assert!(
        ordered_after["lb1:package:nftables"]
            .contains(&"control1:health:repository-http".to_string())
    );
    assert!(
        !ordered_after["control1:package:nftables"]
            .iter()
            .any(|dependency| dependency.contains("repository-http"))
    );
}

#[test]
fn an_open_port_that_is_not_port_and_protocol_or_names_no_role_stops_the_compile() {
    let sandbox = firewall_sandbox("10.0.0.11", "10.0.0.12", "enabled = true\n");
    // Not a port and protocol: refused by the setting's type, at the entry in the spec.
    // A role no host has: refused where the firewall's template meets it, naming the spec's
    // line too.
    for (entry, says) in [
        ("80", "must be a port or range with its protocol"),
        ("80/icmp", "must be a port or range with its protocol"),
        ("http/tcp", "must be a port or range with its protocol"),
        ("balancer:80/tcp", "nftables.conf.j2"),
    ] {
        sandbox.write(
            "cluster.toml",
            &sandbox.read("cluster.toml").replace(
                "enabled = true\n",
                &format!("enabled = true\nopen_ports = [\"{entry}\"]\n"),
            ),
        );
        sandbox
            .compile()
            .code(2)
            .stderr_has(says)
            .stderr_has("cluster.toml:");
        sandbox.replace("cluster.toml", &format!("open_ports = [\"{entry}\"]\n"), "");
    }
    sandbox.replace(
        "cluster.toml",
        "address = \"10.0.0.12\"",
        "address = \"node2.firewalled.example\"",
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("every host's address must be an IP address, not a name");
}
