//! The Debian mirror this computer's apt uses: the one it can reach (a proxy or a local
//! mirror where the network allows no other), so the machine image comes from there.

/// Where apt's sources are, deb822 first.
const APT_SOURCES: [&str; 2] = [
    "/etc/apt/sources.list.d/debian.sources",
    "/etc/apt/sources.list",
];

/// Debian's own, where this computer's apt names no mirror.
const DEBIAN: &str = "http://deb.debian.org/debian";

/// The first Debian mirror of apt's sources (not its security archive), else Debian's.
pub fn debian_mirror() -> String {
    let mut sources = String::new();
    for path in APT_SOURCES {
        sources.push_str(&std::fs::read_to_string(path).unwrap_or_default());
        sources.push('\n');
    }
    mirror_of(&sources).unwrap_or_else(|| DEBIAN.to_string())
}

/// The first `http` URI of `URIs:` (deb822) or `deb` (one-line) lines, security ones aside.
fn mirror_of(sources: &str) -> Option<String> {
    sources.lines().find_map(|line| {
        let line = line.trim();
        let url = line
            .strip_prefix("URIs:")
            .or_else(|| line.strip_prefix("deb "))?
            .split_whitespace()
            .find(|word| word.starts_with("http"))?;
        (!url.contains("security")).then(|| url.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::mirror_of;

    #[test]
    fn the_mirror_is_the_first_that_is_not_the_security_archive() {
        let deb822 = "Types: deb\nURIs: http://deb.debian.org/debian-security\n\nTypes: deb\nURIs: http://mirror.example/debian\n";
        assert_eq!(
            mirror_of(deb822).as_deref(),
            Some("http://mirror.example/debian")
        );
        let one_line = "deb [arch=amd64] http://proxy.example:3142/debian bookworm main\n";
        assert_eq!(
            mirror_of(one_line).as_deref(),
            Some("http://proxy.example:3142/debian")
        );
        assert_eq!(mirror_of("# nothing\n"), None);
    }
}
