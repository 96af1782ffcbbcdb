//! An IPv4 network, `address/prefix`: the lab's own, Docker's other networks, this
//! computer's routes.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// The narrowest network a lab derives for its hosts: a /24 leaves room for the gateway
/// and for the virtual addresses a cluster adds (keepalived's VIP) beside its hosts.
pub const NARROWEST_DERIVED_PREFIX: u8 = 24;

/// The widest network a lab derives: hosts that share fewer leading bits than this are
/// taken for a mistake (two networks' addresses in one spec), not for a /8 to create.
pub const WIDEST_DERIVED_PREFIX: u8 = 16;

/// An IPv4 network: its first address and its prefix length (0 to 32). The address is
/// always the network's own (host bits zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subnet {
    network: Ipv4Addr,
    prefix: u8,
}

impl Subnet {
    /// The network of `prefix` bits that holds `address`. `prefix` is at most 32.
    pub fn new(address: Ipv4Addr, prefix: u8) -> Self {
        let prefix = prefix.min(32);
        Self {
            network: Ipv4Addr::from(u32::from(address) & mask(prefix)),
            prefix,
        }
    }

    /// The narrowest network holding every address, but never narrower than a /24
    /// ([`NARROWEST_DERIVED_PREFIX`]). `None` for no address.
    pub fn covering(addresses: &[Ipv4Addr]) -> Option<Self> {
        let first = u32::from(*addresses.first()?);
        let differing = addresses
            .iter()
            .fold(0u32, |bits, address| bits | (u32::from(*address) ^ first));
        let common = differing.leading_zeros().min(32) as u8;
        Some(Self::new(
            Ipv4Addr::from(first),
            common.min(NARROWEST_DERIVED_PREFIX),
        ))
    }

    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The last address of the network (its broadcast address).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !mask(self.prefix))
    }

    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & mask(self.prefix) == u32::from(self.network)
    }

    /// Whether the two networks share any address (one holds the other).
    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.contains(other.network) || other.contains(self.network)
    }

    /// Whether `address` can be a machine's: inside, and neither the network's own
    /// address nor its broadcast address.
    pub fn is_usable(&self, address: Ipv4Addr) -> bool {
        self.contains(address)
            && (self.prefix >= 31 || (address != self.network && address != self.broadcast()))
    }

    /// The first usable address that is not in `taken`.
    pub fn first_free(&self, taken: &[Ipv4Addr]) -> Option<Ipv4Addr> {
        let first = u32::from(self.network);
        let last = u32::from(self.broadcast());
        (first..=last)
            .map(Ipv4Addr::from)
            .filter(|address| self.is_usable(*address))
            .find(|address| !taken.contains(address))
    }
}

/// The netmask of `prefix` bits.
fn mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        prefix => u32::MAX << (32 - u32::from(prefix.min(32))),
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Subnet {
    type Err = String;

    /// `a.b.c.d/p`; host bits must be zero, as Docker's `--subnet` wants them.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a network: write it as `10.88.0.0/24`"))?;
        let address: Ipv4Addr = address
            .parse()
            .map_err(|_| format!("`{address}` in `{text}` is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|prefix| *prefix <= 32)
            .ok_or_else(|| format!("`/{prefix}` in `{text}` is not a prefix length (0 to 32)"))?;
        let subnet = Self::new(address, prefix);
        if subnet.network != address {
            return Err(format!(
                "`{text}` has host bits set: the network is `{subnet}`"
            ));
        }
        Ok(subnet)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::Subnet;

    fn address(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    #[test]
    fn hosts_of_one_slash_24_get_that_slash_24() {
        let hosts = [address("10.10.0.5"), address("10.10.0.43")];
        assert_eq!(
            Subnet::covering(&hosts).unwrap().to_string(),
            "10.10.0.0/24"
        );
    }

    #[test]
    fn one_host_gets_a_slash_24_not_a_slash_32() {
        let hosts = [address("192.168.77.9")];
        assert_eq!(
            Subnet::covering(&hosts).unwrap().to_string(),
            "192.168.77.0/24"
        );
    }

    #[test]
    fn hosts_across_slash_24s_get_the_network_holding_them_all() {
        let hosts = [address("10.10.0.5"), address("10.10.3.7")];
        assert_eq!(
            Subnet::covering(&hosts).unwrap().to_string(),
            "10.10.0.0/22"
        );
        let apart = [address("10.10.0.5"), address("172.16.0.5")];
        assert_eq!(Subnet::covering(&apart).unwrap().prefix(), 0);
    }

    #[test]
    fn overlaps_are_found_both_ways() {
        let lab: Subnet = "10.10.0.0/24".parse().unwrap();
        let wide: Subnet = "10.0.0.0/8".parse().unwrap();
        let other: Subnet = "10.10.1.0/24".parse().unwrap();
        assert!(lab.overlaps(&wide) && wide.overlaps(&lab));
        assert!(!lab.overlaps(&other));
    }

    #[test]
    fn the_gateway_skips_the_network_address_and_taken_ones() {
        let lab: Subnet = "10.10.0.0/24".parse().unwrap();
        assert_eq!(lab.first_free(&[]), Some(address("10.10.0.1")));
        assert_eq!(
            lab.first_free(&[address("10.10.0.1"), address("10.10.0.2")]),
            Some(address("10.10.0.3"))
        );
        assert!(!lab.is_usable(address("10.10.0.255")));
        assert!(!lab.is_usable(address("10.10.0.0")));
        let tiny: Subnet = "10.10.0.0/30".parse().unwrap();
        assert_eq!(
            tiny.first_free(&[address("10.10.0.1"), address("10.10.0.2")]),
            None
        );
    }

    #[test]
    fn parsing_refuses_host_bits_and_bad_prefixes() {
        assert!("10.10.0.0/24".parse::<Subnet>().is_ok());
        assert!(
            "10.10.0.5/24"
                .parse::<Subnet>()
                .unwrap_err()
                .contains("10.10.0.0/24")
        );
        assert!("10.10.0.0/33".parse::<Subnet>().is_err());
        assert!("10.10.0.0".parse::<Subnet>().is_err());
    }
}
