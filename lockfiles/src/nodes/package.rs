use crate::nodes::fields::{FieldError, FieldReader};
use crate::value::Value;

/// OS packages installed, together, from the cluster's own repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageNode {
    pub name: String,
    /// Sorted, without duplicates.
    pub packages: Vec<String>,
}

impl PackageNode {
    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("name", self.name.as_str().into()),
            ("packages", Value::strings(&self.packages)),
        ]
    }

    pub(crate) fn from_fields(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        let name = fields.string("name")?;
        let mut packages = fields.strings("packages")?;
        if packages.is_empty() {
            return Err(FieldError::Invalid {
                field: "packages".to_string(),
                message: "must list at least one package".to_string(),
            });
        }
        packages.sort();
        packages.dedup();
        Ok(Self { name, packages })
    }
}
