use crate::nodes::fields::{FieldError, FieldReader};
use crate::value::Value;

/// The escape hatch: a shell command, run when its id is new to the host, and then only if
/// its guards allow (`unless` exits non-zero; `creates` does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandNode {
    pub name: String,
    pub run: String,
    pub unless: Option<String>,
    pub creates: Option<String>,
}

impl CommandNode {
    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        let mut out = vec![
            ("name", self.name.as_str().into()),
            ("run", self.run.as_str().into()),
        ];
        if let Some(unless) = &self.unless {
            out.push(("unless", unless.as_str().into()));
        }
        if let Some(creates) = &self.creates {
            out.push(("creates", creates.as_str().into()));
        }
        out
    }

    pub(crate) fn from_fields(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            name: fields.string("name")?,
            run: fields.string("run")?,
            unless: fields.optional_string("unless")?,
            creates: fields.optional_string("creates")?,
        })
    }
}
