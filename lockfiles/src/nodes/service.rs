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
        check_unit_name(&unit)?;
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

/// The unit types a service node may manage.
const UNIT_SUFFIXES: [&str; 6] = [
    ".service", ".socket", ".timer", ".target", ".path", ".mount",
];

/// A unit name as systemd accepts it: `name.type`, with systemd's name characters only, so
/// it is one `systemctl` argument and cannot be read as an option.
fn check_unit_name(unit: &str) -> Result<(), FieldError> {
    let invalid = |message: String| FieldError::Invalid {
        field: "unit".to_string(),
        message,
    };
    let Some(suffix) = UNIT_SUFFIXES.iter().find(|suffix| unit.ends_with(*suffix)) else {
        return Err(invalid(format!(
            "`{unit}` names no unit type; write the full unit name, such as `{unit}.service`"
        )));
    };
    let stem = &unit[..unit.len() - suffix.len()];
    if stem.is_empty()
        || stem.starts_with('-')
        || !unit
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b":_.@-\\".contains(&byte))
    {
        return Err(invalid(format!(
            "`{unit}` is not a unit name: systemd's are letters, digits and `:_.@-\\`"
        )));
    }
    Ok(())
}
