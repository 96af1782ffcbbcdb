use std::collections::BTreeSet;

use crate::nodes::fields::{FieldError, FieldReader};
use crate::nodes::host_package_pins::HostPackagePins;
use crate::nodes::package_requirement::PackageRequirement;
use crate::value::Value;

/// OS packages installed, together, from the cluster's own repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageNode {
    pub name: String,
    /// What the node asks for. Sorted, without duplicates, each a valid
    /// [`PackageRequirement`] and no package named twice.
    pub packages: Vec<String>,
    /// The closure compile pinned for the request (where the spec names `[packages]
    /// sources`): apt installs exactly these. `None`: apt installs the requested packages
    /// at whatever version the host's sources offer.
    pub pins: Option<HostPackagePins>,
}

impl PackageNode {
    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        let mut out = vec![
            ("name", self.name.as_str().into()),
            ("packages", Value::strings(&self.packages)),
        ];
        if let Some(pins) = &self.pins {
            pins.push_inputs(&mut out);
        }
        out
    }

    /// Pins the node's closure, or takes the pins away with `None`.
    pub fn set_pins(&mut self, pins: Option<HostPackagePins>) {
        self.pins = pins
            .map(|mut pins| {
                pins.normalise();
                pins
            })
            .filter(|pins| !pins.packages.is_empty() || !pins.assumed.is_empty());
    }

    /// What apt is asked to install: the pinned closure, each at its version, where the
    /// node is pinned; else the requested packages.
    pub fn install_arguments(&self) -> Vec<String> {
        match &self.pins {
            Some(pins) => pins.install_arguments(),
            None => self.packages.clone(),
        }
    }

    /// The package names the node installs (the closure, where pinned), each with the
    /// version it must have (`None`: any).
    pub fn installed_packages(&self) -> Vec<PackageRequirement> {
        match &self.pins {
            Some(pins) => pins
                .packages
                .iter()
                .map(|pin| PackageRequirement {
                    name: pin.name.clone(),
                    version: Some(pin.version.clone()),
                })
                .collect(),
            None => self.requirements(),
        }
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
        let pins = HostPackagePins::from_fields(fields)?;
        Ok(Self {
            name,
            packages,
            pins,
        })
    }
}
