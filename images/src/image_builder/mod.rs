//! cairn's own image builder: layers written by cairn (sorted paths, fixed owners, modes
//! and mtimes, the compressor and its level chosen), an OCI image layout that `docker load`
//! also takes. No Docker daemon, no RUN step: the same inputs give the same digests on any
//! machine.
//!
//! An image is its pinned Debian packages (`cairn_debian::read_debian_package`: unpacked,
//! never configured), grouped into layers; what their maintainer scripts would have made
//! that the image needs (`maintainer_scripts`); one layer per artifact; and the module's
//! files as the top layer.

pub mod build;
pub mod built_record;
mod image_name;
pub mod layer;
pub mod maintainer_scripts;
pub mod oci_layout;

pub use image_name::{image_repository, image_tag};
