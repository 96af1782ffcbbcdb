//! Addresses that drop every packet sent to them, without a word (no reset, no ICMP
//! error): hosts that are switched off, or behind a firewall that drops. This machine
//! routes a block of addresses into a network namespace of the test's own, which routes
//! them into a blackhole. Removed when dropped.

use super::network_namespaces::{add_veth_pair, ip, ip_inside, ip_quietly};

pub struct SilentNetwork {
    namespace: String,
    host_side: String,
    block: String,
    /// The first address of the block, as octets.
    first: [u8; 4],
}

impl SilentNetwork {
    /// A block of 1,022 silent addresses; `tag` (a short word) keeps concurrent users
    /// apart.
    pub fn create(tag: &str) -> Self {
        assert!(tag.len() <= 4);
        let id = std::process::id() % 100_000;
        let slot = (tag.bytes().map(u32::from).sum::<u32>() + id) % 64;
        let namespace = format!("cairn-{tag}-{id}-silent");
        let host_side = format!("cs{tag}{id}");
        let inner_side = format!("ct{tag}{id}");
        let third = u8::try_from(4 * slot).expect("a /22 of 10.251.0.0/16");
        let block = format!("10.251.{third}.0/22");
        ip(&["netns", "add", &namespace]);
        add_veth_pair(&host_side, &inner_side, &namespace);
        let link = |end: u32| format!("10.250.{slot}.{end}");
        ip(&["addr", "add", &format!("{}/30", link(1)), "dev", &host_side]);
        ip(&["link", "set", &host_side, "up"]);
        let inside = |arguments: &[&str]| ip_inside(&namespace, arguments);
        inside(&[
            "addr",
            "add",
            &format!("{}/30", link(2)),
            "dev",
            &inner_side,
        ]);
        inside(&["link", "set", &inner_side, "up"]);
        inside(&["route", "add", "blackhole", &block]);
        ip(&["route", "add", &block, "via", &link(2)]);
        Self {
            namespace,
            host_side,
            block,
            first: [10, 251, third, 1],
        }
    }

    /// The `index`th silent address (0 to 1,021).
    pub fn address(&self, index: usize) -> String {
        assert!(index < 1022);
        let [a, b, c, d] = self.first;
        let offset = usize::from(d) + index;
        format!("{a}.{b}.{}.{}", usize::from(c) + offset / 256, offset % 256)
    }
}

impl Drop for SilentNetwork {
    fn drop(&mut self) {
        ip_quietly(&["route", "del", &self.block]);
        ip_quietly(&["link", "del", &self.host_side]);
        ip_quietly(&["netns", "del", &self.namespace]);
    }
}
