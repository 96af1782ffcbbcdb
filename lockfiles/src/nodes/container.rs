use std::collections::BTreeMap;

use crate::nodes::fields::{FieldError, FieldReader};
use crate::value::Value;

/// An environment variable's value: plain, or a secret resolved at apply time and passed to
/// `docker` through a file descriptor, never through its argument list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Plain(String),
    Secret(String),
}

/// A `docker run` spec. The image is the cluster's image node of that name; its id is
/// among this node's dependencies, so a new image replaces the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerNode {
    pub name: String,
    pub image: String,
    pub env: BTreeMap<String, EnvValue>,
    pub ports: Vec<String>,
    pub volumes: Vec<String>,
    pub network: Option<String>,
    pub dns: Vec<String>,
    pub restart: String,
    /// Linux capabilities added to the container (`--cap-add`), such as `NET_ADMIN`.
    pub cap_add: Vec<String>,
    /// Every capability and device (`--privileged`): a Mesos agent, which makes cgroups
    /// and mounts for the tasks it runs.
    pub privileged: bool,
    /// The PID namespace (`--pid`), `host` for an agent whose tasks outlive its container.
    pub pid: Option<String>,
    pub args: Vec<String>,
}

impl ContainerNode {
    pub const DEFAULT_RESTART: &'static str = "unless-stopped";

    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        let mut out = vec![
            ("name", self.name.as_str().into()),
            ("image", self.image.as_str().into()),
        ];
        if !self.env.is_empty() {
            let env = self
                .env
                .iter()
                .map(|(key, value)| {
                    let value = match value {
                        EnvValue::Plain(text) => Value::String(text.clone()),
                        EnvValue::Secret(name) => Value::Secret(name.clone()),
                    };
                    (key.clone(), value)
                })
                .collect();
            out.push(("env", Value::Table(env)));
        }
        if !self.ports.is_empty() {
            out.push(("ports", Value::strings(&self.ports)));
        }
        if !self.volumes.is_empty() {
            out.push(("volumes", Value::strings(&self.volumes)));
        }
        if let Some(network) = &self.network {
            out.push(("network", network.as_str().into()));
        }
        if !self.dns.is_empty() {
            out.push(("dns", Value::strings(&self.dns)));
        }
        if self.restart != Self::DEFAULT_RESTART {
            out.push(("restart", self.restart.as_str().into()));
        }
        if !self.cap_add.is_empty() {
            out.push(("cap_add", Value::strings(&self.cap_add)));
        }
        if self.privileged {
            out.push(("privileged", Value::Bool(true)));
        }
        if let Some(pid) = &self.pid {
            out.push(("pid", pid.as_str().into()));
        }
        if !self.args.is_empty() {
            out.push(("args", Value::strings(&self.args)));
        }
        out
    }

    pub(crate) fn from_fields(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        let name = fields.string("name")?;
        let image = fields.string("image")?;
        let env = match fields.raw("env") {
            None => BTreeMap::new(),
            Some(Value::Table(entries)) => entries
                .into_iter()
                .map(|(key, value)| env_value(&key, value).map(|value| (key, value)))
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(FieldError::WrongType {
                    field: "env".to_string(),
                    expected: "a table",
                    found: other.type_name(),
                });
            }
        };
        let restart = fields
            .optional_string("restart")?
            .unwrap_or_else(|| Self::DEFAULT_RESTART.to_string());
        const RESTART_POLICIES: [&str; 4] = ["no", "always", "unless-stopped", "on-failure"];
        if !RESTART_POLICIES.contains(&restart.as_str()) {
            return Err(FieldError::Invalid {
                field: "restart".to_string(),
                message: format!(
                    "`{restart}` is not a restart policy; expected one of {}",
                    RESTART_POLICIES.join(", ")
                ),
            });
        }
        let pid = fields.optional_string("pid")?;
        if let Some(mode) = &pid
            && mode != "host"
            && !mode.starts_with("container:")
        {
            return Err(FieldError::Invalid {
                field: "pid".to_string(),
                message: format!(
                    "`{mode}` is not a PID namespace; write `host` or `container:NAME`"
                ),
            });
        }
        Ok(Self {
            name,
            image,
            env,
            ports: fields.strings("ports")?,
            volumes: host_volumes(fields.strings("volumes")?)?,
            network: fields.optional_string("network")?,
            dns: fields.strings("dns")?,
            restart,
            cap_add: fields.strings("cap_add")?,
            privileged: fields.bool_or("privileged", false)?,
            pid,
            args: fields.strings("args")?,
        })
    }
}

fn env_value(key: &str, value: Value) -> Result<EnvValue, FieldError> {
    match value {
        Value::String(text) => Ok(EnvValue::Plain(text)),
        Value::Integer(number) => Ok(EnvValue::Plain(number.to_string())),
        Value::Bool(flag) => Ok(EnvValue::Plain(flag.to_string())),
        Value::Secret(name) => Ok(EnvValue::Secret(name)),
        Value::Table(entries) if entries.len() == 1 => match entries.into_iter().next() {
            Some((tag, Value::String(name))) if tag == "secret" => Ok(EnvValue::Secret(name)),
            _ => Err(env_error(key)),
        },
        _ => Err(env_error(key)),
    }
}

fn env_error(key: &str) -> FieldError {
    FieldError::Invalid {
        field: "env".to_string(),
        message: format!("`{key}` must be a string or a secret reference {{ secret = \"name\" }}"),
    }
}

/// Volumes whose host folder (`SOURCE:DEST[:OPTIONS]`, an absolute source) stays under the
/// host's root, as a path a node writes: the container writes there.
fn host_volumes(volumes: Vec<String>) -> Result<Vec<String>, FieldError> {
    for volume in &volumes {
        if let Some((source, _)) = volume.split_once(':')
            && source.starts_with('/')
        {
            crate::nodes::written_path::written_path(source.to_string(), "volumes")?;
        }
    }
    Ok(volumes)
}
