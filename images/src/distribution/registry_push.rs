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
    let layout_error = |message: String| PushError::Layout {
        folder: folder.display().to_string(),
        message,
    };
    let read_json = |path: &Path| -> Result<serde_json::Value, PushError> {
        let bytes = std::fs::read(path)
            .map_err(|error| layout_error(format!("{}: {error}", path.display())))?;
        serde_json::from_slice(&bytes)
            .map_err(|error| layout_error(format!("{}: {error}", path.display())))
    };
    let blob_path = |digest: &str| -> Result<std::path::PathBuf, PushError> {
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|hex| {
                hex.len() == 64
                    && hex
                        .bytes()
                        .all(|digit| digit.is_ascii_digit() || (b'a'..=b'f').contains(&digit))
            })
            .ok_or_else(|| layout_error(format!("`{digest}` is not a sha256 digest")))?;
        Ok(folder.join("blobs").join("sha256").join(hex))
    };
    let index = read_json(&folder.join("index.json"))?;
    let manifest_digest = index["manifests"][0]["digest"]
        .as_str()
        .ok_or_else(|| layout_error("index.json names no manifest".to_string()))?
        .to_string();
    let manifest_bytes = std::fs::read(blob_path(&manifest_digest)?)
        .map_err(|error| layout_error(format!("the manifest blob: {error}")))?;
    let manifest: serde_json::Value = serde_json::from_slice(&manifest_bytes)
        .map_err(|error| layout_error(format!("the manifest: {error}")))?;
    let mut digests = vec![
        manifest["config"]["digest"]
            .as_str()
            .ok_or_else(|| layout_error("the manifest names no config".to_string()))?
            .to_string(),
    ];
    for layer in manifest["layers"].as_array().into_iter().flatten() {
        digests.push(
            layer["digest"]
                .as_str()
                .ok_or_else(|| layout_error("a layer without a digest".to_string()))?
                .to_string(),
        );
    }

    let base = format!("http://{registry}/v2/{repository}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let refused = |action: String, message: String| PushError::Registry {
        registry: registry.to_string(),
        action,
        message,
    };
    let mut report = PushReport {
        pullable: format!("{registry}/{repository}@{manifest_digest}"),
        manifest_digest: manifest_digest.clone(),
        blobs_sent: 0,
        bytes_sent: 0,
        blobs_present: 0,
    };
    for digest in &digests {
        let present = agent
            .head(&format!("{base}/blobs/{digest}"))
            .call()
            .map_err(|error| refused(format!("HEAD of blob {digest}"), error.to_string()))?;
        if present.status() == 200 {
            report.blobs_present += 1;
            continue;
        }
        let started = agent
            .post(&format!("{base}/blobs/uploads/"))
            .send_empty()
            .map_err(|error| refused(format!("the upload of {digest}"), error.to_string()))?;
        if started.status() != 202 {
            return Err(refused(
                format!("the upload of {digest}"),
                format!("it answered {}", started.status()),
            ));
        }
        let location = started
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| {
                refused(
                    format!("the upload of {digest}"),
                    "it gave no Location".to_string(),
                )
            })?;
        let location = if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("http://{registry}{location}")
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let bytes = std::fs::read(blob_path(digest)?)
            .map_err(|error| layout_error(format!("blob {digest}: {error}")))?;
        let put = agent
            .put(&format!("{location}{separator}digest={digest}"))
            .header("Content-Type", "application/octet-stream")
            .send(&bytes[..])
            .map_err(|error| refused(format!("blob {digest}"), error.to_string()))?;
        if put.status() != 201 {
            return Err(refused(
                format!("blob {digest}"),
                format!("it answered {}", put.status()),
            ));
        }
        report.blobs_sent += 1;
        report.bytes_sent += bytes.len() as u64;
    }
    let put = agent
        .put(&format!("{base}/manifests/{tag}"))
        .header("Content-Type", MANIFEST_MEDIA_TYPE)
        .send(&manifest_bytes[..])
        .map_err(|error| refused("the manifest".to_string(), error.to_string()))?;
    if put.status() != 201 {
        let status = put.status();
        let body = put.into_body().read_to_string().unwrap_or_default();
        return Err(refused(
            "the manifest".to_string(),
            format!("it answered {status}: {body}"),
        ));
    }
    Ok(report)
}
