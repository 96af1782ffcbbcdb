//! From a checked spec to a validated lockfile.
//!
//! `emit` renders every module's declarations: images once for the cluster, nodes once per
//! host the module applies to (and per `for_each` item where `when` holds). `package_pins`
//! pins the images' and the host package nodes' packages where the spec names package
//! sources (`image_pins`, `host_pins`, against `package_sources`; an unreachable
//! repository keeps the previous pins, `offline_pins`). `dependencies`
//! resolves each declared dependency to node names, on the same host, the cluster, or every
//! host of a role; `barriers` adds one barrier node per host for what many of its nodes wait
//! for (its checks, its Docker being ready). `build` hands the nodes to the lockfile crate, which checks the graph and
//! computes the Merkle ids, and turns a cycle into an error pointing at the manifest lines
//! that declared it; two modules wanting one port on one host are reported by
//! `claim_conflict` at the spec's settings that decide it. `rollouts` gives the lockfile
//! each container's rollout policy: the module's `[node.rollout]` and the spec's
//! `[rollouts.NAME]` over the defaults.

mod barriers;
mod build;
mod claim_conflict;
mod dependencies;
mod emit;
mod emit_hosts;
mod host_pins;
mod image_pins;
mod image_settings;
mod offline_pins;
mod package_pins;
mod package_sources;
mod previous_pins;
mod rollouts;
mod spec_origin;

pub use build::build_lockfile;
pub use image_pins::PinningOptions;
