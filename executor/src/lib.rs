//! The cairn executor: applies a lockfile to its hosts.
//!
//! Design notes:
//! - Reads a [`cairn_lockfiles::Lockfile`] and nothing else; never depends on the compiler.
//! - Images are the images crate's: an image node builds and pushes through
//!   `cairn_images::build_and_push`, a container node sends what its host lacks as
//!   `cairn_images` archives it. The executor decides when, and carries the bytes over
//!   its transports; it reads no `.deb` and writes no tar.
//! - Everything on a host is a shell script over a [`transport::Transport`] (`local` or
//!   `ssh`), with data (file content, secrets) on stdin only.
//! - Each host keeps one state entry per applied node (`state.rs`), written atomically
//!   right after the node ran; a per-host `flock` (`host_lock.rs`) keeps applies apart.
//! - `facts` → `plan` (pure: what runs and why, what is skipped, what is orphaned) →
//!   `rollout` (the order of each container's replacements, asking the hosts that decide
//!   it) → `scheduler` (dependencies first, parallel, failures contained; replacements in
//!   their rollout's window, each gated by its health nodes) → report. The same
//!   facts → `applied_diff` (pure: the lockfile against what each host recorded).
//! - A [`Selection`] (`--limit`, `--skip-kind`) holds back what is outside it: not run,
//!   not recorded, left for the next apply.
//! - A host may have a `root` prefix: its files and state live under it, so several test
//!   hosts share one machine.

mod applied_diff;
mod apply;
mod confined_folder;
mod container_names;
mod facts;
mod facts_error;
mod files_in_turn;
mod host_lock;
mod host_paths;
mod image_pruning;
mod kinds;
mod late_push;
mod left_drained;
mod plan;
mod probe;
mod releases;
mod report;
mod rollout;
mod rollout_turn;
mod rollout_window;
mod scheduler;
mod secrets;
mod selection;
mod shell;
mod state;
#[cfg(test)]
mod test_lockfiles;
pub mod transport;

pub use applied_diff::{
    AppliedChange, AppliedDiff, ChangeCause, FileDrift, HostAppliedDiff, diff_applied,
};
pub use apply::{ApplyOptions, ApplySession, plan_lockfile, transport_for};
pub use facts_error::FactsError;
pub use host_paths::HostPaths;
pub use plan::{Decision, HeldBack, HostPlan, Plan, Reason};
pub use report::{ApplyReport, ContainerPruning, HostReport, NodeOutcome, NodeTiming};
pub use rollout::RolloutPlan;
pub use selection::Selection;
pub use transport::SshOptions;
