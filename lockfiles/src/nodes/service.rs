use crate::nodes::fields::{FieldError, FieldReader};
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceState {
    Running,
    Stopped,
}

/// A systemd unit's state. Its id covers its dependencies', so a changed config file it
/// depends on restarts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNode {
    pub unit: String,
    pub state: ServiceState,
    pub enabled: bool,
}

impl ServiceNode {
    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        let state = match self.state {
            ServiceState::Running => "running",
            ServiceState::Stopped => "stopped",
        };
        vec![
            ("unit", self.unit.as_str().into()),
            ("state", state.into()),
            ("enabled", self.enabled.into()),
        ]
    }

    pub(crate) fn from_fields(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        let unit = fields.string("unit")?;
        let state = match fields.optional_string("state")?.as_deref() {
            None | Some("running") => ServiceState::Running,
            Some("stopped") => ServiceState::Stopped,
            Some(other) => {
                return Err(FieldError::Invalid {
                    field: "state".to_string(),
                    message: format!("`{other}` is not a state; expected `running` or `stopped`"),
                });
            }
        };
        let enabled = fields.bool_or("enabled", state == ServiceState::Running)?;
        Ok(Self {
            unit,
            state,
            enabled,
        })
    }
}
