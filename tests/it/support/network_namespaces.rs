//! A private network of test hosts on this machine: one network namespace per host, each
//! with its own address on a bridge of the test's own, so that programs that expect a
//! host each (a ZooKeeper ensemble, a MariaDB master and slave) listen on the same ports
//! side by side and reach each other by address, as on separate machines.

use std::process::Command;

/// The namespaces, the bridge that joins them, and their addresses; removed when dropped.
pub struct PrivateNetwork {
    bridge: String,
    pub hosts: Vec<NetworkHost>,
}

/// One namespace of a [`PrivateNetwork`].
pub struct NetworkHost {
    /// The namespace's name, for `ip netns exec`.
    pub namespace: String,
    /// Its address on the bridge.
    pub address: String,
    host_side: String,
    inner_side: String,
}

impl NetworkHost {
    /// Renames the host's interface inside its namespace (to `eth0`, say): what a setting
    /// naming one interface for every host needs, as on real hosts.
    pub fn rename_interface(&mut self, name: &str) {
        for arguments in [
            vec!["link", "set", "dev", self.inner_side.as_str(), "down"],
            vec!["link", "set", "dev", self.inner_side.as_str(), "name", name],
            vec!["link", "set", "dev", name, "up"],
        ] {
            ip_inside(&self.namespace, &arguments);
        }
        self.inner_side = name.to_string();
    }

    /// The host's link goes down: from now on its packets are dropped without a word, as
    /// when a host's network vanishes (no reset, no answer).
    pub fn cut(&self) {
        link_down_quietly(&self.namespace, &self.inner_side);
    }

    /// A command run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.namespace, program]);
        command
    }
}

/// `ip ARGUMENTS`, which must succeed.
pub fn ip(arguments: &[&str]) {
    let output = Command::new("ip")
        .args(arguments)
        .output()
        .expect("ip runs (Debian's iproute2)");
    assert!(
        output.status.success(),
        "ip {arguments:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `ip ARGUMENTS` inside `namespace`, which must succeed.
pub fn ip_inside(namespace: &str, arguments: &[&str]) {
    let mut full = vec!["netns", "exec", namespace, "ip"];
    full.extend_from_slice(arguments);
    ip(&full);
}

/// `ip ARGUMENTS` whose failure does not matter: a cleanup of what may be gone already.
pub fn ip_quietly(arguments: &[&str]) {
    let _ = Command::new("ip").args(arguments).output();
}

/// Sets `interface` of `namespace` down, if both are still there.
fn link_down_quietly(namespace: &str, interface: &str) {
    ip_quietly(&[
        "netns", "exec", namespace, "ip", "link", "set", interface, "down",
    ]);
}

/// A veth pair: `host_side` stays in this namespace, `inner_side` goes to `namespace`.
pub fn add_veth_pair(host_side: &str, inner_side: &str, namespace: &str) {
    ip(&[
        "link", "add", host_side, "type", "veth", "peer", "name", inner_side,
    ]);
    ip(&["link", "set", inner_side, "netns", namespace]);
}

impl PrivateNetwork {
    /// `count` hosts. `tag` (a short word) keeps the names of concurrent tests apart.
    pub fn create(tag: &str, count: usize) -> Self {
        assert!(tag.len() <= 4 && count < 100);
        // Interface names are at most 15 characters: tag, process id and index fit.
        let id = std::process::id() % 100_000;
        let bridge = format!("cb{tag}{id}");
        // A /24 of the test's own: 10.253.X.0, X from the tag and the process id.
        let subnet = (tag.bytes().map(u32::from).sum::<u32>() + id) % 250 + 1;
        let mut network = Self {
            bridge: bridge.clone(),
            hosts: Vec::new(),
        };
        ip(&["link", "add", &bridge, "type", "bridge"]);
        // Docker makes the kernel pass bridged packets through iptables and drops what
        // its FORWARD chain does not accept: accept what stays on this bridge.
        iptables("-I", &bridge);
        ip(&[
            "addr",
            "add",
            &format!("10.253.{subnet}.1/24"),
            "dev",
            &bridge,
        ]);
        ip(&["link", "set", &bridge, "up"]);
        for index in 0..count {
            let namespace = format!("cairn-{tag}-{id}-{index}");
            let host_side = format!("ch{tag}{id}{index}");
            let inner_side = format!("cn{tag}{id}{index}");
            let address = format!("10.253.{subnet}.{}", index + 2);
            ip(&["netns", "add", &namespace]);
            network.hosts.push(NetworkHost {
                namespace: namespace.clone(),
                address: address.clone(),
                host_side: host_side.clone(),
                inner_side: inner_side.clone(),
            });
            add_veth_pair(&host_side, &inner_side, &namespace);
            ip(&["link", "set", &host_side, "master", &bridge]);
            ip(&["link", "set", &host_side, "up"]);
            let inside = |arguments: &[&str]| ip_inside(&namespace, arguments);
            inside(&["addr", "add", &format!("{address}/24"), "dev", &inner_side]);
            inside(&["link", "set", &inner_side, "up"]);
            inside(&["link", "set", "lo", "up"]);
        }
        network
    }
}

impl Drop for PrivateNetwork {
    fn drop(&mut self) {
        for host in &self.hosts {
            ip_quietly(&["link", "del", &host.host_side]);
            ip_quietly(&["netns", "del", &host.namespace]);
        }
        ip_quietly(&["link", "del", &self.bridge]);
        iptables("-D", &self.bridge);
    }
}

/// Inserts (`-I`) or deletes (`-D`) the rule accepting traffic within `bridge`; quietly
/// nothing where iptables is absent (no Docker, no filtering of bridged packets either).
fn iptables(action: &str, bridge: &str) {
    let _ = Command::new("iptables")
        .args([
            action, "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT",
        ])
        .output();
}

/// A namespace joined to another one by a link of its own, and to nothing else: reachable
/// from that namespace (a bastion), from nowhere else, this process included. Removed,
/// with its link, when dropped.
pub struct HiddenHost {
    pub namespace: String,
    /// Its address on the link.
    pub address: String,
    inner_side: String,
}

impl HiddenHost {
    /// A host behind `gateway_namespace`. `tag` (a short word) and `index` keep the names
    /// and addresses of concurrent tests and of several hidden hosts apart.
    pub fn behind(gateway_namespace: &str, tag: &str, index: usize) -> Self {
        assert!(tag.len() <= 4 && index < 60);
        let id = std::process::id() % 100_000;
        let subnet = (tag.bytes().map(u32::from).sum::<u32>() + id) % 250 + 1;
        let namespace = format!("cairn-{tag}-{id}-hidden{index}");
        let gateway_side = format!("cx{tag}{id}{index}");
        let inner_side = format!("cy{tag}{id}{index}");
        let gateway = format!("10.252.{subnet}.{}", 4 * index + 1);
        let address = format!("10.252.{subnet}.{}", 4 * index + 2);
        ip(&["netns", "add", &namespace]);
        add_veth_pair(&gateway_side, &inner_side, &namespace);
        ip(&["link", "set", &gateway_side, "netns", gateway_namespace]);
        let inside = ip_inside;
        inside(
            gateway_namespace,
            &[
                "addr",
                "add",
                &format!("{gateway}/30"),
                "dev",
                &gateway_side,
            ],
        );
        inside(gateway_namespace, &["link", "set", &gateway_side, "up"]);
        inside(
            &namespace,
            &["addr", "add", &format!("{address}/30"), "dev", &inner_side],
        );
        inside(&namespace, &["link", "set", &inner_side, "up"]);
        inside(&namespace, &["link", "set", "lo", "up"]);
        Self {
            namespace,
            address,
            inner_side,
        }
    }

    /// The host's link goes down: its packets are dropped without a word.
    pub fn cut(&self) {
        link_down_quietly(&self.namespace, &self.inner_side);
    }
}

impl Drop for HiddenHost {
    fn drop(&mut self) {
        // The link's two ends go with the namespace.
        ip_quietly(&["netns", "del", &self.namespace]);
    }
}
