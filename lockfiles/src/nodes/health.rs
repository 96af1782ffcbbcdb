use crate::nodes::fields::{FieldError, FieldReader};
use crate::nodes::probe::Probe;
use crate::value::Value;

/// A post-condition checked after what it guards ran: retried every `interval_seconds`,
/// up to `retries` times, each attempt bounded by `timeout_seconds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthNode {
    pub name: String,
    pub probe: Probe,
    pub retries: u32,
    pub interval_seconds: u32,
    pub timeout_seconds: u32,
}

impl HealthNode {
    pub const DEFAULT_RETRIES: u32 = 30;
    pub const DEFAULT_INTERVAL_SECONDS: u32 = 2;
    pub const DEFAULT_TIMEOUT_SECONDS: u32 = 5;

    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        // Room for its own fields and the most a probe adds.
        let mut out = Vec::with_capacity(8);
        out.push(("name", self.name.as_str().into()));
        self.probe.inputs(&mut out);
        out.push(("retries", Value::Integer(i64::from(self.retries))));
        out.push((
            "interval_seconds",
            Value::Integer(i64::from(self.interval_seconds)),
        ));
        out.push((
            "timeout_seconds",
            Value::Integer(i64::from(self.timeout_seconds)),
        ));
        out
    }

    pub(crate) fn from_fields(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            name: fields.string("name")?,
            probe: Probe::from_fields(fields)?,
            retries: fields
                .optional_integer("retries")?
                .unwrap_or(Self::DEFAULT_RETRIES),
            interval_seconds: fields
                .optional_integer("interval_seconds")?
                .unwrap_or(Self::DEFAULT_INTERVAL_SECONDS),
            timeout_seconds: fields
                .optional_integer("timeout_seconds")?
                .unwrap_or(Self::DEFAULT_TIMEOUT_SECONDS),
        })
    }
}
