//! The cluster spec: one TOML file holding everything an install needs.
//!
//! `[cluster]`, `[hosts.<name>]` and `[rollouts.<container>]` are fixed; every other table is a settings section
//! declared by a module (`[zookeeper]`, `[preflight]`, `[repository]`), checked against
//! that module's schema, defaults filled in. Every error names file, line and column.

mod cluster_spec;
mod cluster_table;
mod host_table;
mod module_selection;
mod parse;
mod rollout_overrides;
mod settings_sections;
mod stray_sections;

pub use cluster_spec::{ClusterSpec, HostSpec, SectionValues};
pub use parse::parse_spec;
pub use rollout_overrides::RolloutOverride;
