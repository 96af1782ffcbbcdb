//! Which cairn role each inventory group becomes: the common names of such installers by
//! default, and an operator's mapping file or flags for the rest.

use std::collections::BTreeMap;

use crate::import_error::ImportError;

/// The groups every installer of this kind has, and their roles.
pub const DEFAULT_ROLES: [(&str, &str); 13] = [
    ("master", "master"),
    ("masters", "master"),
    ("slave", "agent"),
    ("slaves", "agent"),
    ("agent", "agent"),
    ("agents", "agent"),
    ("haproxy", "loadbalancer"),
    ("keepalived", "loadbalancer"),
    ("loadbalancer", "loadbalancer"),
    ("mysql", "mysql"),
    ("mysql_master", "mysql"),
    ("mysql_slave", "mysql"),
    ("control", "control"),
];

/// A group's role; `None` in the map: the operator leaves the group out.
#[derive(Debug, Clone)]
pub struct RoleMapping {
    roles: BTreeMap<String, Option<String>>,
}

impl Default for RoleMapping {
    fn default() -> Self {
        let roles = DEFAULT_ROLES
            .iter()
            .map(|(group, role)| (group.to_string(), Some(role.to_string())))
            .collect();
        RoleMapping { roles }
    }
}

/// What a mapping says of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped<'a> {
    Role(&'a str),
    /// Mapped to `""`: left out on purpose.
    LeftOut,
    Unknown,
}

impl RoleMapping {
    /// The defaults, with a mapping file's `[roles]` table over them:
    /// `web = "agent"`, `bastion = ""` (left out).
    pub fn with_file(mut self, text: &str) -> Result<Self, ImportError> {
        let table: toml::Table =
            text.parse()
                .map_err(|error: toml::de::Error| ImportError::RoleMapping {
                    reason: error.message().to_string(),
                })?;
        for (key, value) in &table {
            let toml::Value::Table(roles) = value else {
                return Err(unexpected(key));
            };
            if key != "roles" {
                return Err(unexpected(key));
            }
            for (group, role) in roles {
                let toml::Value::String(role) = role else {
                    return Err(ImportError::RoleMapping {
                        reason: format!("the role of group `{group}` must be a string"),
                    });
                };
                self = self.with(group, role);
            }
        }
        Ok(self)
    }

    /// `GROUP=ROLE` of a flag over the mapping.
    pub fn with_flag(self, flag: &str) -> Result<Self, ImportError> {
        match flag.split_once('=') {
            Some((group, role)) if !group.is_empty() => Ok(self.with(group, role)),
            _ => Err(ImportError::RoleMapping {
                reason: format!("`{flag}` is not GROUP=ROLE"),
            }),
        }
    }

    fn with(mut self, group: &str, role: &str) -> Self {
        let role = (!role.is_empty()).then(|| role.to_string());
        self.roles.insert(group.to_string(), role);
        self
    }

    pub fn role_of(&self, group: &str) -> Mapped<'_> {
        match self.roles.get(group) {
            Some(Some(role)) => Mapped::Role(role),
            Some(None) => Mapped::LeftOut,
            None => Mapped::Unknown,
        }
    }
}

fn unexpected(key: &str) -> ImportError {
    ImportError::RoleMapping {
        reason: format!("unknown table or key `{key}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Mapped, RoleMapping};

    #[test]
    fn the_common_groups_map_by_default_and_a_file_or_flag_maps_the_rest() {
        let mapping = RoleMapping::default()
            .with_file("[roles]\nweb = \"agent\"\nbastion = \"\"\n")
            .unwrap()
            .with_flag("console=console")
            .unwrap();
        assert_eq!(mapping.role_of("slave"), Mapped::Role("agent"));
        assert_eq!(mapping.role_of("keepalived"), Mapped::Role("loadbalancer"));
        assert_eq!(mapping.role_of("web"), Mapped::Role("agent"));
        assert_eq!(mapping.role_of("console"), Mapped::Role("console"));
        assert_eq!(mapping.role_of("bastion"), Mapped::LeftOut);
        assert_eq!(mapping.role_of("monitoring"), Mapped::Unknown);
        assert!(RoleMapping::default().with_file("web = 1\n").is_err());
    }
}
