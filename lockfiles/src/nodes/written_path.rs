//! A path a node writes to: absolute, and without `.` or `..` among its components, so that
//! joined to a host's root (a sandbox, a chroot) it stays under that root.

use crate::nodes::fields::FieldError;
use crate::nodes::probe::absolute_path;

/// `text` if it is an absolute path that cannot leave a root it is joined to.
pub(crate) fn written_path(text: String, field: &str) -> Result<String, FieldError> {
    let path = absolute_path(text, field)?;
    if let Some(component) = path
        .split('/')
        .find(|component| *component == ".." || *component == ".")
    {
        return Err(FieldError::Invalid {
            field: field.to_string(),
            message: format!(
                "`{path}` holds a `{component}` component: a path cairn writes is written as it is meant, without `.` or `..`, so that under a host's root it stays under that root"
            ),
        });
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_climbing_out_of_its_root_is_refused() {
        for path in ["/etc/../../outside", "/..", "/etc/./x", "/a/.."] {
            assert!(written_path(path.into(), "path").is_err(), "{path}");
        }
    }

    #[test]
    fn names_with_dots_are_paths_like_any_other() {
        for path in [
            "/etc/cairn/.hidden",
            "/etc/a..b",
            "/etc/...",
            "/var/lib/x.d/y",
        ] {
            assert_eq!(written_path(path.into(), "path").unwrap(), path);
        }
    }
}
