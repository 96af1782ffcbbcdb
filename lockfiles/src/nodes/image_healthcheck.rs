use std::collections::BTreeMap;

use crate::nodes::fields::{FieldError, FieldReader};
use crate::value::Value;

/// The health check an image declares for Docker to run in its containers (the image
/// config's `Healthcheck`, the Dockerfile's `HEALTHCHECK`): `command` run directly, not
/// through a shell, every `interval_seconds`; the container is unhealthy after `retries`
/// failures in a row, each given `timeout_seconds`, once `start_period_seconds` are over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageHealthcheck {
    pub command: Vec<String>,
    pub interval_seconds: u32,
    pub timeout_seconds: u32,
    pub retries: u32,
    pub start_period_seconds: u32,
}

impl ImageHealthcheck {
    pub(crate) fn input(&self) -> Value {
        let seconds = |value: u32| Value::Integer(i64::from(value));
        Value::Table(BTreeMap::from([
            ("command".to_string(), Value::strings(&self.command)),
            (
                "interval_seconds".to_string(),
                seconds(self.interval_seconds),
            ),
            ("timeout_seconds".to_string(), seconds(self.timeout_seconds)),
            ("retries".to_string(), seconds(self.retries)),
            (
                "start_period_seconds".to_string(),
                seconds(self.start_period_seconds),
            ),
        ]))
    }

    pub(crate) fn from_fields(item: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        let command = item.strings("command")?;
        if command.is_empty() {
            return Err(FieldError::Invalid {
                field: "command".to_string(),
                message: "a health check runs a command: name the program and its arguments"
                    .to_string(),
            });
        }
        let positive = |field: &'static str, value: u32| {
            if value == 0 {
                Err(FieldError::Invalid {
                    field: field.to_string(),
                    message: "must be at least 1".to_string(),
                })
            } else {
                Ok(value)
            }
        };
        let interval_seconds = item
            .optional_integer::<u32>("interval_seconds")?
            .unwrap_or(30);
        let timeout_seconds = item
            .optional_integer::<u32>("timeout_seconds")?
            .unwrap_or(5);
        let retries = item.optional_integer::<u32>("retries")?.unwrap_or(3);
        Ok(Self {
            command,
            interval_seconds: positive("interval_seconds", interval_seconds)?,
            timeout_seconds: positive("timeout_seconds", timeout_seconds)?,
            retries: positive("retries", retries)?,
            start_period_seconds: item
                .optional_integer::<u32>("start_period_seconds")?
                .unwrap_or(0),
        })
    }

    /// The Dockerfile's instruction.
    pub(crate) fn dockerfile_line(&self) -> String {
        let command: Vec<String> = self
            .command
            .iter()
            .map(|part| serde_json::Value::String(part.clone()).to_string())
            .collect();
        format!(
            "HEALTHCHECK --interval={}s --timeout={}s --start-period={}s --retries={} CMD [{}]\n",
            self.interval_seconds,
            self.timeout_seconds,
            self.start_period_seconds,
            self.retries,
            command.join(", ")
        )
    }
}
