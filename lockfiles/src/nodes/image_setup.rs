use std::collections::BTreeMap;

use crate::nodes::fields::{FieldError, FieldReader, format_mode, parse_mode};
use crate::nodes::probe::absolute_path;
use crate::value::Value;

/// What an image needs of its packages' maintainer scripts, declared, because cairn's
/// builder unpacks packages without running them: the system users the scripts would add,
/// the links `update-alternatives` would make, and the folders they would create. The
/// rendered Dockerfile makes the same before and after its package install, so both builds
/// agree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageSetup {
    /// Sorted by name.
    pub users: Vec<ImageUser>,
    /// Sorted by path.
    pub links: Vec<ImageLink>,
    /// Sorted by path.
    pub directories: Vec<ImageDirectory>,
}

/// A system user and its own group of the same name and id, as `adduser --system --group`
/// makes one; its id is fixed here rather than picked at install time, so every build of
/// the image, and the files it leaves on a host's volume, agree on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUser {
    pub name: String,
    /// 100 to 999: Debian's range for system users, above base-passwd's fixed ones.
    pub id: u32,
    pub home: String,
}

/// A symbolic link at `path` to `target`: what `update-alternatives --install` leaves for
/// the one alternative an image has (made directly, without `/etc/alternatives`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLink {
    pub path: String,
    pub target: String,
}

/// A folder a maintainer script would create, with its owner (a user of the image, or
/// `root`) and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDirectory {
    pub path: String,
    pub owner: String,
    pub mode: u32,
}

/// Debian's range for system users' and groups' ids (adduser's FIRST_SYSTEM_UID and
/// LAST_SYSTEM_UID).
const SYSTEM_IDS: std::ops::RangeInclusive<u32> = 100..=999;

impl ImageSetup {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.links.is_empty() && self.directories.is_empty()
    }

    /// The id a folder's owner has in the image: root's, or a declared user's.
    pub fn owner_id(&self, owner: &str) -> Option<u32> {
        if owner == "root" {
            return Some(0);
        }
        self.users
            .iter()
            .find(|user| user.name == owner)
            .map(|user| user.id)
    }

    pub(crate) fn inputs(&self, out: &mut Vec<(&'static str, Value)>) {
        if !self.users.is_empty() {
            let users = self
                .users
                .iter()
                .map(|user| {
                    Value::Table(BTreeMap::from([
                        ("name".to_string(), Value::String(user.name.clone())),
                        ("id".to_string(), Value::Integer(i64::from(user.id))),
                        ("home".to_string(), Value::String(user.home.clone())),
                    ]))
                })
                .collect();
            out.push(("users", Value::List(users)));
        }
        if !self.links.is_empty() {
            let links = self
                .links
                .iter()
                .map(|link| {
                    Value::Table(BTreeMap::from([
                        ("path".to_string(), Value::String(link.path.clone())),
                        ("target".to_string(), Value::String(link.target.clone())),
                    ]))
                })
                .collect();
            out.push(("links", Value::List(links)));
        }
        if !self.directories.is_empty() {
            let directories = self
                .directories
                .iter()
                .map(|directory| {
                    Value::Table(BTreeMap::from([
                        ("path".to_string(), Value::String(directory.path.clone())),
                        ("owner".to_string(), Value::String(directory.owner.clone())),
                        (
                            "mode".to_string(),
                            Value::String(format_mode(directory.mode)),
                        ),
                    ]))
                })
                .collect();
            out.push(("directories", Value::List(directories)));
        }
    }

    pub(crate) fn from_fields(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        let mut users = fields.tables("users", |item| {
            let name = item.string("name")?;
            if !valid_user_name(&name) {
                return Err(invalid(
                    "name",
                    format!(
                        "`{name}` is not a user name: lowercase letters, digits, `-` and `_`, not starting with a digit or `-`, at most 32 characters"
                    ),
                ));
            }
            let id = item.integer::<u32>("id")?;
            if !SYSTEM_IDS.contains(&id) {
                return Err(invalid(
                    "id",
                    format!(
                        "user `{name}` has id {id}; a system user's id is 100 to 999 (base-passwd owns those below 100)"
                    ),
                ));
            }
            let home = match item.optional_string("home")? {
                Some(home) => absolute_path(home, "home")?,
                None => "/nonexistent".to_string(),
            };
            Ok(ImageUser { name, id, home })
        })?;
        users.sort_by(|left, right| left.name.cmp(&right.name));
        if let Some(pair) = users.windows(2).find(|pair| pair[0].name == pair[1].name) {
            return Err(invalid(
                "users",
                format!("user `{}` is declared twice", pair[0].name),
            ));
        }
        let mut ids: Vec<u32> = users.iter().map(|user| user.id).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(invalid(
                "users",
                format!("two users have the id {}: give each its own", pair[0]),
            ));
        }

        let mut links = fields.tables("links", |item| {
            let path = crate::nodes::written_path::written_path(item.string("path")?, "path")?;
            let target = item.string("target")?;
            if target.is_empty() || target.contains('\0') || target.contains('\n') {
                return Err(invalid(
                    "target",
                    format!("the link at `{path}` needs a target path"),
                ));
            }
            Ok(ImageLink { path, target })
        })?;
        links.sort_by(|left, right| left.path.cmp(&right.path));
        if let Some(pair) = links.windows(2).find(|pair| pair[0].path == pair[1].path) {
            return Err(invalid(
                "links",
                format!("`{}` is linked twice", pair[0].path),
            ));
        }

        let mut directories = fields.tables("directories", |item| {
            let path = crate::nodes::written_path::written_path(item.string("path")?, "path")?;
            let owner = item
                .optional_string("owner")?
                .unwrap_or_else(|| "root".to_string());
            let mode = match item.optional_string("mode")? {
                Some(text) => parse_mode("mode", &text)?,
                None => 0o755,
            };
            Ok(ImageDirectory { path, owner, mode })
        })?;
        directories.sort_by(|left, right| left.path.cmp(&right.path));
        if let Some(pair) = directories
            .windows(2)
            .find(|pair| pair[0].path == pair[1].path)
        {
            return Err(invalid(
                "directories",
                format!("`{}` is listed twice", pair[0].path),
            ));
        }
        let setup = Self {
            users,
            links,
            directories,
        };
        if let Some(directory) = setup
            .directories
            .iter()
            .find(|directory| setup.owner_id(&directory.owner).is_none())
        {
            return Err(invalid(
                "directories",
                format!(
                    "`{}` is owned by `{}`, which is neither `root` nor a user the image declares in `users`",
                    directory.path, directory.owner
                ),
            ));
        }
        Ok(setup)
    }

    /// Dockerfile lines that make the users before the packages install (so their
    /// maintainer scripts find them and keep their ids).
    pub(crate) fn dockerfile_users(&self) -> Option<String> {
        if self.users.is_empty() {
            return None;
        }
        let commands: Vec<String> = self
            .users
            .iter()
            .map(|user| {
                format!(
                    "groupadd --system --gid {id} {name} \\\n && useradd --system --uid {id} --gid {id} --home-dir {home} --no-create-home --shell /usr/sbin/nologin {name}",
                    id = user.id,
                    name = user.name,
                    home = user.home
                )
            })
            .collect();
        Some(format!("RUN {}\n", commands.join(" \\\n && ")))
    }

    /// Dockerfile lines that make the links and folders after the packages install.
    pub(crate) fn dockerfile_links_and_directories(&self) -> Option<String> {
        let mut commands: Vec<String> = self
            .links
            .iter()
            .map(|link| {
                let parent = link.path.rsplit_once('/').map_or("/", |(parent, _)| parent);
                format!(
                    "mkdir -p {} && ln -sfn {} {}",
                    if parent.is_empty() { "/" } else { parent },
                    link.target,
                    link.path
                )
            })
            .collect();
        commands.extend(self.directories.iter().map(|directory| {
            format!(
                "mkdir -p {path} && chown {owner}:{owner} {path} && chmod {mode} {path}",
                owner = directory.owner,
                mode = format_mode(directory.mode),
                path = directory.path
            )
        }));
        if commands.is_empty() {
            return None;
        }
        Some(format!("RUN {}\n", commands.join(" \\\n && ")))
    }
}

fn invalid(field: &str, message: String) -> FieldError {
    FieldError::Invalid {
        field: field.to_string(),
        message,
    }
}

/// adduser's default NAME_REGEX for system users, and useradd's 32-character limit.
fn valid_user_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 32
        && bytes
            .next()
            .is_some_and(|first| first.is_ascii_lowercase() || first == b'_')
        && bytes
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"-_".contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_follow_adduser() {
        assert!(valid_user_name("mysql"));
        assert!(valid_user_name("_apt"));
        assert!(!valid_user_name("9lives"));
        assert!(!valid_user_name("-x"));
        assert!(!valid_user_name("Root"));
        assert!(!valid_user_name("a b"));
        assert!(!valid_user_name(""));
    }
}
