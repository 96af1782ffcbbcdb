//! "Did you mean" hints: the nearest name and the list of names are the Debian crate's,
//! whose resolver suggests package names the same way.

pub use cairn_debian::suggestion::{backticked, nearest};

/// `did you mean `x`?` for the nearest candidate, else the list of valid ones.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Option<String> {
    if let Some(best) = nearest(word, candidates.clone()) {
        return Some(format!("did you mean `{best}`?"));
    }
    let all = backticked(candidates);
    if all.is_empty() {
        None
    } else {
        Some(format!("expected one of {all}"))
    }
}
