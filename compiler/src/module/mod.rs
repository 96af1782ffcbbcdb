//! Modules as data: a folder with a `module.toml` manifest and minijinja templates.
//!
//! A manifest declares the roles it applies to, the settings it accepts (a schema per spec
//! section, so the spec is checked and documented from the modules themselves), the images
//! it defines (`[[image]]`, built once per cluster) and the nodes it emits on each host it
//! applies to (`[[node]]`, with `when`, `for_each`, `deps` (some of them `order_only`:
//! waited for, outside the node's id), and the barriers it waits for:
//! `barrier_declaration.rs`; a container's rollout: `rollout_declaration.rs`). The built-in modules are
//! embedded in the binary; a spec loads more from its own folders in the same format.

pub mod barrier_declaration;
pub mod claim;
pub mod host_priorities;
pub mod library;
pub mod manifest;
pub mod node_declaration;
pub mod reference;
pub mod requirement;
pub mod rollout_declaration;
pub mod setting;
pub mod setting_check;
pub mod shell_contexts;
pub mod size;
pub mod text_grammar;
pub mod text_type;
