//! What a package node installs once compile has pinned it: the closure of its requested
//! packages, resolved for the hosts' Debian release and architecture, less what the hosts
//! are assumed to have already.

use crate::nodes::fields::{FieldError, FieldReader};
use crate::nodes::package_pin::PackagePin;
use crate::value::Value;

/// A package node's pins: the fields `architecture`, `release`, `sources`, `base`,
/// `assumed` and `pins`, all of them (`assumed` may be empty) or none. Up to format 5
/// they were written in the node; since format 6 in the `[package_pins.HASH]` table of
/// their [`crate::PinSet`], which the node names. A node's id hashes them either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPackagePins {
    /// The Debian architecture resolved for (`amd64`): a host of another architecture is
    /// refused before anything runs on it.
    pub architecture: String,
    /// The release the sources' first suite is (its Release file's `Codename`,
    /// `bookworm`): a host whose `/etc/os-release` names another `VERSION_CODENAME` is
    /// refused before anything runs on it.
    pub release: String,
    /// The sources' lines as the spec gives them, whitespace collapsed, in its order.
    pub sources: Vec<String>,
    /// What hosts are assumed to have (`[packages] assume_installed`): `required` or
    /// `important`, the least important Priority of the base system's packages.
    pub base: String,
    /// The packages of the hosts' assumed base system (`[packages] assume_installed`) that
    /// the closure relies on, as `name=version` at the version the sources had when the
    /// pins were made: counted as installed by the resolver, never installed by the node.
    /// Sorted by name.
    pub assumed: Vec<String>,
    /// The closure: every package apt installs for the node, at its exact version. Sorted
    /// by name, one per name; empty only where the base system has the whole request.
    pub packages: Vec<PackagePin>,
}

impl HostPackagePins {
    pub(crate) fn push_inputs(&self, out: &mut Vec<(&'static str, Value)>) {
        out.push(("architecture", self.architecture.as_str().into()));
        out.push(("release", self.release.as_str().into()));
        out.push(("sources", Value::strings(&self.sources)));
        out.push(("base", self.base.as_str().into()));
        if !self.assumed.is_empty() {
            out.push(("assumed", Value::strings(&self.assumed)));
        }
        out.push((
            "pins",
            Value::List(self.packages.iter().map(PackagePin::input).collect()),
        ));
    }

    /// The fields [`HostPackagePins::push_inputs`] gives a node's inputs, as one table: what
    /// a pin set's hash covers.
    pub(crate) fn input_table(&self) -> Value {
        let mut fields = Vec::with_capacity(6);
        self.push_inputs(&mut fields);
        Value::Table(
            fields
                .into_iter()
                .map(|(field, value)| (field.to_string(), value))
                .collect(),
        )
    }

    /// Sorts the packages and the assumed base, and drops duplicates.
    pub fn normalise(&mut self) {
        self.packages
            .sort_by(|left, right| left.name.cmp(&right.name));
        self.packages
            .dedup_by(|left, right| left.name == right.name);
        self.assumed.sort();
        self.assumed.dedup();
    }

    /// Reads the fields (all of them or none), checked as the lockfile reader checks them;
    /// the other fields are left to `fields`.
    pub fn from_fields(
        fields: &mut FieldReader<'_>,
    ) -> Result<Option<HostPackagePins>, FieldError> {
        let architecture = fields.optional_string("architecture")?;
        let release = fields.optional_string("release")?;
        let sources = fields.strings("sources")?;
        let base = fields.optional_string("base")?;
        let assumed = fields.strings("assumed")?;
        let mut packages = fields.tables("pins", PackagePin::from_fields)?;
        let (Some(architecture), Some(release), Some(base)) =
            (architecture.clone(), release.clone(), base.clone())
        else {
            let given = [
                ("architecture", architecture.is_some()),
                ("release", release.is_some()),
                ("base", base.is_some()),
                ("sources", !sources.is_empty()),
                ("assumed", !assumed.is_empty()),
                ("pins", !packages.is_empty()),
            ];
            return match given.iter().find(|(_, present)| *present) {
                Some((field, _)) => Err(invalid(field, PINS_TOGETHER)),
                None => Ok(None),
            };
        };
        // A request the base system meets whole installs nothing: no pins, the request
        // among the assumed packages.
        if (packages.is_empty() && assumed.is_empty()) || sources.is_empty() {
            return Err(invalid(
                if sources.is_empty() {
                    "sources"
                } else {
                    "pins"
                },
                PINS_TOGETHER,
            ));
        }
        check_word("architecture", &architecture)?;
        check_word("release", &release)?;
        if !["required", "important"].contains(&base.as_str()) {
            return Err(invalid(
                "base",
                &format!("`{base}` is not `required` or `important`"),
            ));
        }
        for entry in &assumed {
            crate::nodes::PackageRequirement::parse(entry)
                .ok()
                .filter(|requirement| requirement.version.is_some())
                .ok_or_else(|| invalid("assumed", &format!("`{entry}` is not `name=version`")))?;
        }
        packages.sort_by(|left, right| left.name.cmp(&right.name));
        if let Some(pair) = packages
            .windows(2)
            .find(|pair| pair[0].name == pair[1].name)
        {
            return Err(invalid(
                "pins",
                &format!("`{}` is pinned twice", pair[0].name),
            ));
        }
        let mut pins = HostPackagePins {
            architecture,
            release,
            sources,
            base,
            assumed,
            packages,
        };
        pins.normalise();
        Ok(Some(pins))
    }

    /// The pinned packages as apt's `name=version` arguments, in name order.
    pub fn install_arguments(&self) -> Vec<String> {
        self.packages
            .iter()
            .map(|pin| format!("{}={}", pin.name, pin.version))
            .collect()
    }

    /// The names of the assumed base packages, in name order.
    pub fn assumed_names(&self) -> impl Iterator<Item = &str> {
        self.assumed.iter().map(|entry| {
            entry
                .split_once('=')
                .map_or(entry.as_str(), |(name, _)| name)
        })
    }
}

const PINS_TOGETHER: &str = "a package node's pins come with `architecture`, `release`, `sources`, `base` and `pins` together";

fn invalid(field: &str, message: &str) -> FieldError {
    FieldError::Invalid {
        field: field.to_string(),
        message: message.to_string(),
    }
}

/// An architecture or a codename: lowercase letters, digits and `-`, as it lands in a
/// shell comparison.
fn check_word(field: &str, text: &str) -> Result<(), FieldError> {
    let valid = !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if valid {
        Ok(())
    } else {
        Err(invalid(
            field,
            &format!("`{text}` is not a Debian name (lowercase letters, digits and `-`)"),
        ))
    }
}
