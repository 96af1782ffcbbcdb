use std::collections::BTreeSet;

use crate::nodes::fields::{FieldError, FieldReader};
use crate::nodes::package_requirement::PackageRequirement;
use crate::value::Value;

/// OS packages installed, together, from the cluster's own repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageNode {
    pub name: String,
    /// Sorted, without duplicates, each a valid [`PackageRequirement`] and no package
    /// named twice.
    pub packages: Vec<String>,
}

impl PackageNode {
    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("name", self.name.as_str().into()),
            ("packages", Value::strings(&self.packages)),
        ]
    }

    /// The packages, parsed (they were checked when the node was made).
    pub fn requirements(&self) -> Vec<PackageRequirement> {
        self.packages
            .iter()
            .filter_map(|text| PackageRequirement::parse(text).ok())
            .collect()
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
        let mut names = BTreeSet::new();
        for text in &packages {
            let requirement =
                PackageRequirement::parse(text).map_err(|message| FieldError::Invalid {
                    field: "packages".to_string(),
                    message,
                })?;
            if !names.insert(requirement.name.clone()) {
                return Err(FieldError::Invalid {
                    field: "packages".to_string(),
                    message: format!(
                        "`{}` is listed twice, with different versions",
                        requirement.name
                    ),
                });
            }
        }
        Ok(Self { name, packages })
    }
}
