//! The types of settings given as text, each precise enough for where its value lands. A
//! module names one for a value (`type = "cidr"`) or, in the plural, for an array of them
//! (`type = "cidrs"`). Every one refuses control characters (a newline would add a line to
//! a config file) but `text` and `pem`, which hold several lines; all but those and
//! `string`, `url` and `uri` accept only characters no config format or shell reads as a
//! delimiter.

use crate::module::text_grammar as grammar;

/// What a text value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextType {
    /// Any one line of text.
    String,
    /// Several lines of text, for a value a template writes as a whole file's content.
    Text,
    /// An absolute path without `..`.
    Path,
    /// An `http://` or `https://` URL.
    Url,
    /// An `http://` or `https://` URL, or `file:` and an absolute path (apt's sources).
    Uri,
    /// A sha256 checksum: 64 lowercase hex digits, as `sha256sum` prints them.
    Sha256,
    /// An IPv4 or IPv6 address.
    Ip,
    /// An address or `address/prefix`.
    Cidr,
    /// An IP address or a DNS name.
    HostAddress,
    /// `host:port`.
    HostPort,
    /// A host address with an optional `:port`.
    Endpoint,
    /// `PORT/PROTOCOL`, `FROM-TO/PROTOCOL`, optionally `NAME:` before.
    PortProtocol,
    /// Numbers with units: `10s`, `5mins`.
    Duration,
    /// Letters, digits and `. _ + -`.
    Identifier,
    /// A number with an optional unit: `512m`.
    Quantity,
    /// Dotted numbers.
    Version,
    /// A Docker image reference.
    Image,
    /// `*` or an IP address.
    ListenAddress,
    /// A network interface's name, or a prefix and `*` (nftables' `iifname "br-*"`).
    Interface,
    /// PEM text, several lines.
    Pem,
}

impl TextType {
    /// Each type with its name for one value and for an array of them.
    pub const ALL: [(TextType, &'static str, &'static str); 20] = [
        (TextType::String, "string", "strings"),
        (TextType::Text, "text", "texts"),
        (TextType::Path, "path", "paths"),
        (TextType::Url, "url", "urls"),
        (TextType::Uri, "uri", "uris"),
        (TextType::Sha256, "sha256", "sha256s"),
        (TextType::Ip, "ip", "ips"),
        (TextType::Cidr, "cidr", "cidrs"),
        (TextType::HostAddress, "host_address", "host_addresses"),
        (TextType::HostPort, "host_port", "host_ports"),
        (TextType::Endpoint, "endpoint", "endpoints"),
        (TextType::PortProtocol, "port_protocol", "port_protocols"),
        (TextType::Duration, "duration", "durations"),
        (TextType::Identifier, "identifier", "identifiers"),
        (TextType::Quantity, "quantity", "quantities"),
        (TextType::Version, "version", "versions"),
        (TextType::Image, "image", "images"),
        (
            TextType::ListenAddress,
            "listen_address",
            "listen_addresses",
        ),
        (TextType::Interface, "interface", "interfaces"),
        (TextType::Pem, "pem", "pems"),
    ];

    /// How the README and errors describe one value of the type.
    pub fn describe(self) -> &'static str {
        match self {
            TextType::String => "a string of one line",
            TextType::Text => "text of one or more lines",
            TextType::Path => "an absolute path (letters, digits and / . _ - + @, no `..`)",
            TextType::Url => "an http:// or https:// URL",
            TextType::Uri => "an http:// or https:// URL, or file: and an absolute path",
            TextType::Sha256 => "a sha256 checksum (64 lowercase hex digits)",
            TextType::Ip => "an IP address",
            TextType::Cidr => "an IP address or network, such as \"10.0.0.0/24\"",
            TextType::HostAddress => "a host address (an IP address or a DNS name)",
            TextType::HostPort => "a host address and port, such as \"10.0.0.5:53\"",
            TextType::Endpoint => "a host address with an optional :port",
            TextType::PortProtocol => {
                "a port or range with its protocol, such as \"8080/tcp\" or \"agent:30000-32000/udp\""
            }
            TextType::Duration => "a duration such as \"10s\" or \"5mins\"",
            TextType::Identifier => "a name of letters, digits and . _ + -",
            TextType::Quantity => "a number with an optional unit, such as \"512m\"",
            TextType::Version => "a version of dotted numbers, such as \"5.10\"",
            TextType::Image => "an image reference such as \"debian:bookworm-slim\"",
            TextType::ListenAddress => "`*` or an IP address",
            TextType::Interface => {
                "a network interface's name, or its prefix and `*`, such as \"br-*\""
            }
            TextType::Pem => "PEM text",
        }
    }

    /// Checks one value; `Err` says why in the operator's terms.
    pub fn check(self, text: &str) -> Result<(), String> {
        let lines = matches!(self, TextType::Pem | TextType::Text);
        if let Some(character) = grammar::control_character(text)
            && !(lines && (character == '\n' || character == '\r' || character == '\t'))
        {
            return Err(format!(
                "`{}` holds the control character `{}`: a value is one line",
                text.escape_default(),
                character.escape_default()
            ));
        }
        match self {
            TextType::String | TextType::Text => Ok(()),
            TextType::Path => grammar::absolute_path(text),
            TextType::Url => url(text),
            TextType::Uri => match text.strip_prefix("file:") {
                Some(path) => grammar::absolute_path(path),
                None => url(text),
            },
            TextType::Sha256 => sha256(text),
            TextType::Ip => grammar::ip_address(text).map(|_| ()),
            TextType::Cidr => grammar::cidr(text),
            TextType::HostAddress => grammar::host_address(text),
            TextType::HostPort => grammar::host_and_port(text, true),
            TextType::Endpoint => grammar::host_and_port(text, false),
            TextType::PortProtocol => grammar::port_protocol(text),
            TextType::Duration => grammar::duration(text),
            TextType::Identifier => grammar::identifier(text),
            TextType::Quantity => grammar::quantity(text),
            TextType::Version => grammar::version(text),
            TextType::Image => grammar::image_reference(text),
            TextType::ListenAddress => grammar::listen_address(text),
            TextType::Interface => grammar::identifier(text.strip_suffix('*').unwrap_or(text)),
            TextType::Pem => grammar::pem(text),
        }
    }

    /// A hint for a value the type refuses.
    pub fn hint(self) -> &'static str {
        match self {
            TextType::String => "write the value on one line, without control characters",
            TextType::Text => {
                "write the text without control characters other than line ends and tabs"
            }
            TextType::Path => "write the full path, starting with `/`",
            TextType::Url => {
                "write the whole address, such as \"http://10.0.0.5:8080/artifacts/file.tar.gz\""
            }
            TextType::Uri => {
                "write an address such as \"http://10.0.0.5:8080/debian\", or \"file:/srv/repository\""
            }
            TextType::Sha256 => "write the checksum as `sha256sum FILE` prints it",
            TextType::Ip => "write an address such as \"10.0.0.5\" or \"fd00::5\"",
            TextType::Cidr => "write a network such as \"10.0.0.0/24\" or \"::/0\", or one address",
            TextType::HostAddress => {
                "write an address such as \"10.0.0.5\" or a name such as \"db1.cluster.example\""
            }
            TextType::HostPort => {
                "write a host and a port, such as \"10.0.0.5:5000\" or \"[fd00::5]:53\""
            }
            TextType::Endpoint => {
                "write a host, and a port if not the default, such as \"10.0.0.5:5000\""
            }
            TextType::PortProtocol => "write \"8080/tcp\", \"53/udp\" or \"30000-32000/tcp\"",
            TextType::Duration => "write a number and a unit, such as \"10s\" or \"5mins\"",
            TextType::Identifier => {
                "use letters, digits and `. _ + -`, starting with a letter or a digit"
            }
            TextType::Quantity => "write a number and an optional unit, such as \"512m\" or \"1g\"",
            TextType::Version => "write dotted numbers, such as \"5.10\"",
            TextType::Image => "write an image reference such as \"debian:bookworm-slim\"",
            TextType::ListenAddress => "write \"*\" for every address, or one IP address",
            TextType::Interface => {
                "write an interface's name, such as \"eth0\", or a prefix and `*`, such as \"br-*\""
            }
            TextType::Pem => "paste the PEM file as a TOML multi-line string",
        }
    }

    /// True where the type's values cannot hold a character a POSIX shell treats specially
    /// outside quotes, globs included: such a value may reach a script without the
    /// `sh_quote` filter. Not `*` (`listen_address`), nor `[fd00::5]:53` (`host_port`,
    /// `endpoint`), nor free text.
    pub fn is_shell_safe(self) -> bool {
        !matches!(
            self,
            TextType::String
                | TextType::Text
                | TextType::Url
                | TextType::Uri
                | TextType::Pem
                | TextType::ListenAddress
                | TextType::Interface
                | TextType::HostPort
                | TextType::Endpoint
        )
    }
}

fn url(text: &str) -> Result<(), String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .ok_or_else(|| format!("`{text}` is not an http:// or https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    grammar::host_and_port(authority, false)
        .map_err(|why| format!("`{text}` does not name a host: {why}"))?;
    match text
        .chars()
        .find(|c| c.is_whitespace() || "\"'`\\<>{}|^".contains(*c))
    {
        Some(character) => Err(format!("`{text}` holds `{character}`, which a URL escapes")),
        None => Ok(()),
    }
}

fn sha256(text: &str) -> Result<(), String> {
    let valid = text.len() == 64
        && text
            .bytes()
            .all(|digit| digit.is_ascii_digit() || (b'a'..=b'f').contains(&digit));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{text}` is not a sha256 checksum of 64 lowercase hex digits"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::TextType;

    #[test]
    fn only_text_and_pem_hold_lines_and_none_holds_other_control_characters() {
        assert!(TextType::Text.check("deb http://10.0.0.5 ./\n").is_ok());
        assert!(TextType::String.check("deb http://10.0.0.5 ./\n").is_err());
        assert!(TextType::Identifier.check("eth0\n").is_err());
        for every in TextType::ALL {
            assert!(every.0.check("a\u{0}b").is_err(), "{}", every.1);
        }
    }

    #[test]
    fn every_type_is_named_once_for_a_value_and_once_for_an_array() {
        let mut names: Vec<&str> = TextType::ALL
            .iter()
            .flat_map(|(_, one, many)| [*one, *many])
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
