use crate::nodes::fields::{FieldError, FieldReader};
use crate::value::Value;

/// One host's join point, named by what it stands for (`checks`, `docker-ready`): it
/// depends on a set of the host's nodes, and what would wait for each of them depends on
/// it alone, so a host's edges grow as its nodes plus the set, not their product. It runs
/// nothing and is never recorded on the host; it passes in an apply once every node it
/// waits for has succeeded, and holds back its dependants otherwise. Its id, like any
/// node's, covers its dependencies' ids: a changed check changes every id behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarrierNode {
    pub name: String,
}

impl BarrierNode {
    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        vec![("name", self.name.as_str().into())]
    }

    pub(crate) fn from_fields(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            name: fields.string("name")?,
        })
    }
}
