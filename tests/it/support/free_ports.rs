//! Ports for the tests' servers: below the kernel's ephemeral range, and never handed out
//! twice in one run.
//!
//! A port the kernel picks (a bind to port 0) comes from its ephemeral range, the range it
//! also takes the local port of every outgoing connection from. Released for a server to
//! take a few seconds later, such a port can meanwhile become the local end of an `ssh` or
//! `curl` of another test, or another test's pick: the server then cannot bind it (a web
//! container restarting until its health check gives up, seen in CI). Below the ephemeral
//! range no outgoing connection takes a port, and one cursor shared by every test of the
//! run hands each port out once.

use std::net::TcpListener;
use std::sync::Mutex;

/// The lowest port handed out: above the ports well-known services listen on.
const LOWEST: u16 = 20_000;

/// The next port to try. It starts at an offset of the process id, so that two runs at
/// once (two clones' CI on one machine) start far apart.
static NEXT: Mutex<Option<u16>> = Mutex::new(None);

/// A port free on `address`, for a server to take.
pub fn free_port(address: &str) -> u16 {
    free_ports(address, 1)
}

/// The first of `count` consecutive ports free on `address`: the web module serves a
/// cluster's hosts on one port each, from its `port` on.
pub fn free_ports(address: &str, count: usize) -> u16 {
    let highest = below_ephemeral_range();
    let span = highest - LOWEST;
    let count = u16::try_from(count).expect("a few ports");
    let mut next = NEXT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let cursor = next.get_or_insert_with(|| LOWEST + (std::process::id() % u32::from(span)) as u16);
    for _ in 0..span {
        if *cursor + count > highest {
            *cursor = LOWEST;
        }
        let first = *cursor;
        *cursor += count;
        let held: Vec<TcpListener> = (first..first + count)
            .map_while(|port| TcpListener::bind((address, port)).ok())
            .collect();
        if held.len() == usize::from(count) {
            return first;
        }
    }
    panic!("no {count} consecutive free ports on {address} between {LOWEST} and {highest}");
}

/// The first port of the kernel's ephemeral range (`ip_local_port_range`): the ports
/// handed out stay below it.
fn below_ephemeral_range() -> u16 {
    const RANGE: &str = "/proc/sys/net/ipv4/ip_local_port_range";
    let text = std::fs::read_to_string(RANGE).unwrap_or_else(|error| panic!("{RANGE}: {error}"));
    let first: u16 = text
        .split_whitespace()
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("{RANGE} holds no port range: {text:?}"));
    assert!(
        first >= LOWEST + 1_000,
        "the ephemeral range starts at {first} ({RANGE}): the tests' servers need the ports \
         from {LOWEST} to at least {} free of it; set it with `sysctl -w \
         net.ipv4.ip_local_port_range=\"32768 60999\"`",
        LOWEST + 1_000
    );
    first
}
