//! Writes kept inside a host's root.
//!
//! A host with a `root` (a sandbox, a chroot) has every path of its nodes and its state
//! joined to that root. Paths are checked for `.` and `..` when the lockfile is read
//! (`cairn_lockfiles` refuses them); what remains is a symbolic link planted under the
//! root (`etc` pointing elsewhere, the state folder a link), through which a write would
//! land outside. So the script that writes first walks from the root down to the folder it
//! writes in, one component at a time, refusing any that is a symbolic link and making any
//! that is missing: the check runs on the host, in the same script as the write, whether
//! the host is reached over SSH or locally. Files themselves are written through a
//! temporary file `mktemp` creates (a fresh name, made exclusively), never through a name a
//! link could have been planted at.
//!
//! The host's own `/` (no root) is not walked: its links (`/var/run`, merged `/usr`) are
//! its own, and nothing is outside it.

use crate::host_paths::HostPaths;
use crate::shell::quote;

/// What a script prints when it refuses a symbolic link: the caller's error names it.
pub const SYMLINK_REFUSED: &str = "is a symbolic link under the host root";

/// Shell lines that make `folder` (an absolute path of the lockfile) exist under the
/// host's root, refusing a symbolic link among its components; `mode` for the folders it
/// makes, if given. On a refusal or a failure they run `on_failure` (which exits).
pub fn make_confined_folder(
    paths: &HostPaths,
    folder: &str,
    mode: Option<&str>,
    on_failure: &str,
) -> String {
    let mode_option = mode.map(|mode| format!("-m {mode} ")).unwrap_or_default();
    let target = paths.path(folder);
    if paths.root().is_empty() {
        return format!(
            "[ -d {target} ] || mkdir -p {mode_option}-- {target} || {on_failure}\n",
            target = quote(&target)
        );
    }
    let components = quoted_components(folder);
    format!(
        "[ -d {root} ] || mkdir -p -- {root} || {on_failure}\n\
         cairn_folder={root}\n\
         for cairn_part in {components}; do\n\
         \x20 cairn_folder=\"$cairn_folder/$cairn_part\"\n\
         \x20 if [ -L \"$cairn_folder\" ]; then echo \"$cairn_folder {SYMLINK_REFUSED}: cairn does not write through it\" >&2; {on_failure}; fi\n\
         \x20 [ -d \"$cairn_folder\" ] || mkdir -p {mode_option}-- \"$cairn_folder\" || {on_failure}\n\
         done\n",
        root = quote(paths.root()),
        components = components,
    )
}

/// Shell lines that refuse `folder` (an absolute path of the lockfile) if a component of it
/// under the host's root is a symbolic link, making nothing: for removals, which a link
/// would send outside the root. Exits 1 on a refusal.
pub fn refuse_linked_folders(paths: &HostPaths, folder: &str) -> String {
    if paths.root().is_empty() {
        return String::new();
    }
    let components = quoted_components(folder);
    format!(
        "cairn_folder={root}\n\
         for cairn_part in {components}; do\n\
         \x20 cairn_folder=\"$cairn_folder/$cairn_part\"\n\
         \x20 if [ -L \"$cairn_folder\" ]; then echo \"$cairn_folder {SYMLINK_REFUSED}: cairn does not remove through it\" >&2; exit 1; fi\n\
         done\n",
        root = quote(paths.root()),
        components = components,
    )
}

/// Whether `path` (a path a host's state entry names) is absolute and without `.` or `..`:
/// a state entry is the host's, and could have been edited there.
pub fn is_confined_path(path: &str) -> bool {
    path.starts_with('/')
        && !path
            .split('/')
            .any(|component| component == ".." || component == ".")
}

/// Shell lines that refuse `file` (an absolute path of the lockfile, whose folder
/// [`make_confined_folder`] made) if it is a symbolic link under a root: for files opened
/// in place (the locks), which a link would redirect.
pub fn refuse_linked_file(paths: &HostPaths, file: &str) -> String {
    if paths.root().is_empty() {
        return String::new();
    }
    let target = quote(&paths.path(file));
    let message = quote(&format!(
        " {SYMLINK_REFUSED}: cairn does not write through it"
    ));
    format!("if [ -L {target} ]; then echo {target}{message} >&2; exit 1; fi\n")
}

/// `folder`'s components, each quoted for the shell, joined by spaces: the words of the
/// scripts' `for` loops.
fn quoted_components(folder: &str) -> String {
    folder
        .split('/')
        .filter(|component| !component.is_empty())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox(root: &std::path::Path) -> HostPaths {
        HostPaths::under_root(root)
    }

    fn run(script: &str) -> std::process::Output {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap()
    }

    #[test]
    fn missing_folders_are_made_under_the_root() {
        let root = tempfile::tempdir().unwrap();
        let paths = sandbox(root.path());
        let output = run(&make_confined_folder(
            &paths,
            "/etc/cairn/it's here",
            Some("700"),
            "exit 1",
        ));
        assert!(output.status.success(), "{output:?}");
        assert!(root.path().join("etc/cairn/it's here").is_dir());
    }

    #[test]
    fn a_linked_folder_under_the_root_is_refused_and_nothing_made_through_it() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("etc")).unwrap();
        let paths = sandbox(root.path());
        let output = run(&make_confined_folder(&paths, "/etc/cairn", None, "exit 1"));
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains(SYMLINK_REFUSED));
        assert!(!outside.path().join("cairn").exists());
    }

    #[test]
    fn a_removal_under_a_linked_folder_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("precious"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("etc")).unwrap();
        let paths = sandbox(root.path());
        let script = format!(
            "{}rm -f -- {}",
            refuse_linked_folders(&paths, "/etc"),
            quote(&paths.path("/etc/precious"))
        );
        assert!(!run(&script).status.success());
        assert!(outside.path().join("precious").exists());
    }

    #[test]
    fn a_state_entry_path_climbing_out_is_not_confined() {
        assert!(is_confined_path("/etc/app.conf"));
        assert!(!is_confined_path("/etc/../../outside"));
        assert!(!is_confined_path("relative"));
    }

    #[test]
    fn a_linked_file_under_the_root_is_refused() {
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.path().join("lock")).unwrap();
        let output = run(&refuse_linked_file(&sandbox(root.path()), "/lock"));
        assert!(!output.status.success());
    }
}
