//! This computer's IPv4 routes (the kernel's main table, `/proc/net/route`): a lab's
//! network must not take addresses this computer already reaches some other way.

use std::net::Ipv4Addr;
use std::path::Path;

use crate::lab_error::LabError;
use crate::subnet::Subnet;

/// Where the kernel lists the main routing table.
const ROUTE_TABLE: &str = "/proc/net/route";

/// A route of this computer: the network it leads to and its interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputerRoute {
    pub interface: String,
    pub destination: Subnet,
}

impl ComputerRoute {
    /// Every route but the default ones (a default route leads everywhere, so it would
    /// overlap every network).
    pub fn read_all() -> Result<Vec<Self>, LabError> {
        let path = Path::new(ROUTE_TABLE);
        let text = std::fs::read_to_string(path).map_err(|error| LabError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Ok(Self::parse_table(&text))
    }

    /// The routes of the kernel's table: a header line, then `Iface Destination Gateway
    /// Flags RefCnt Use Metric Mask ...`, addresses as hexadecimal numbers in the
    /// computer's byte order.
    fn parse_table(text: &str) -> Vec<Self> {
        text.lines()
            .skip(1)
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let destination = kernel_address(fields.get(1)?)?;
                let mask = u32::from(kernel_address(fields.get(7)?)?);
                let prefix = mask.count_ones() as u8;
                (prefix > 0).then(|| Self {
                    interface: fields[0].to_string(),
                    destination: Subnet::new(destination, prefix),
                })
            })
            .collect()
    }
}

/// An address as `/proc/net/route` prints it: the bytes in network order, read as a
/// number of this computer's byte order, in hexadecimal.
fn kernel_address(hexadecimal: &str) -> Option<Ipv4Addr> {
    let number = u32::from_str_radix(hexadecimal, 16).ok()?;
    Some(Ipv4Addr::from(number.to_ne_bytes()))
}

#[cfg(test)]
mod tests {
    use super::ComputerRoute;

    #[test]
    fn routes_are_read_from_the_kernel_table_without_the_default_one() {
        if cfg!(target_endian = "big") {
            return;
        }
        let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                     eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                     docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
                     eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let routes = ComputerRoute::parse_table(table);
        let listed: Vec<String> = routes
            .iter()
            .map(|route| format!("{} {}", route.interface, route.destination))
            .collect();
        assert_eq!(listed, ["docker0 172.17.0.0/16", "eth0 192.0.2.0/24"]);
    }
}
