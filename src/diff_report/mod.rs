//! The three faces of a [`cairn_lockfiles::LockfileDiff`] that `cairn diff` prints: text for
//! people (coloured on a terminal), JSON for programs, and counts per host and kind.

mod json;
mod palette;
mod stat;
mod text;

pub use json::diff_json;
pub use palette::Palette;
pub use stat::diff_stat;
pub use text::diff_text;
