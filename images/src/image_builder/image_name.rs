//! What an image node's image is called: `cairn/<name>` in a registry, tagged with the
//! node's id, so a changed definition is a new image and an unchanged one is found again.

use std::fmt::Display;

/// `cairn/<name>`: the repository an image is pushed to.
pub fn image_repository(name: &str) -> String {
    format!("cairn/{name}")
}

/// `cairn/<name>:<id>`: the tag an image node is built, loaded and found under.
pub fn image_tag(name: &str, id: &impl Display) -> String {
    format!("cairn/{name}:{id}")
}
