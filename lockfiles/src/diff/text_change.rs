use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::content::{ContentHash, Text};

/// Two versions of a rendered text (a config file, a Dockerfile, an entrypoint script) and
/// the unified diff between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextChange {
    pub old: Text,
    pub new: Text,
    /// The hunks of a unified diff (`@@ -a,b +c,d @@`, then lines prefixed with ` `, `-` or
    /// `+`), with three lines of context and no file header.
    pub unified: Arc<str>,
}

/// Diffs computed so far, by the pair of texts: one template change shared by ten thousand
/// hosts (the same `/etc/hosts` everywhere) is one `Text` pair, diffed once.
#[derive(Debug, Default)]
pub(crate) struct TextDiffCache {
    diffs: HashMap<(ContentHash, ContentHash), Arc<str>>,
}

impl TextDiffCache {
    pub(crate) fn change(&mut self, old: &Text, new: &Text) -> TextChange {
        let unified = self
            .diffs
            .entry((old.hash(), new.hash()))
            .or_insert_with(|| unified_diff(old.as_str(), new.as_str()))
            .clone();
        TextChange {
            old: old.clone(),
            new: new.clone(),
            unified,
        }
    }
}

/// Myers' diff by lines. The deadline bounds a pathological pair of large texts: past it,
/// `similar` gives a coarser but still correct diff rather than taking seconds.
fn unified_diff(old: &str, new: &str) -> Arc<str> {
    let diff = similar::TextDiff::configure()
        .timeout(Duration::from_millis(500))
        .diff_lines(old, new);
    diff.unified_diff().context_radius(3).to_string().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_is_one_hunk_with_its_context() {
        let mut cache = TextDiffCache::default();
        let change = cache.change(&Text::new("a\nb\nc\nd\n"), &Text::new("a\nb\nC\nd\n"));
        assert_eq!(&*change.unified, "@@ -1,4 +1,4 @@\n a\n b\n-c\n+C\n d\n");
    }
}
