//! An image layout sent to a host's `docker load`, with only the layers the host lacks.
//!
//! Docker's loader (the `manifest.json` format) walks an image's layers bottom up and
//! opens a layer's file only when its engine lacks that layer on top of the ones below (the
//! chain of diff ids). So the archive holds `manifest.json`, the config, and the layers
//! above the longest run of bottom layers that some image of the host already has: a
//! changed top layer ships alone, and an image the host has in full ships no layer.

use std::path::Path;

/// A shell command printing, one line per image of the host's engine, its layers' diff
/// ids (bottom first, space-separated).
///
/// An image removed between the listing and its inspection (a prune, another apply's, or
/// an operator's `docker image rm`) is left out, not an error: `docker image inspect`
/// still prints the others, and its only complaints are `No such image`. Any other
/// complaint fails the script with Docker's words.
pub const HOST_LAYERS_SCRIPT: &str = "{ errors=$(docker image ls --quiet --no-trunc | sort -u | xargs -r docker image inspect --format '{{join .RootFS.Layers \" \"}}' 2>&1 1>&3 3>&-); status=$?; } 3>&1
[ \"$status\" -eq 0 ] && exit 0
printf '%s\\n' \"$errors\" | grep -qiv 'no such image' || exit 0
printf '%s\\n' \"$errors\" >&2
exit \"$status\"";

/// What goes to the host's `docker load`.
#[derive(Debug)]
pub struct LoadArchive {
    pub tar: Vec<u8>,
    pub layers_sent: usize,
    pub layers_present: usize,
    /// Bytes of the layers sent (compressed, as stored in the layout).
    pub layer_bytes_sent: u64,
}

/// Why an archive could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the image layout {layout}: {message}")]
pub struct LoadError {
    pub layout: String,
    pub message: String,
}

/// The archive of `layout` (a layout `cairn build` wrote) for a host whose images have the
/// layers `host_layers` lists ([`HOST_LAYERS_SCRIPT`]'s output).
pub fn load_archive(layout: &Path, host_layers: &str) -> Result<LoadArchive, LoadError> {
    let error = |message: String| LoadError {
        layout: layout.display().to_string(),
        message,
    };
    let read = |relative: &str| {
        if relative
            .split('/')
            .any(|part| part == ".." || part.is_empty())
        {
            return Err(error(format!(
                "`{relative}` is not a path inside the layout"
            )));
        }
        std::fs::read(layout.join(relative)).map_err(|cause| error(format!("{relative}: {cause}")))
    };
    let manifest_bytes = read("manifest.json")?;
    let manifest: serde_json::Value = serde_json::from_slice(&manifest_bytes)
        .map_err(|cause| error(format!("manifest.json: {cause}")))?;
    let entry = manifest
        .as_array()
        .and_then(|entries| entries.first())
        .ok_or_else(|| error("manifest.json lists no image".to_string()))?;
    let config_path = entry["Config"]
        .as_str()
        .ok_or_else(|| error("manifest.json names no Config".to_string()))?;
    let layer_paths: Vec<&str> = entry["Layers"]
        .as_array()
        .map(|layers| layers.iter().filter_map(|layer| layer.as_str()).collect())
        .unwrap_or_default();
    let config_bytes = read(config_path)?;
    let config: serde_json::Value = serde_json::from_slice(&config_bytes)
        .map_err(|cause| error(format!("{config_path}: {cause}")))?;
    let diff_ids: Vec<&str> = config["rootfs"]["diff_ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(|id| id.as_str()).collect())
        .unwrap_or_default();
    if diff_ids.len() != layer_paths.len() {
        return Err(error(format!(
            "the config has {} layers and manifest.json {}",
            diff_ids.len(),
            layer_paths.len()
        )));
    }
    let present = host_layers
        .lines()
        .map(|line| {
            line.split_whitespace()
                .zip(&diff_ids)
                .take_while(|(host, ours)| host == *ours)
                .count()
        })
        .max()
        .unwrap_or(0);

    let mut builder = tar::Builder::new(Vec::new());
    let mut append = |path: &str, content: &[u8]| -> std::io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(content.len() as u64);
        builder.append_data(&mut header, path, content)
    };
    let write_error = |cause: std::io::Error| error(format!("writing the archive: {cause}"));
    append("manifest.json", &manifest_bytes).map_err(write_error)?;
    append(config_path, &config_bytes).map_err(write_error)?;
    let mut layer_bytes_sent = 0;
    for layer in &layer_paths[present..] {
        let content = read(layer)?;
        layer_bytes_sent += content.len() as u64;
        append(layer, &content).map_err(write_error)?;
    }
    let tar = builder.into_inner().map_err(write_error)?;
    Ok(LoadArchive {
        tar,
        layers_sent: layer_paths.len() - present,
        layers_present: present,
        layer_bytes_sent,
    })
}

#[cfg(test)]
mod tests {
    /// [`HOST_LAYERS_SCRIPT`] run with a `docker` that lists two images and answers
    /// `inspect` for the first, saying `complaint` of the second.
    fn host_layers_with(complaint: &str) -> std::process::Output {
        let folder = tempfile::tempdir().unwrap();
        let docker = folder.path().join("docker");
        let fake = format!(
            "#!/bin/sh\n\
             case \"$1 $2\" in\n\
             'image ls') printf 'sha256:kept\\nsha256:gone\\n' ;;\n\
             'image inspect') shift 4; status=0\n\
               for id; do\n\
                 if [ \"$id\" = sha256:gone ]; then echo \"Error response from daemon: {complaint}: $id\" >&2; status=1\n\
                 else echo \"layers-of-$id\"; fi\n\
               done; exit $status ;;\n\
             esac\n"
        );
        std::fs::write(&docker, fake).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            folder.path().display(),
            std::env::var("PATH").unwrap()
        );
        std::process::Command::new("sh")
            .args(["-c", super::HOST_LAYERS_SCRIPT])
            .env("PATH", path)
            .output()
            .unwrap()
    }

    #[test]
    fn an_image_removed_between_listing_and_inspection_is_left_out() {
        let output = host_layers_with("No such image");
        assert!(output.status.success(), "{output:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "layers-of-sha256:kept\n"
        );
    }

    #[test]
    fn any_other_complaint_of_docker_fails_the_listing_with_its_words() {
        let output = host_layers_with("permission denied");
        assert!(!output.status.success());
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "layers-of-sha256:kept\n"
        );
        assert!(
            String::from_utf8_lossy(&output.stderr)
                .contains("Error response from daemon: permission denied: sha256:gone"),
            "{output:?}"
        );
    }

    use super::*;

    /// A layout with three layers, as `cairn build` writes its manifest.json and config.
    fn layout() -> tempfile::TempDir {
        let folder = tempfile::tempdir().unwrap();
        let blobs = folder.path().join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        for name in ["config", "a", "b", "c"] {
            std::fs::write(blobs.join(name), format!("blob {name}")).unwrap();
        }
        std::fs::write(
            blobs.join("config"),
            r#"{"rootfs":{"type":"layers","diff_ids":["sha256:1","sha256:2","sha256:3"]}}"#,
        )
        .unwrap();
        std::fs::write(
            folder.path().join("manifest.json"),
            r#"[{"Config":"blobs/sha256/config","RepoTags":["cairn/app:1"],"Layers":["blobs/sha256/a","blobs/sha256/b","blobs/sha256/c"]}]"#,
        )
        .unwrap();
        folder
    }

    fn members(archive: &LoadArchive) -> Vec<String> {
        tar::Archive::new(archive.tar.as_slice())
            .entries()
            .unwrap()
            .map(|entry| entry.unwrap().path().unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn only_the_layers_above_what_some_image_of_the_host_has_are_sent() {
        let layout = layout();
        let nothing = load_archive(layout.path(), "").unwrap();
        assert_eq!((nothing.layers_sent, nothing.layers_present), (3, 0));
        // One image shares the two bottom layers, another only the bottom one, a third
        // has the second layer over another bottom: the first counts.
        let host = "sha256:1 sha256:2 sha256:9\nsha256:1\nsha256:8 sha256:2 sha256:3\n";
        let partial = load_archive(layout.path(), host).unwrap();
        assert_eq!((partial.layers_sent, partial.layers_present), (1, 2));
        assert_eq!(
            members(&partial),
            ["manifest.json", "blobs/sha256/config", "blobs/sha256/c"]
        );
        assert_eq!(partial.layer_bytes_sent, "blob c".len() as u64);
        let whole = load_archive(layout.path(), "sha256:1 sha256:2 sha256:3\n").unwrap();
        assert_eq!((whole.layers_sent, whole.layers_present), (0, 3));
        assert_eq!(members(&whole), ["manifest.json", "blobs/sha256/config"]);
    }
}
