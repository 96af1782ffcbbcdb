//! What every image records of the cluster's settings, set on each image node between
//! emitting and hashing, so it is among the image's inputs: its layers' compression
//! (`[images] compression` and `compression_level`: a change of compressor or level is a
//! new image), and the registry apply pushes it to and the hosts pull it from (`[images] registry`,
//! else host-base's `[registry] address`, the registry every host's Docker trusts).

use cairn_lockfiles::{LayerCompression, NodeSpec};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::graph::emit::EmittedNode;
use crate::module::setting::SettingValue;
use crate::spec::ClusterSpec;

/// Sets the compression and registry of every image of `nodes`; a level the compressor
/// does not take is an error at the spec's line.
pub fn set_image_settings(
    spec: &ClusterSpec,
    nodes: &mut [EmittedNode<'_>],
) -> Result<(), Diagnostics> {
    let Some(section) = spec.sections.get("images") else {
        return Ok(());
    };
    let setting = |section: &str, key: &str| match spec
        .sections
        .get(section)
        .and_then(|values| values.values.get(key))
    {
        Some(SettingValue::String(value)) => Some(value.clone()),
        _ => None,
    };
    let registry = setting("images", "registry").or_else(|| setting("registry", "address"));
    let name = match section.values.get("compression") {
        Some(SettingValue::String(name)) => name.as_str(),
        _ => "gzip",
    };
    let level = match section.values.get("compression_level") {
        Some(SettingValue::Integer(level)) => Some(*level),
        _ => None,
    };
    let compression = LayerCompression::new(name, level).map_err(|message| {
        let key = if level.is_some() {
            "compression_level"
        } else {
            "compression"
        };
        let mut diagnostics = Diagnostics::default();
        diagnostics.push(
            Diagnostic::new(format!("`{key}` in [images]: {message}"))
                .at(&spec.source, &spec.setting_span("images", key, None))
                .hint("gzip takes levels 0 to 9, zstd 1 to 22; leave the level out for the compressor's default"),
        );
        diagnostics
    })?;
    for node in nodes.iter_mut() {
        if let NodeSpec::Image(image) = &mut node.spec {
            image.compression = compression;
            image.registry = registry.clone();
        }
    }
    Ok(())
}
