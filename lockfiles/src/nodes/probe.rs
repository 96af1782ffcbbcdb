use crate::nodes::fields::{FieldError, FieldReader};
use crate::value::Value;

/// What a check or a health node tests on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// `/etc/os-release`'s `ID VERSION_ID` (for example `debian 12`) is one of `allowed`.
    OsRelease { allowed: Vec<String> },
    /// The host runs the Debian release (`/etc/os-release`'s `VERSION_CODENAME`) and
    /// architecture (`dpkg --print-architecture`) its packages are pinned for.
    Platform {
        release: String,
        architecture: String,
    },
    /// The running kernel's version is at least `minimum` (dotted numbers).
    KernelVersion { minimum: String },
    /// The filesystem holding `path` (or its nearest existing parent) is one of `allowed`.
    Filesystem { path: String, allowed: Vec<String> },
    /// The filesystem holding `path` has at least `minimum_bytes` free.
    DiskFree { path: String, minimum_bytes: u64 },
    /// Nothing listens on TCP `port` (with `udp`, nothing is bound to UDP `port`), or, with
    /// `held_by`, whatever does belongs to that container or service: the check passes on a
    /// re-apply, when the service cairn runs holds its own port.
    PortFree {
        port: u16,
        /// UDP's port, held by any bound socket (UDP has no listening state); TCP's when
        /// false, held by a listening socket. The field `protocol`, `tcp` by default.
        udp: bool,
        /// `container:NAME` (a container node's name: Docker's is the host's container
        /// prefix and NAME) or `service:UNIT` (a full systemd unit name,
        /// `chrony.service`), checked on reading.
        held_by: Option<String>,
    },
    /// As a check: the host's clock is within `max_offset_ms` of the control machine's. As a
    /// health probe: the host's NTP client says the clock is synchronised.
    ClockSync { max_offset_ms: u64 },
    /// A TCP connection to `address` (`host:port`) succeeds.
    TcpConnect { address: String },
    /// Sending `send` to `address` returns a reply starting with `expect` (ZooKeeper's
    /// `ruok` → `imok`).
    TcpExchange {
        address: String,
        send: String,
        expect: String,
    },
    /// An NTP server answers a client's query over UDP, as a synchronised server
    /// (stratum 1 to 15, no alarm).
    Ntp { server: String, port: u16 },
    /// An HTTP GET of `url` returns `status`.
    Http { url: String, status: u16 },
    /// A shell command exits 0.
    Command { run: String },
}

impl Probe {
    pub const NAMES: [&'static str; 12] = [
        "os_release",
        "platform",
        "kernel_version",
        "filesystem",
        "disk_free",
        "port_free",
        "clock_sync",
        "tcp_connect",
        "tcp_exchange",
        "ntp",
        "http",
        "command",
    ];

    /// The port an `ntp` probe asks on unless told otherwise.
    pub const NTP_PORT: u16 = 123;

    pub fn name(&self) -> &'static str {
        match self {
            Probe::OsRelease { .. } => "os_release",
            Probe::Platform { .. } => "platform",
            Probe::KernelVersion { .. } => "kernel_version",
            Probe::Filesystem { .. } => "filesystem",
            Probe::DiskFree { .. } => "disk_free",
            Probe::PortFree { .. } => "port_free",
            Probe::ClockSync { .. } => "clock_sync",
            Probe::TcpConnect { .. } => "tcp_connect",
            Probe::TcpExchange { .. } => "tcp_exchange",
            Probe::Ntp { .. } => "ntp",
            Probe::Http { .. } => "http",
            Probe::Command { .. } => "command",
        }
    }

    pub(crate) fn inputs(&self, out: &mut Vec<(&'static str, Value)>) {
        out.push(("probe", self.name().into()));
        match self {
            Probe::OsRelease { allowed } => out.push(("allowed", Value::strings(allowed))),
            Probe::Platform {
                release,
                architecture,
            } => {
                out.push(("release", release.as_str().into()));
                out.push(("architecture", architecture.as_str().into()));
            }
            Probe::KernelVersion { minimum } => out.push(("minimum", minimum.as_str().into())),
            Probe::Filesystem { path, allowed } => {
                out.push(("path", path.as_str().into()));
                out.push(("allowed", Value::strings(allowed)));
            }
            Probe::DiskFree {
                path,
                minimum_bytes,
            } => {
                out.push(("path", path.as_str().into()));
                out.push(("minimum_bytes", Value::Integer(*minimum_bytes as i64)));
            }
            // `protocol` and `held_by` only where given: the ids of probes without them
            // stay what they were before the fields existed.
            Probe::PortFree { port, udp, held_by } => {
                out.push(("port", Value::Integer(i64::from(*port))));
                if *udp {
                    out.push(("protocol", "udp".into()));
                }
                if let Some(holder) = held_by {
                    out.push(("held_by", holder.as_str().into()));
                }
            }
            Probe::ClockSync { max_offset_ms } => {
                out.push(("max_offset_ms", Value::Integer(*max_offset_ms as i64)));
            }
            Probe::TcpConnect { address } => out.push(("address", address.as_str().into())),
            Probe::TcpExchange {
                address,
                send,
                expect,
            } => {
                out.push(("address", address.as_str().into()));
                out.push(("send", send.as_str().into()));
                out.push(("expect", expect.as_str().into()));
            }
            Probe::Ntp { server, port } => {
                out.push(("server", server.as_str().into()));
                if *port != Self::NTP_PORT {
                    out.push(("port", Value::Integer(i64::from(*port))));
                }
            }
            Probe::Http { url, status } => {
                out.push(("url", url.as_str().into()));
                out.push(("status", Value::Integer(i64::from(*status))));
            }
            Probe::Command { run } => out.push(("run", run.as_str().into())),
        }
    }

    pub(crate) fn from_fields(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        let name = fields.string("probe")?;
        Ok(match name.as_str() {
            "os_release" => Probe::OsRelease {
                allowed: non_empty(fields.strings("allowed")?, "allowed")?,
            },
            "platform" => Probe::Platform {
                release: debian_word(fields.string("release")?, "release")?,
                architecture: debian_word(fields.string("architecture")?, "architecture")?,
            },
            "kernel_version" => Probe::KernelVersion {
                minimum: dotted_version(fields.string("minimum")?, "minimum")?,
            },
            "filesystem" => Probe::Filesystem {
                path: absolute_path(fields.string("path")?, "path")?,
                allowed: non_empty(fields.strings("allowed")?, "allowed")?,
            },
            "disk_free" => Probe::DiskFree {
                path: absolute_path(fields.string("path")?, "path")?,
                minimum_bytes: fields.integer("minimum_bytes")?,
            },
            "port_free" => Probe::PortFree {
                port: port_number(fields.integer("port")?, "port")?,
                udp: protocol_is_udp(fields.optional_string("protocol")?)?,
                held_by: fields
                    .optional_string("held_by")?
                    .map(port_holder)
                    .transpose()?,
            },
            "clock_sync" => Probe::ClockSync {
                max_offset_ms: fields.integer("max_offset_ms")?,
            },
            "tcp_connect" => Probe::TcpConnect {
                address: fields.string("address")?,
            },
            "tcp_exchange" => Probe::TcpExchange {
                address: fields.string("address")?,
                send: fields.string("send")?,
                expect: fields.string("expect")?,
            },
            "ntp" => Probe::Ntp {
                server: server_name(fields.string("server")?, "server")?,
                port: port_number(
                    fields.optional_integer("port")?.unwrap_or(Self::NTP_PORT),
                    "port",
                )?,
            },
            "http" => Probe::Http {
                url: fields.string("url")?,
                status: fields.optional_integer("status")?.unwrap_or(200),
            },
            "command" => Probe::Command {
                run: fields.string("run")?,
            },
            other => {
                return Err(FieldError::Invalid {
                    field: "probe".to_string(),
                    message: format!(
                        "unknown probe `{other}`; expected one of {}",
                        Self::NAMES.join(", ")
                    ),
                });
            }
        })
    }
}

/// A release codename or an architecture: lowercase letters, digits and `-`.
fn debian_word(text: String, field: &str) -> Result<String, FieldError> {
    let valid = !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if valid {
        Ok(text)
    } else {
        Err(FieldError::Invalid {
            field: field.to_string(),
            message: format!("`{text}` is not a Debian name (lowercase letters, digits and `-`)"),
        })
    }
}

fn non_empty(items: Vec<String>, field: &str) -> Result<Vec<String>, FieldError> {
    if items.is_empty() {
        return Err(FieldError::Invalid {
            field: field.to_string(),
            message: "must list at least one value".to_string(),
        });
    }
    Ok(items)
}

fn port_number(port: u16, field: &str) -> Result<u16, FieldError> {
    if port == 0 {
        return Err(FieldError::Invalid {
            field: field.to_string(),
            message: "0 is no port; write a port number from 1 to 65535".to_string(),
        });
    }
    Ok(port)
}

/// `protocol`: `tcp` (the default) or `udp`; true for `udp`.
fn protocol_is_udp(protocol: Option<String>) -> Result<bool, FieldError> {
    match protocol.as_deref() {
        None | Some("tcp") => Ok(false),
        Some("udp") => Ok(true),
        Some(other) => Err(FieldError::Invalid {
            field: "protocol".to_string(),
            message: format!("`{other}` is not a protocol; write \"tcp\" or \"udp\""),
        }),
    }
}

/// `held_by`: `container:NAME`, NAME as Docker allows a container's name, or
/// `service:UNIT`, UNIT a full systemd unit name of a kind that runs processes.
fn port_holder(holder: String) -> Result<String, FieldError> {
    let invalid = |message: String| FieldError::Invalid {
        field: "held_by".to_string(),
        message,
    };
    match holder.split_once(':') {
        Some(("container", name)) => {
            let valid = name.starts_with(|first: char| first.is_ascii_alphanumeric())
                && name.chars().all(|character| {
                    character.is_ascii_alphanumeric() || matches!(character, '_' | '.' | '-')
                });
            if !valid {
                return Err(invalid(format!(
                    "`{name}` is not a container's name: letters, digits, `_`, `.` and `-`, starting with a letter or digit"
                )));
            }
        }
        Some(("service", unit)) => {
            let valid = !unit.starts_with(['.', '-'])
                && unit.chars().all(|character| {
                    character.is_ascii_alphanumeric()
                        || matches!(character, '_' | '.' | '-' | '@' | ':' | '\\')
                });
            if !valid {
                return Err(invalid(format!("`{unit}` is not a systemd unit's name")));
            }
            if !(unit.ends_with(".service") || unit.ends_with(".scope")) {
                return Err(invalid(format!(
                    "`{unit}` is not a full name of a unit that runs processes; write it with its type, like \"chrony.service\""
                )));
            }
        }
        _ => {
            return Err(invalid(format!(
                "`{holder}` names no holder; write \"container:NAME\" (a container node of the host) or \"service:UNIT\" (a systemd unit, like \"service:chrony.service\")"
            )));
        }
    }
    Ok(holder)
}

/// A host name or an IP address, as a probe's script may put it in a path
/// (`/dev/udp/HOST/PORT`).
fn server_name(text: String, field: &str) -> Result<String, FieldError> {
    let valid = !text.is_empty()
        && text.chars().all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '.' | '-' | '_' | ':')
        });
    if !valid {
        return Err(FieldError::Invalid {
            field: field.to_string(),
            message: format!("`{text}` is not a host name or an IP address"),
        });
    }
    Ok(text)
}

fn dotted_version(text: String, field: &str) -> Result<String, FieldError> {
    let valid = !text.is_empty()
        && text
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|digit| digit.is_ascii_digit()));
    if !valid {
        return Err(FieldError::Invalid {
            field: field.to_string(),
            message: format!("`{text}` is not a version; write dotted numbers, like \"5.10\""),
        });
    }
    Ok(text)
}

pub(crate) fn absolute_path(text: String, field: &str) -> Result<String, FieldError> {
    if text
        .chars()
        .any(|character| character.is_control() || character == '\\')
    {
        return Err(FieldError::Invalid {
            field: field.to_string(),
            message: format!(
                "{text:?} holds a control character or a backslash, which no cairn path may"
            ),
        });
    }
    if !text.starts_with('/') {
        return Err(FieldError::Invalid {
            field: field.to_string(),
            message: format!("`{text}` is not an absolute path"),
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::nodes::fields::TextSource;

    fn read(fields: &[(&str, Value)]) -> Result<Probe, FieldError> {
        let fields: BTreeMap<String, Value> = fields
            .iter()
            .map(|(key, value)| (key.to_string(), value.clone()))
            .collect();
        let mut reader = FieldReader::new(fields, TextSource::Inline);
        let probe = Probe::from_fields(&mut reader)?;
        reader.finish()?;
        Ok(probe)
    }

    fn inputs(probe: &Probe) -> Vec<(&'static str, Value)> {
        let mut out = Vec::new();
        probe.inputs(&mut out);
        out
    }

    #[test]
    fn a_port_free_probe_without_the_new_fields_has_the_inputs_it_always_had() {
        let plain = read(&[
            ("probe", "port_free".into()),
            ("port", Value::Integer(2181)),
        ]);
        let explicit_tcp = read(&[
            ("probe", "port_free".into()),
            ("port", Value::Integer(2181)),
            ("protocol", "tcp".into()),
        ]);
        for probe in [plain.unwrap(), explicit_tcp.unwrap()] {
            assert_eq!(
                inputs(&probe),
                [
                    ("probe", "port_free".into()),
                    ("port", Value::Integer(2181))
                ]
            );
        }
        let held = read(&[
            ("probe", "port_free".into()),
            ("port", Value::Integer(123)),
            ("protocol", "udp".into()),
            ("held_by", "service:chrony.service".into()),
        ])
        .unwrap();
        assert_eq!(
            held,
            Probe::PortFree {
                port: 123,
                udp: true,
                held_by: Some("service:chrony.service".into())
            }
        );
        assert_eq!(
            inputs(&held),
            [
                ("probe", "port_free".into()),
                ("port", Value::Integer(123)),
                ("protocol", "udp".into()),
                ("held_by", "service:chrony.service".into()),
            ]
        );
    }

    #[test]
    fn port_free_fields_are_checked_on_reading() {
        let refused = |extra: (&str, Value)| {
            read(&[
                ("probe", "port_free".into()),
                ("port", Value::Integer(8000)),
                extra,
            ])
            .unwrap_err()
            .to_string()
        };
        for (holder, message) in [
            (
                "console",
                "`console` names no holder; write \"container:NAME\"",
            ),
            ("container:", "`` is not a container's name"),
            ("container:-web", "`-web` is not a container's name"),
            ("container:a b", "`a b` is not a container's name"),
            (
                "service:chrony",
                "`chrony` is not a full name of a unit that runs processes; write it with its type, like \"chrony.service\"",
            ),
            (
                "service:a/b.service",
                "`a/b.service` is not a systemd unit's name",
            ),
            ("process:1", "`process:1` names no holder"),
        ] {
            let error = refused(("held_by", holder.into()));
            assert!(
                error.starts_with("field `held_by`: ") && error.contains(message),
                "{error}"
            );
        }
        assert_eq!(
            refused(("protocol", "sctp".into())),
            "field `protocol`: `sctp` is not a protocol; write \"tcp\" or \"udp\""
        );
        let error = read(&[("probe", "port_free".into()), ("port", Value::Integer(0))])
            .unwrap_err()
            .to_string();
        assert!(error.contains("0 is no port"), "{error}");
        let error = read(&[
            ("probe", "port_free".into()),
            ("port", Value::Integer(70000)),
        ])
        .unwrap_err()
        .to_string();
        assert!(error.contains("out of range"), "{error}");
        for holder in [
            "container:cairn_web-1.a",
            "service:getty@tty1.service",
            "service:session-2.scope",
        ] {
            assert!(
                read(&[
                    ("probe", "port_free".into()),
                    ("port", Value::Integer(80)),
                    ("held_by", holder.into()),
                ])
                .is_ok(),
                "{holder}"
            );
        }
    }

    #[test]
    fn an_ntp_probe_names_a_server_and_its_port_only_when_not_123() {
        let probe = read(&[("probe", "ntp".into()), ("server", "ntp1.example".into())]).unwrap();
        assert_eq!(
            inputs(&probe),
            [("probe", "ntp".into()), ("server", "ntp1.example".into())]
        );
        let probe = read(&[
            ("probe", "ntp".into()),
            ("server", "fd00::1".into()),
            ("port", Value::Integer(1123)),
        ])
        .unwrap();
        assert_eq!(
            probe,
            Probe::Ntp {
                server: "fd00::1".into(),
                port: 1123
            }
        );
        for server in ["", "a b", "host/../x", "$(reboot)"] {
            let error = read(&[("probe", "ntp".into()), ("server", server.into())])
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("is not a host name or an IP address"),
                "{error}"
            );
        }
    }
}
