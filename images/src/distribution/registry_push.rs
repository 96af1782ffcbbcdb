//! Pushes an OCI image layout (as `cairn build` writes it) to a registry through the
//! registry HTTP API v2: each blob the registry lacks (asked with `HEAD`) is uploaded in
//! one `POST` + `PUT`, then the manifest is put under its tag. A second push of the same
//! image sends no blob.

use std::path::Path;

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// `registry/repository@sha256:...`: what a host pulls.
    pub pullable: String,
    pub manifest_digest: String,
    pub blobs_sent: usize,
    pub bytes_sent: u64,
    pub blobs_present: usize,
}

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("reading the image layout {folder}: {message}")]
    Layout { folder: String, message: String },
    #[error("the registry {registry} refused {action}: {message}")]
    Registry {
        registry: String,
        action: String,
        message: String,
    },
}

const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// Pushes the layout in `folder` to `registry` (`host:port`, plain HTTP, as the cluster's
/// registry is reached unless it serves TLS) as `repository:tag`.
pub fn push_layout(
    folder: &Path,
    registry: &str,
    repository: &str,
    tag: &str,
) -> Result<PushReport, PushError> {
    let layout = ImageLayout::read(folder)?;
    let api = RepositoryApi::new(registry, repository);
    let mut report = PushReport {
        pullable: format!("{registry}/{repository}@{}", layout.manifest_digest),
        manifest_digest: layout.manifest_digest.clone(),
        blobs_sent: 0,
        bytes_sent: 0,
        blobs_present: 0,
    };
    for digest in &layout.blob_digests {
        if api.has_blob(digest)? {
            report.blobs_present += 1;
            continue;
        }
        let upload = api.start_upload(digest)?;
        let bytes = layout.read_blob(digest)?;
        api.finish_upload(&upload, digest, &bytes)?;
        report.blobs_sent += 1;
        report.bytes_sent += bytes.len() as u64;
    }
    api.put_manifest(tag, &layout.manifest_bytes)?;
    Ok(report)
}

/// What a push reads of an OCI image layout before it talks to the registry: the manifest
/// `index.json` names, as its bytes (what the registry stores under the tag, so its digest
/// stays the one the layout gave), and the blobs it names.
struct ImageLayout<'folder> {
    folder: &'folder Path,
    manifest_digest: String,
    manifest_bytes: Vec<u8>,
    /// The config's digest, then each layer's, in the manifest's order.
    blob_digests: Vec<String>,
}

impl<'folder> ImageLayout<'folder> {
    /// Reads `index.json` and the manifest it names, refusing a layout that names no
    /// manifest, no config, or a layer without a digest before anything is sent.
    fn read(folder: &'folder Path) -> Result<ImageLayout<'folder>, PushError> {
        let index = read_json(folder, &folder.join("index.json"))?;
        let manifest_digest = index["manifests"][0]["digest"]
            .as_str()
            .ok_or_else(|| layout_error(folder, "index.json names no manifest".to_string()))?
            .to_string();
        let manifest_bytes = std::fs::read(blob_path(folder, &manifest_digest)?)
            .map_err(|error| layout_error(folder, format!("the manifest blob: {error}")))?;
        let manifest: serde_json::Value = serde_json::from_slice(&manifest_bytes)
            .map_err(|error| layout_error(folder, format!("the manifest: {error}")))?;
        let blob_digests = manifest_blob_digests(folder, &manifest)?;
        Ok(ImageLayout {
            folder,
            manifest_digest,
            manifest_bytes,
            blob_digests,
        })
    }

    /// The bytes of the blob `digest`, read only when the registry lacks it.
    fn read_blob(&self, digest: &str) -> Result<Vec<u8>, PushError> {
        std::fs::read(blob_path(self.folder, digest)?)
            .map_err(|error| layout_error(self.folder, format!("blob {digest}: {error}")))
    }
}

/// The error for a layout in `folder` that cannot be read as an image.
fn layout_error(folder: &Path, message: String) -> PushError {
    PushError::Layout {
        folder: folder.display().to_string(),
        message,
    }
}

/// A JSON document of the layout in `folder`; an error names the file.
fn read_json(folder: &Path, path: &Path) -> Result<serde_json::Value, PushError> {
    let bytes = std::fs::read(path)
        .map_err(|error| layout_error(folder, format!("{}: {error}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|error| layout_error(folder, format!("{}: {error}", path.display())))
}

/// Where the layout in `folder` keeps the blob `digest`: only a `sha256:` digest of 64
/// lowercase hexadecimal digits is taken, so a digest read from the layout's JSON cannot
/// name a path outside `blobs/sha256`.
fn blob_path(folder: &Path, digest: &str) -> Result<std::path::PathBuf, PushError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|hex| {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|digit| digit.is_ascii_digit() || (b'a'..=b'f').contains(&digit))
        })
        .ok_or_else(|| layout_error(folder, format!("`{digest}` is not a sha256 digest")))?;
    Ok(folder.join("blobs").join("sha256").join(hex))
}

/// The blobs `manifest` names: its config's digest, then each layer's, in order.
fn manifest_blob_digests(
    folder: &Path,
    manifest: &serde_json::Value,
) -> Result<Vec<String>, PushError> {
    let mut digests = vec![
        manifest["config"]["digest"]
            .as_str()
            .ok_or_else(|| layout_error(folder, "the manifest names no config".to_string()))?
            .to_string(),
    ];
    for layer in manifest["layers"].as_array().into_iter().flatten() {
        digests.push(
            layer["digest"]
                .as_str()
                .ok_or_else(|| layout_error(folder, "a layer without a digest".to_string()))?
                .to_string(),
        );
    }
    Ok(digests)
}

/// One repository of a registry, through the HTTP API v2, one request per step. The agent
/// turns no status into an error, so each step checks the status it expects and says
/// what the registry answered.
struct RepositoryApi<'registry> {
    agent: ureq::Agent,
    registry: &'registry str,
    /// `http://registry/v2/repository`, which every request's URL starts with.
    base: String,
}

impl<'registry> RepositoryApi<'registry> {
    fn new(registry: &'registry str, repository: &str) -> RepositoryApi<'registry> {
        RepositoryApi {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
            registry,
            base: format!("http://{registry}/v2/{repository}"),
        }
    }

    /// The error for a step (`action`) the registry refused or did not answer.
    fn refused(&self, action: String, message: String) -> PushError {
        PushError::Registry {
            registry: self.registry.to_string(),
            action,
            message,
        }
    }

    /// Whether the registry has the blob `digest` already (`HEAD` answers 200), so that a
    /// second push of the same image sends no blob.
    fn has_blob(&self, digest: &str) -> Result<bool, PushError> {
        let present = self
            .agent
            .head(&format!("{}/blobs/{digest}", self.base))
            .call()
            .map_err(|error| self.refused(format!("HEAD of blob {digest}"), error.to_string()))?;
        Ok(present.status() == 200)
    }

    /// Starts the upload of the blob `digest` (`POST`, answered 202) and gives the URL its
    /// bytes go to: the `Location` the registry answered, made absolute.
    fn start_upload(&self, digest: &str) -> Result<String, PushError> {
        let started = self
            .agent
            .post(&format!("{}/blobs/uploads/", self.base))
            .send_empty()
            .map_err(|error| self.refused(format!("the upload of {digest}"), error.to_string()))?;
        if started.status() != 202 {
            return Err(self.refused(
                format!("the upload of {digest}"),
                format!("it answered {}", started.status()),
            ));
        }
        let location = started
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| {
                self.refused(
                    format!("the upload of {digest}"),
                    "it gave no Location".to_string(),
                )
            })?;
        if location.starts_with("http://") || location.starts_with("https://") {
            Ok(location.to_string())
        } else {
            Ok(format!("http://{}{location}", self.registry))
        }
    }

    /// Sends the blob's `bytes` to the upload `location` in one `PUT` that names its
    /// digest, which ends the upload (answered 201).
    fn finish_upload(&self, location: &str, digest: &str, bytes: &[u8]) -> Result<(), PushError> {
        let separator = if location.contains('?') { '&' } else { '?' };
        let put = self
            .agent
            .put(&format!("{location}{separator}digest={digest}"))
            .header("Content-Type", "application/octet-stream")
            .send(bytes)
            .map_err(|error| self.refused(format!("blob {digest}"), error.to_string()))?;
        if put.status() != 201 {
            return Err(self.refused(
                format!("blob {digest}"),
                format!("it answered {}", put.status()),
            ));
        }
        Ok(())
    }

    /// Puts the manifest's bytes under `tag` (answered 201); a refusal carries the
    /// registry's answer, which says which blob or field it found wanting.
    fn put_manifest(&self, tag: &str, manifest_bytes: &[u8]) -> Result<(), PushError> {
        let put = self
            .agent
            .put(&format!("{}/manifests/{tag}", self.base))
            .header("Content-Type", MANIFEST_MEDIA_TYPE)
            .send(manifest_bytes)
            .map_err(|error| self.refused("the manifest".to_string(), error.to_string()))?;
        if put.status() != 201 {
            let status = put.status();
            let body = put.into_body().read_to_string().unwrap_or_default();
            return Err(self.refused(
                "the manifest".to_string(),
                format!("it answered {status}: {body}"),
            ));
        }
        Ok(())
    }
}
