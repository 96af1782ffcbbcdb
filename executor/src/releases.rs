//! Which images a host's containers ran: per container name, the image tags of its last
//! releases, most recent first, so that the images beyond a rollout's `keep_releases` can
//! be pruned and the ones a rollback needs kept.
//!
//! One small file per container name under `/var/lib/cairn/releases/` (named by a hash of
//! the name, as state entries are), written as state entries are: a temporary file made by
//! `mktemp`, then a rename, so an interrupted apply leaves every history whole. An image is
//! recorded before the container that runs it starts (in the same script as `docker run`),
//! and the previous container's image again when a failed replacement puts it back: the
//! history never misses an image a container of that name ran, and its first image is the
//! one the host runs. An image leaves the history only once it is gone from the host.
//!
//! ```text
//! container=web
//! image=cairn/web:0123…
//! image=cairn/web:4567…
//! ```

use std::collections::BTreeMap;

use crate::confined_folder::{make_confined_folder, refuse_linked_folders};
use crate::host_paths::HostPaths;
use crate::shell::quote;

/// What a script prints when a history could not be written.
pub const RELEASE_RECORD_FAILED: &str = "cannot record the release of the container in cairn state";

/// The folder of histories, as a path of the lockfile (under the host's root).
const RELEASES_FOLDER: &str = "/var/lib/cairn/releases";

/// The images a host's container of one name ran, most recent first (each once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseHistory {
    pub container: String,
    pub images: Vec<String>,
}

impl ReleaseHistory {
    /// The images of the releases older than the newest `keep_releases`.
    pub fn beyond(&self, keep_releases: u32) -> &[String] {
        let kept = (keep_releases as usize).min(self.images.len());
        &self.images[kept..]
    }

    /// The history's file name: a hash of the container name, so any name is a safe one.
    fn file_name(container: &str) -> String {
        let hash = blake3::hash(container.as_bytes());
        format!("{}.releases", &hash.to_hex()[..32])
    }

    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        let container = lines.next()?.strip_prefix("container=")?.to_string();
        let images = lines
            .filter_map(|line| line.strip_prefix("image="))
            .map(str::to_string)
            .collect();
        Some(Self { container, images })
    }

    /// Shell lines recording that `container` now runs the image the shell word `image`
    /// names (a quoted tag, or `"$variable"`): the image first, the others after it in
    /// their order. A failure fails the script with [`RELEASE_RECORD_FAILED`].
    pub fn record_script(container: &str, image: &str, paths: &HostPaths) -> String {
        let failure = format!("{{ echo '{RELEASE_RECORD_FAILED}' >&2; exit 1; }}");
        let file = Self::file_name(container);
        format!(
            "{make_folder}\
             cairn_release=$(mktemp {dir}/.{file}.XXXXXX) && {{ {{ printf 'container=%s\\nimage=%s\\n' {name} {image}; grep -vxF -e image={image} -- {dir}/{file} 2>/dev/null | grep '^image=' || true; }} > \"$cairn_release\" && mv -fT -- \"$cairn_release\" {dir}/{file}; }} || {{ rm -f -- \"${{cairn_release:-}}\"; echo '{RELEASE_RECORD_FAILED}' >&2; exit 1; }}\n",
            make_folder = make_confined_folder(paths, RELEASES_FOLDER, Some("700"), &failure),
            dir = quote(&paths.path(RELEASES_FOLDER)),
            name = quote(container),
        )
    }

    /// Shell lines taking `image` (a tag) out of `container`'s history, the host no longer
    /// having it; the rest as it was.
    pub fn forget_script(container: &str, image: &str, paths: &HostPaths) -> String {
        let file = Self::file_name(container);
        format!(
            "cairn_release=$(mktemp {dir}/.{file}.XXXXXX) && {{ grep -vxF -e image={image} -- {dir}/{file} > \"$cairn_release\"; mv -fT -- \"$cairn_release\" {dir}/{file}; }} || rm -f -- \"${{cairn_release:-}}\"\n",
            dir = quote(&paths.path(RELEASES_FOLDER)),
            image = quote(image),
        )
    }

    /// Shell lines removing `container`'s history where it lists no image any more (the
    /// name left the lockfile and its images are gone).
    pub fn remove_when_empty_script(container: &str, paths: &HostPaths) -> String {
        let file = quote(&format!(
            "{}/{}",
            paths.path(RELEASES_FOLDER),
            Self::file_name(container)
        ));
        format!("grep -q '^image=' -- {file} 2>/dev/null || rm -f -- {file}\n")
    }

    /// Shell lines refusing (exit 1) a histories folder reached through a symbolic link
    /// under the host's root, before a history is rewritten in place.
    pub fn refuse_linked_folder_script(paths: &HostPaths) -> String {
        refuse_linked_folders(paths, RELEASES_FOLDER)
    }

    /// A command printing every history of the host, one after another (nothing where
    /// there is none).
    pub fn read_script(paths: &HostPaths) -> String {
        format!(
            "cat -- {}/*.releases 2>/dev/null || true\n",
            quote(&paths.path(RELEASES_FOLDER))
        )
    }
}

/// Every history of a host, by container name, from the files printed one after another
/// (each starts with its `container=` line). One that cannot be read (a hand edit) is
/// skipped: its images are simply never pruned.
pub fn parse_histories(text: &str) -> BTreeMap<String, ReleaseHistory> {
    let mut histories = BTreeMap::new();
    let mut current = String::new();
    let mut flush = |current: &mut String| {
        if let Some(history) = ReleaseHistory::parse(current) {
            histories.insert(history.container.clone(), history);
        }
        current.clear();
    };
    for line in text.lines() {
        if line.starts_with("container=") {
            flush(&mut current);
        }
        current.push_str(line);
        current.push('\n');
    }
    flush(&mut current);
    histories
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(container: &str, images: &[&str]) -> ReleaseHistory {
        ReleaseHistory {
            container: container.to_string(),
            images: images.iter().map(|image| image.to_string()).collect(),
        }
    }

    #[test]
    fn the_images_beyond_the_kept_releases_are_the_oldest() {
        let web = history("web", &["cairn/web:3", "cairn/web:2", "cairn/web:1"]);
        assert_eq!(web.beyond(2), ["cairn/web:1"]);
        assert_eq!(web.beyond(1), ["cairn/web:2", "cairn/web:1"]);
        assert!(web.beyond(3).is_empty());
        assert!(web.beyond(100).is_empty());
    }

    #[test]
    fn histories_read_back_from_their_files_printed_one_after_another() {
        let text = "container=web\nimage=cairn/web:3\nimage=cairn/web:2\n\
                    container=zookeeper\nimage=cairn/zookeeper:1\n\
                    not a history\n";
        let histories = parse_histories(text);
        assert_eq!(
            histories.get("web"),
            Some(&history("web", &["cairn/web:3", "cairn/web:2"]))
        );
        assert_eq!(
            histories.get("zookeeper"),
            Some(&history("zookeeper", &["cairn/zookeeper:1"]))
        );
        assert!(parse_histories("").is_empty());
    }

    /// Runs `script` with `sh` in a fresh root; what the host's history of `web` says then.
    fn after(scripts: &[String], root: &tempfile::TempDir) -> Option<ReleaseHistory> {
        for script in scripts {
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("set -eu\n{script}"))
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{script}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let read = std::process::Command::new("sh")
            .arg("-c")
            .arg(ReleaseHistory::read_script(&sandbox_paths(root)))
            .output()
            .unwrap();
        parse_histories(&String::from_utf8_lossy(&read.stdout)).remove("web")
    }

    fn sandbox_paths(root: &tempfile::TempDir) -> HostPaths {
        HostPaths::under_root(root.path())
    }

    #[test]
    fn a_release_goes_first_and_an_image_run_again_moves_up_rather_than_repeat() {
        let root = tempfile::tempdir().unwrap();
        let paths = sandbox_paths(&root);
        let record = |image: &str| ReleaseHistory::record_script("web", &quote(image), &paths);
        assert_eq!(after(&[], &root), None);
        let releases = [
            record("cairn/web:1"),
            record("cairn/web:2"),
            record("cairn/web:3"),
        ];
        assert_eq!(
            after(&releases, &root),
            Some(history(
                "web",
                &["cairn/web:3", "cairn/web:2", "cairn/web:1"]
            ))
        );
        // A rollback to release 2 runs its image again.
        assert_eq!(
            after(&[record("cairn/web:2")], &root),
            Some(history(
                "web",
                &["cairn/web:2", "cairn/web:3", "cairn/web:1"]
            ))
        );
        let forget = ReleaseHistory::forget_script("web", "cairn/web:1", &paths);
        assert_eq!(
            after(&[forget], &root),
            Some(history("web", &["cairn/web:2", "cairn/web:3"]))
        );
        let leftovers: Vec<_> = std::fs::read_dir(root.path().join("var/lib/cairn/releases"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "no temporary file is left: {leftovers:?}"
        );
    }

    #[test]
    fn an_image_named_by_a_shell_variable_is_recorded_by_its_value() {
        let root = tempfile::tempdir().unwrap();
        let paths = sandbox_paths(&root);
        let script = format!(
            "cairn_image='cairn/web:9'\n{}",
            ReleaseHistory::record_script("web", "\"$cairn_image\"", &paths)
        );
        assert_eq!(
            after(&[script], &root),
            Some(history("web", &["cairn/web:9"]))
        );
    }
}
