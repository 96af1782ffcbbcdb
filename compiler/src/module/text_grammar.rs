//! The grammars of the values a spec gives as text: addresses, networks, names, ports,
//! paths, durations. Each check answers `Err(why)` in the operator's terms; the caller
//! names the place. They are written out by hand (no regex) and accept nothing a config
//! format or a shell would read as a delimiter: a value that passes goes into haproxy.cfg,
//! nftables, an env file or a script as one token.

use std::net::IpAddr;

/// A character no value may hold: a newline would add a line to a config file, the others
/// are invisible or end a C string.
pub fn control_character(text: &str) -> Option<char> {
    text.chars().find(|character| character.is_control())
}

/// An IPv4 or IPv6 address, as `10.0.0.5` or `fd00::5`.
pub fn ip_address(text: &str) -> Result<IpAddr, String> {
    text.parse::<IpAddr>()
        .map_err(|_| format!("`{text}` is not an IP address"))
}

/// An address, or a network as `address/prefix` with the prefix within the family's bits.
pub fn cidr(text: &str) -> Result<(), String> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let address = ip_address(address)
        .map_err(|_| format!("`{text}` is not a network: `{address}` is not an IP address"))?;
    let Some(prefix) = prefix else { return Ok(()) };
    let bits = if address.is_ipv4() { 32 } else { 128 };
    match prefix.parse::<u8>() {
        Ok(length) if length <= bits && !prefix.starts_with('+') => Ok(()),
        _ => Err(format!(
            "`{text}` is not a network: the prefix length must be a number from 0 to {bits}"
        )),
    }
}

/// A DNS name as RFC 1123 allows: labels of letters, digits and `-` (not at either end), 63
/// characters at most, 253 in all; the last label not all digits (`300.0.0.0` is neither
/// a name nor an address).
pub fn dns_name(text: &str) -> Result<(), String> {
    let refuse = |why: &str| Err(format!("`{text}` is not a DNS name: {why}"));
    if text.is_empty() {
        return refuse("it is empty");
    }
    if text.len() > 253 {
        return refuse("it is longer than 253 characters");
    }
    for label in text.split('.') {
        if label.is_empty() || label.len() > 63 {
            return refuse("each label between dots has 1 to 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return refuse("a label cannot start or end with `-`");
        }
        if let Some(character) = label
            .chars()
            .find(|character| !character.is_ascii_alphanumeric() && *character != '-')
        {
            return refuse(&format!(
                "`{}` is not a letter, digit, `-` or `.`",
                character.escape_default()
            ));
        }
    }
    let last = text.rsplit('.').next().unwrap_or_default();
    if last.chars().all(|character| character.is_ascii_digit()) {
        return refuse("its last label is all digits, which only an IP address has");
    }
    Ok(())
}

/// An IP address or a DNS name.
pub fn host_address(text: &str) -> Result<(), String> {
    if ip_address(text).is_ok() {
        return Ok(());
    }
    dns_name(text).map_err(|_| {
        format!("`{text}` is neither an IP address nor a DNS name (letters, digits, `-` and `.`)")
    })
}

/// A port number from 1 to 65535, written in decimal.
pub fn port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(number) if number >= 1 && text.bytes().all(|byte| byte.is_ascii_digit()) => Ok(number),
        _ => Err(format!("`{text}` is not a port from 1 to 65535")),
    }
}

/// `host:port` (`[fd00::5]:53` for IPv6) → host and port; the port is optional when
/// `port_required` is false (`registry.example` and `fd00::5` are hosts alone).
pub fn host_and_port(text: &str, port_required: bool) -> Result<(), String> {
    let (host, port_text) = if let Some(rest) = text.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(format!("`{text}` opens `[` without closing it"));
        };
        ip_address(host).map_err(|_| format!("`{host}` in brackets is not an IPv6 address"))?;
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port_text) => (None, Some(port_text)),
                None => return Err(format!("`{text}`: write `:PORT` after the `]`")),
            },
        }
    } else if text.matches(':').count() > 1 {
        ip_address(text)?;
        (None, None)
    } else {
        match text.split_once(':') {
            Some((host, port_text)) => (Some(host), Some(port_text)),
            None => (Some(text), None),
        }
    };
    if let Some(host) = host {
        host_address(host)?;
    }
    match port_text {
        Some(port_text) => port(port_text).map(|_| ()),
        None if port_required => Err(format!("`{text}` has no `:PORT`")),
        None => Ok(()),
    }
}

/// `PORT/PROTOCOL` or `FROM-TO/PROTOCOL`, the protocol `tcp` or `udp`, optionally scoped as
/// `NAME:...` (a role, say).
pub fn port_protocol(text: &str) -> Result<(), String> {
    let opening = match text.split_once(':') {
        Some((scope, opening)) => {
            identifier(scope).map_err(|_| format!("`{text}`: `{scope}` is not a name"))?;
            opening
        }
        None => text,
    };
    let Some((ports, protocol)) = opening.split_once('/') else {
        return Err(format!(
            "`{text}` has no protocol: write `{opening}/tcp` or `{opening}/udp`"
        ));
    };
    if protocol != "tcp" && protocol != "udp" {
        return Err(format!(
            "`{text}`: the protocol is `tcp` or `udp`, not `{protocol}`"
        ));
    }
    match ports.split_once('-') {
        Some((from, to)) if port(from)? <= port(to)? => Ok(()),
        Some(_) => Err(format!(
            "`{text}`: a range goes from the lower port to the higher"
        )),
        None => port(ports).map(|_| ()),
    }
}

/// An absolute path of letters, digits and `/ . _ - + @`, without `..`: one token in every
/// config format and shell, naming what it says.
pub fn absolute_path(text: &str) -> Result<(), String> {
    if !text.starts_with('/') {
        return Err(format!(
            "`{text}` is not an absolute path: write it from `/`"
        ));
    }
    if text.split('/').any(|component| component == "..") {
        return Err(format!("`{text}` climbs out of its folder with `..`"));
    }
    match text
        .chars()
        .find(|character| !character.is_ascii_alphanumeric() && !"/._-+@".contains(*character))
    {
        Some(character) => Err(format!(
            "`{}` holds `{}`: a path may hold letters, digits and `/ . _ - + @`",
            text.escape_default(),
            character.escape_default()
        )),
        None => Ok(()),
    }
}

/// Letters, digits and `. _ + -`, starting with a letter or a digit: a role, a package, an
/// interface, a user, a datacenter.
pub fn identifier(text: &str) -> Result<(), String> {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) if first.is_ascii_alphanumeric() => {}
        _ => {
            return Err(format!(
                "`{}` does not start with a letter or a digit",
                text.escape_default()
            ));
        }
    }
    match characters
        .find(|character| !character.is_ascii_alphanumeric() && !"._+-".contains(*character))
    {
        Some(character) => Err(format!(
            "`{}` holds `{}`: a name may hold letters, digits and `. _ + -`",
            text.escape_default(),
            character.escape_default()
        )),
        None => Ok(()),
    }
}

/// Durations as Go and Mesos write them: numbers each with a unit, `10s`, `1m30s`, `5mins`.
pub fn duration(text: &str) -> Result<(), String> {
    const UNITS: [&str; 18] = [
        "ns", "us", "ms", "s", "sec", "secs", "m", "min", "mins", "h", "hr", "hrs", "d", "day",
        "days", "w", "week", "weeks",
    ];
    let refuse = || {
        Err(format!(
            "`{}` is not a duration: write a number and a unit, such as `10s`, `5mins` or `1h30m`",
            text.escape_default()
        ))
    };
    let mut rest = text;
    if rest.is_empty() {
        return refuse();
    }
    while !rest.is_empty() {
        let digits = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
                .len();
        let after_number = &rest[digits..];
        let unit_length = after_number.len()
            - after_number
                .trim_start_matches(|c: char| c.is_ascii_lowercase())
                .len();
        if digits == 0 || unit_length == 0 || !UNITS.contains(&&after_number[..unit_length]) {
            return refuse();
        }
        rest = &after_number[unit_length..];
    }
    Ok(())
}

/// A number with an optional unit of letters, as a program takes it: `512m`, `1g`, `256M`.
pub fn quantity(text: &str) -> Result<(), String> {
    let unit = text.trim_start_matches(|c: char| c.is_ascii_digit());
    if unit.len() == text.len() || unit.len() > 3 || !unit.chars().all(|c| c.is_ascii_alphabetic())
    {
        return Err(format!(
            "`{}` is not a quantity: write a number and an optional unit, such as `512m` or `1g`",
            text.escape_default()
        ));
    }
    Ok(())
}

/// Dotted numbers: `5.10`, `6.1.0`.
pub fn version(text: &str) -> Result<(), String> {
    let valid = text
        .split('.')
        .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a version: write dotted numbers, such as `5.10`",
            text.escape_default()
        ))
    }
}

/// An image reference as Docker takes it: `debian:bookworm-slim`,
/// `registry:5000/team/app:1.2@sha256:...`.
pub fn image_reference(text: &str) -> Result<(), String> {
    let valid_start = text.starts_with(|c: char| c.is_ascii_alphanumeric());
    let valid_characters = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    if valid_start && valid_characters && !text.contains("//") {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an image reference such as `debian:bookworm-slim`",
            text.escape_default()
        ))
    }
}

/// An address a server listens on: an IP address, or `*` for every one.
pub fn listen_address(text: &str) -> Result<(), String> {
    if text == "*" || ip_address(text).is_ok() {
        Ok(())
    } else {
        Err(format!(
            "`{}` is neither `*` nor an IP address",
            text.escape_default()
        ))
    }
}

/// PEM text: `-----BEGIN ...` blocks of printable ASCII and line ends.
pub fn pem(text: &str) -> Result<(), String> {
    let printable = text
        .chars()
        .all(|c| c == '\n' || c == '\r' || (' '..='~').contains(&c));
    if text.trim_start().starts_with("-----BEGIN ") && printable {
        Ok(())
    } else {
        Err(
            "the text is not PEM: it starts with `-----BEGIN ` and holds printable ASCII"
                .to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_addresses_with_a_prefix_their_family_allows() {
        assert!(cidr("10.10.0.0/24").is_ok());
        assert!(cidr("10.10.0.5").is_ok());
        assert!(cidr("::/0").is_ok());
        assert!(cidr("fd00::/128").is_ok());
        for refused in [
            "any",
            "300.0.0.0/8",
            "10.10.0.100/33",
            "0.0.0.0/0; flush ruleset",
            "10.0.0.0/",
            "fd00::/129",
            "10.0.0.0/+8",
        ] {
            assert!(cidr(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn host_addresses_are_ip_addresses_or_rfc_1123_names() {
        for accepted in [
            "10.0.0.5",
            "fd00::5",
            "control",
            "db-1.cluster.example",
            "3com.example",
        ] {
            assert!(host_address(accepted).is_ok(), "{accepted}");
        }
        for refused in [
            "",
            "$(touch${IFS}/tmp/x)",
            "a b",
            "300.0.0.0",
            "-lead",
            "trail-",
            "a..b",
            "name\nextra",
            "x_y",
        ] {
            assert!(host_address(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn host_and_port_takes_names_addresses_and_bracketed_ipv6() {
        assert!(host_and_port("10.10.0.5:5000", true).is_ok());
        assert!(host_and_port("[fd00::5]:53", true).is_ok());
        assert!(host_and_port("registry.example", false).is_ok());
        assert!(host_and_port("fd00::5", false).is_ok());
        for refused in [
            "a b:5000",
            "registry:0",
            "registry:65536",
            "registry:http",
            "[fd00::5",
            "registry",
        ] {
            assert!(host_and_port(refused, true).is_err(), "{refused}");
        }
    }

    #[test]
    fn ports_with_protocols_and_ranges() {
        for accepted in ["8080/tcp", "53/udp", "30000-32000/tcp", "agent:8080/tcp"] {
            assert!(port_protocol(accepted).is_ok(), "{accepted}");
        }
        for refused in [
            "8080",
            "8080/sctp",
            "0/tcp",
            "9-8/tcp",
            "a b:80/tcp",
            "80/tcp; flush ruleset",
        ] {
            assert!(port_protocol(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn paths_are_absolute_without_climbing_or_delimiters() {
        assert!(absolute_path("/var/lib/docker").is_ok());
        for refused in ["var/lib", "/var/../etc", "/a b", "/a:b", "/a\nb", "/$(x)"] {
            assert!(absolute_path(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn durations_quantities_and_versions() {
        for accepted in ["10s", "5mins", "1h30m", "500ms", "1.5s"] {
            assert!(duration(accepted).is_ok(), "{accepted}");
        }
        for refused in ["", "10", "s", "10 s", "10parsecs"] {
            assert!(duration(refused).is_err(), "{refused}");
        }
        assert!(quantity("512m").is_ok() && quantity("256M").is_ok() && quantity("4096").is_ok());
        assert!(quantity("1g}; touch x").is_err() && quantity("m").is_err());
        assert!(version("5.10").is_ok() && version("5..10").is_err() && version("5.10a").is_err());
    }
}
