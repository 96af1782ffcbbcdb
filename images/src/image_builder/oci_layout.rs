//! An image written as an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`),
//! with Docker's `manifest.json` beside `index.json`, so `docker load` takes the folder
//! (as a tar stream) as well as any OCI tool. Every JSON document is written with sorted
//! keys: the same image gives the same bytes and digests.

use std::path::Path;

use cairn_lockfiles::write_atomically;
use serde_json::{Value, json};

use crate::image_builder::layer::{LayerBlob, sha256_digest};

/// The runtime config of an image: what `docker run` starts and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `KEY=value`, in the order given.
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub healthcheck: Option<cairn_lockfiles::ImageHealthcheck>,
    /// The OCI architecture (`amd64`, `arm64`): the one the packages were pinned for.
    pub architecture: String,
}

/// A written image: the digest of its manifest (what a registry and `docker pull` name it
/// by) and of its config (Docker's image id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenImage {
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer_digests: Vec<String>,
}

const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The image's creation time: the epoch, as every member's mtime; an image says nothing of
/// when it was built.
const CREATED: &str = "1970-01-01T00:00:00Z";

/// Writes the image made of `layers` (bottom first) and `config` into `folder` (created if
/// missing), tagged `reference` (`cairn/haproxy:<id>`) for `docker load`.
pub fn write_layout(
    folder: &Path,
    reference: &str,
    layers: &[LayerBlob],
    config: &RuntimeConfig,
) -> std::io::Result<WrittenImage> {
    let blobs = folder.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs)?;
    for layer in layers {
        write_blob(&blobs, &layer.bytes)?;
    }
    let config_bytes = canonical_json(&image_config(layers, config));
    let config_digest = write_blob(&blobs, &config_bytes)?;
    let manifest_bytes = canonical_json(&image_manifest(&config_digest, &config_bytes, layers));
    let manifest_digest = write_blob(&blobs, &manifest_bytes)?;

    write_atomically(
        &folder.join("oci-layout"),
        &canonical_json(&json!({ "imageLayoutVersion": "1.0.0" })),
    )?;
    write_atomically(
        &folder.join("index.json"),
        &canonical_json(&image_index(&manifest_digest, &manifest_bytes, reference)),
    )?;
    write_atomically(
        &folder.join("manifest.json"),
        &canonical_json(&docker_manifest(&config_digest, reference, layers)),
    )?;
    Ok(WrittenImage {
        manifest_digest,
        config_digest,
        layer_digests: layers.iter().map(|layer| layer.digest.clone()).collect(),
    })
}

/// Writes `bytes` into the blob folder `blobs` under their digest, which it gives back.
/// A blob already there is left as it is: the same digest is the same bytes.
fn write_blob(blobs: &Path, bytes: &[u8]) -> std::io::Result<String> {
    let digest = sha256_digest(bytes);
    let path = blobs.join(digest.trim_start_matches("sha256:"));
    if !path.exists() {
        write_atomically(&path, bytes)?;
    }
    Ok(digest)
}

/// The image config: the platform, the runtime config, and the layers' uncompressed
/// digests (`diff_ids`), each layer's history dated [`CREATED`].
fn image_config(layers: &[LayerBlob], config: &RuntimeConfig) -> Value {
    json!({
        "architecture": config.architecture,
        "os": "linux",
        "created": CREATED,
        "config": runtime_config(config),
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|layer| layer.diff_id.clone()).collect::<Vec<_>>(),
        },
        "history": layers.iter().map(|_| json!({ "created": CREATED, "created_by": "cairn" })).collect::<Vec<_>>(),
    })
}

/// The image config's `config` object, in Docker's field names; a field the image does
/// not set is left out rather than written empty.
fn runtime_config(config: &RuntimeConfig) -> Value {
    let mut runtime = serde_json::Map::new();
    let strings = |items: &[String]| Value::from(items.to_vec());
    let set = |items: &[String]| {
        Value::Object(items.iter().map(|item| (item.clone(), json!({}))).collect())
    };
    if !config.entrypoint.is_empty() {
        runtime.insert("Entrypoint".into(), strings(&config.entrypoint));
    }
    if !config.cmd.is_empty() {
        runtime.insert("Cmd".into(), strings(&config.cmd));
    }
    if !config.env.is_empty() {
        runtime.insert("Env".into(), strings(&config.env));
    }
    if let Some(user) = &config.user {
        runtime.insert("User".into(), Value::from(user.clone()));
    }
    if let Some(workdir) = &config.workdir {
        runtime.insert("WorkingDir".into(), Value::from(workdir.clone()));
    }
    if !config.exposed_ports.is_empty() {
        runtime.insert("ExposedPorts".into(), set(&config.exposed_ports));
    }
    if !config.volumes.is_empty() {
        runtime.insert("Volumes".into(), set(&config.volumes));
    }
    if let Some(healthcheck) = &config.healthcheck {
        runtime.insert("Healthcheck".into(), docker_healthcheck(healthcheck));
    }
    Value::Object(runtime)
}

/// Docker's own `Healthcheck` field of the config (the OCI spec has none): durations in
/// nanoseconds, the command run directly (`CMD`, not `CMD-SHELL`).
fn docker_healthcheck(healthcheck: &cairn_lockfiles::ImageHealthcheck) -> Value {
    let nanoseconds = |seconds: u32| u64::from(seconds) * 1_000_000_000;
    let mut test = vec!["CMD".to_string()];
    test.extend(healthcheck.command.iter().cloned());
    json!({
        "Test": test,
        "Interval": nanoseconds(healthcheck.interval_seconds),
        "Timeout": nanoseconds(healthcheck.timeout_seconds),
        "StartPeriod": nanoseconds(healthcheck.start_period_seconds),
        "Retries": healthcheck.retries,
    })
}

/// The image manifest: the config blob and each layer's blob, as a registry stores them.
fn image_manifest(config_digest: &str, config_bytes: &[u8], layers: &[LayerBlob]) -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": CONFIG_MEDIA_TYPE,
            "digest": config_digest,
            "size": config_bytes.len(),
        },
        "layers": layers.iter().map(|layer| json!({
            "mediaType": layer.media_type,
            "digest": layer.digest,
            "size": layer.bytes.len(),
        })).collect::<Vec<_>>(),
    })
}

/// The layout's `index.json`: its one manifest, named `reference` for containerd and by
/// the reference's tag for OCI tools.
fn image_index(manifest_digest: &str, manifest_bytes: &[u8], reference: &str) -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": MANIFEST_MEDIA_TYPE,
            "digest": manifest_digest,
            "size": manifest_bytes.len(),
            "annotations": {
                "io.containerd.image.name": reference,
                "org.opencontainers.image.ref.name": reference.rsplit_once(':').map_or(reference, |(_, tag)| tag),
            },
        }],
    })
}

/// Docker's own description of the same image, as `docker save` writes it
/// (`manifest.json`): what `docker load` reads, tagged `reference`.
fn docker_manifest(config_digest: &str, reference: &str, layers: &[LayerBlob]) -> Value {
    json!([{
        "Config": format!("blobs/sha256/{}", config_digest.trim_start_matches("sha256:")),
        "RepoTags": [reference],
        "Layers": layers.iter().map(|layer| format!("blobs/sha256/{}", layer.digest.trim_start_matches("sha256:"))).collect::<Vec<_>>(),
    }])
}

/// JSON with every object's keys sorted and no whitespace, whatever order the map type
/// keeps (serde_json keeps insertion order when a crate turns on `preserve_order`).
pub fn canonical_json(value: &Value) -> Vec<u8> {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|key| (key.clone(), sorted(&map[key])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_vec(&sorted(value)).expect("a JSON value always serialises")
}
