use crate::nodes::fields::{FieldError, FieldReader};
use crate::nodes::written_path::written_path;
use crate::value::Value;

/// The cluster's offline repository, placed on a host's disk (the control host's, which
/// serves it): every package and artifact the lockfile pins, as `cairn fetch --export`
/// writes them, under `path`.
///
/// What it holds follows from the whole lockfile, not from the node's inputs: the node's id
/// stays while only pins change, so that nothing depending on it (the control host's
/// package nodes) is replaced when an image's pin moves. Apply records the contents it
/// placed, and the planner runs the node again when they differ from the lockfile's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryNode {
    pub path: String,
    /// The suite hosts' sources name (`dists/<suite>`).
    pub suite: String,
    /// The components they name: the packages go in the first.
    pub components: Vec<String>,
}

impl RepositoryNode {
    pub(crate) fn inputs(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("path", self.path.as_str().into()),
            ("suite", self.suite.as_str().into()),
            ("components", Value::strings(&self.components)),
        ]
    }

    /// Where the suite's `Release` is, below the host's root: what tells a host's copy
    /// from the one apply placed.
    pub fn release_path(&self) -> String {
        format!(
            "{}/dists/{}/Release",
            self.path.trim_end_matches('/'),
            self.suite
        )
    }

    pub(crate) fn from_fields(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        let path = written_path(fields.string("path")?, "path")?;
        if path.trim_end_matches('/').is_empty() {
            return Err(FieldError::Invalid {
                field: "path".to_string(),
                message: "the repository needs a folder of its own, not `/`".to_string(),
            });
        }
        let suite = plain_name("suite", fields.string("suite")?)?;
        let components = fields
            .strings("components")?
            .into_iter()
            .map(|component| plain_name("components", component))
            .collect::<Result<Vec<_>, _>>()?;
        if components.is_empty() {
            return Err(FieldError::Invalid {
                field: "components".to_string(),
                message: "must name at least one component".to_string(),
            });
        }
        Ok(Self {
            path,
            suite,
            components,
        })
    }
}

/// A suite or component: one folder name of `dists/`, never `.`, `..` or a path.
fn plain_name(field: &str, name: String) -> Result<String, FieldError> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".+_-".contains(&byte));
    if plain {
        Ok(name)
    } else {
        Err(FieldError::Invalid {
            field: field.to_string(),
            message: format!(
                "`{name}` is not a plain suite or component name (letters, digits, `.+_-`)"
            ),
        })
    }
}
