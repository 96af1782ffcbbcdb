//! The cairn compiler: one cluster spec in, one validated lockfile out.
//!
//! Design notes:
//! - Data flow: spec text → [`spec::parse_spec`] (checked against the modules' settings
//!   schemas) → secrets fingerprinted → every module declaration rendered with minijinja
//!   (`graph::emit`) → images' packages pinned (`graph::image_pins`, through the Debian
//!   crate's index fetcher and resolver) → dependencies resolved (`graph::dependencies`) →
//!   the lockfile crate checks the graph and computes the Merkle ids.
//! - Everything the compiler reads is a [`SourceFile`]; every error is a [`Diagnostic`]
//!   pointing into one, with a hint where the fix is known. A compile reports as many
//!   problems as it can find at once.
//! - Determinism: hosts, modules, sections and nodes are walked in sorted order; rendered
//!   text depends only on the spec and the modules; nothing about the compiling machine
//!   (paths, time, names) reaches the lockfile.
//! - The compiler never touches a host. The executor never imports the compiler. Debian's
//!   formats and apt's choices are `cairn-debian`'s; the compiler only decides when to pin.

mod compile;
pub mod diagnostic;
#[cfg(test)]
mod fuzz;
mod graph;
pub mod module;
mod previous_lockfile;
mod render;
mod secrets;
pub mod source_file;
pub mod spec;
pub mod spec_reading;
mod suggest;
mod toml_reader;

pub use compile::{
    CompileOptions, Compiled, PinUpdate, compile, compile_source, compile_with_pins,
};
pub use diagnostic::{CompileError, Diagnostic, Location};
pub use module::library::ModuleLibrary;
pub use previous_lockfile::PreviousLockfile;
pub use source_file::SourceFile;
