use std::collections::BTreeSet;

use crate::nodes::fields::{FieldError, FieldReader};
use crate::nodes::host_package_pins::HostPackagePins;
use crate::nodes::package_requirement::PackageRequirement;
use crate::nodes::pin_set::PinSet;
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
    /// at whatever version the host's sources offer. Shared by every node with the same
    /// request.
    pub pins: Option<PinSet>,
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

    /// The fields the lockfile writes: [`PackageNode::inputs`], but a pinned node's pins
    /// as `pins = "HASH"`, the pin set written once in its `[package_pins.HASH]` table
    /// (format 6). The id still hashes the pins themselves, as `inputs` gives them.
    pub(crate) fn written_fields(&self) -> Vec<(&'static str, Value)> {
        let mut out = vec![
            ("name", self.name.as_str().into()),
            ("packages", Value::strings(&self.packages)),
        ];
        if let Some(pins) = &self.pins {
            out.push(("pins", Value::String(pins.hash().to_string())));
        }
        out
    }

    /// Pins the node's closure, or takes the pins away with `None` (a set that pins and
    /// assumes nothing is none). Nodes with the same request share one [`PinSet`].
    pub fn set_pins(&mut self, pins: Option<PinSet>) {
        self.pins = pins.filter(|pins| !pins.is_empty());
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
        // Format 6 names the pin set (`pins = "HASH"`); formats 3 to 5 hold it inline, which
        // reads as it did (and means the same set: the id hashes the pins, not their place).
        let pins = match fields.peek("pins") {
            Some(Value::String(_)) => Some(PinSet::from_reference(fields)?),
            _ => HostPackagePins::from_fields(fields)?.map(PinSet::new),
        };
        Ok(Self {
            name,
            packages,
            pins,
        })
    }
}
