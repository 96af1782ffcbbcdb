//! Addresses and networks as templates test them: `vip is ip_network` (an address with its
//! prefix length, `10.0.0.100/24`), `address is in_networks(ntp.allow)` (inside one of the
//! networks, each `10.0.0.0/24`, a bare address, or `all`).

use std::net::IpAddr;

/// `10.0.0.100/24`: an IP address and a prefix length no longer than the address.
pub fn is_ip_network(text: &str) -> bool {
    parse_network(text).is_some_and(|(_, prefix)| prefix.is_some())
}

/// Whether `address` (an IP address) lies inside one of `networks`. A name is inside none.
pub fn is_in_networks(address: &str, networks: &[String]) -> bool {
    let Ok(address) = address.parse::<IpAddr>() else {
        return false;
    };
    networks.iter().any(|network| {
        network == "all"
            || parse_network(network).is_some_and(|(base, prefix)| {
                within(address, base, prefix.unwrap_or(bit_length(base)))
            })
    })
}

/// An address with an optional `/prefix`, the prefix no longer than the address.
fn parse_network(text: &str) -> Option<(IpAddr, Option<u32>)> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix.parse::<u32>().ok()?)),
        None => (text, None),
    };
    let address: IpAddr = address.parse().ok()?;
    match prefix {
        Some(length) if length > bit_length(address) => None,
        _ => Some((address, prefix)),
    }
}

fn bit_length(address: IpAddr) -> u32 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// The first `prefix` bits of `address` and `base` agree (same family only).
fn within(address: IpAddr, base: IpAddr, prefix: u32) -> bool {
    let (address, base, width) = match (address, base) {
        (IpAddr::V4(address), IpAddr::V4(base)) => (
            u128::from(address.to_bits()),
            u128::from(base.to_bits()),
            32,
        ),
        (IpAddr::V6(address), IpAddr::V6(base)) => (address.to_bits(), base.to_bits(), 128),
        _ => return false,
    };
    let shift = width - prefix;
    shift >= width || (address >> shift) == (base >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn networks(list: &[&str]) -> Vec<String> {
        list.iter().map(|network| network.to_string()).collect()
    }

    #[test]
    fn a_vip_needs_its_prefix_length() {
        assert!(is_ip_network("10.0.0.100/24"));
        assert!(is_ip_network("fd00::10/64"));
        assert!(!is_ip_network("10.0.0.100"));
        assert!(!is_ip_network("10.0.0.100/33"));
        assert!(!is_ip_network("lb.example/24"));
    }

    #[test]
    fn an_address_is_inside_a_network_by_its_leading_bits() {
        let allowed = networks(&["10.10.0.0/24", "192.168.1.7"]);
        assert!(is_in_networks("10.10.0.41", &allowed));
        assert!(is_in_networks("192.168.1.7", &allowed));
        assert!(!is_in_networks("10.10.1.41", &allowed));
        assert!(!is_in_networks("192.168.1.8", &allowed));
        assert!(!is_in_networks("db1.example", &allowed));
        assert!(is_in_networks("172.16.0.1", &networks(&["0.0.0.0/0"])));
        assert!(is_in_networks("fd00::1", &networks(&["all"])));
        assert!(!is_in_networks("fd00::1", &networks(&["10.0.0.0/8"])));
    }
}
