//! The three faces of a [`cairn_lockfiles::LockfileDiff`] that `cairn diff` prints: text for
//! people (coloured on a terminal), JSON for programs, and counts per host and kind; and
//! the same three of a [`cairn_executor::AppliedDiff`] (`cairn diff --applied`), which
//! share their blast radius, JSON impact and count table.

mod applied_json;
mod applied_stat;
mod applied_text;
mod json;
mod order_changes;
mod palette;
mod rollouts;
mod stat;
mod text;

pub use applied_json::applied_diff_json;
pub use applied_stat::applied_diff_stat;
pub use applied_text::applied_diff_text;
pub use json::diff_json;
pub use palette::Palette;
pub use rollouts::policy_json;
pub use stat::diff_stat;
pub use text::diff_text;
