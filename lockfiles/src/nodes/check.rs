use crate::nodes::fields::{FieldError, FieldReader};
use crate::nodes::probe::Probe;
use crate::value::Value;

/// A probe that must pass; run on every apply. A failure stops everything that depends on
/// it, and every failed check is reported at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckNode {
    pub name: String,
    pub probe: Probe,
}

impl CheckNode {
    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        let mut out = vec![("name", self.name.as_str().into())];
        self.probe.inputs(&mut out);
        out
    }

    pub(crate) fn from_fields(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            name: fields.string("name")?,
            probe: Probe::from_fields(fields)?,
        })
    }
}
