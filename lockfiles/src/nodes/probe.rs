use crate::nodes::fields::{FieldError, FieldReader};
use crate::value::Value;

/// What a check or a health node tests on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// `/etc/os-release`'s `ID VERSION_ID` (for example `debian 12`) is one of `allowed`.
    OsRelease { allowed: Vec<String> },
    /// The running kernel's version is at least `minimum` (dotted numbers).
    KernelVersion { minimum: String },
    /// The filesystem holding `path` (or its nearest existing parent) is one of `allowed`.
    Filesystem { path: String, allowed: Vec<String> },
    /// The filesystem holding `path` has at least `minimum_bytes` free.
    DiskFree { path: String, minimum_bytes: u64 },
    /// Nothing listens on TCP `port`.
    PortFree { port: u16 },
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
    /// An HTTP GET of `url` returns `status`.
    Http { url: String, status: u16 },
    /// A shell command exits 0.
    Command { run: String },
}

impl Probe {
    pub const NAMES: [&'static str; 10] = [
        "os_release",
        "kernel_version",
        "filesystem",
        "disk_free",
        "port_free",
        "clock_sync",
        "tcp_connect",
        "tcp_exchange",
        "http",
        "command",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Probe::OsRelease { .. } => "os_release",
            Probe::KernelVersion { .. } => "kernel_version",
            Probe::Filesystem { .. } => "filesystem",
            Probe::DiskFree { .. } => "disk_free",
            Probe::PortFree { .. } => "port_free",
            Probe::ClockSync { .. } => "clock_sync",
            Probe::TcpConnect { .. } => "tcp_connect",
            Probe::TcpExchange { .. } => "tcp_exchange",
            Probe::Http { .. } => "http",
            Probe::Command { .. } => "command",
        }
    }

    pub(crate) fn inputs(&self, out: &mut Vec<(&'static str, Value)>) {
        out.push(("probe", self.name().into()));
        match self {
            Probe::OsRelease { allowed } => out.push(("allowed", Value::strings(allowed))),
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
            Probe::PortFree { port } => out.push(("port", Value::Integer(i64::from(*port)))),
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
                port: fields.integer("port")?,
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

fn non_empty(items: Vec<String>, field: &str) -> Result<Vec<String>, FieldError> {
    if items.is_empty() {
        return Err(FieldError::Invalid {
            field: field.to_string(),
            message: "must list at least one value".to_string(),
        });
    }
    Ok(items)
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
