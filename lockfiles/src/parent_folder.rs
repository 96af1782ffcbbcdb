use std::path::Path;

/// The folder `path` is in: its parent, or `.` for a bare file name (whose parent is the
/// empty path, which no file operation takes).
pub fn parent_folder(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_is_in_the_current_folder() {
        assert_eq!(parent_folder(Path::new("cluster.lock")), Path::new("."));
        assert_eq!(
            parent_folder(Path::new("examples/cluster.lock")),
            Path::new("examples")
        );
        assert_eq!(parent_folder(Path::new("/cluster.lock")), Path::new("/"));
    }
}
