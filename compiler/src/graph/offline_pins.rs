//! What pinning does when the sources' indexes cannot be fetched, for images and host
//! package nodes alike: an unreachable repository keeps each request's previous pins,
//! with a note, so a compile without network still succeeds while nothing changed; any
//! other error (an index that does not match its Release) keeps none. Whatever is left
//! unpinned is named in one error.

use cairn_debian::FetchError;

use crate::diagnostic::Diagnostic;
use crate::graph::package_sources::{PackageSources, fetch_diagnostic};
use crate::graph::previous_pins::PreviousPins;
use crate::spec::ClusterSpec;

/// The requests a failed fetch has been through so far: the subjects left unpinned, and
/// whether any of them had previous pins the error did not keep.
pub struct OfflinePins<'a> {
    error: &'a FetchError,
    previous: Option<&'a PreviousPins>,
    unpinned: Vec<String>,
    had_pins: bool,
}

impl<'a> OfflinePins<'a> {
    pub fn new(error: &'a FetchError, previous: Option<&'a PreviousPins>) -> Self {
        Self {
            error,
            previous,
            unpinned: Vec::new(),
            had_pins: false,
        }
    }

    /// The pins of `subject` (such as "image `haproxy`") without the indexes: its
    /// `previous_pins` where the repository is unreachable, with a note; else none, and
    /// `subject` is left unpinned.
    pub fn keep<P>(
        &mut self,
        subject: String,
        previous_pins: Option<P>,
        notes: &mut Vec<String>,
    ) -> Option<P> {
        match previous_pins {
            Some(pins) if self.error.is_unreachable() => {
                notes.push(format!(
                    "kept the pins of {} for {subject}: {}",
                    PreviousPins::name_of(self.previous),
                    self.error
                ));
                Some(pins)
            }
            previous_pins => {
                self.had_pins |= previous_pins.is_some();
                self.unpinned.push(subject);
                None
            }
        }
    }

    /// The error naming every subject left unpinned, at the spec's source line; none
    /// where each kept its pins.
    pub fn diagnostic(&self, spec: &ClusterSpec, sources: &PackageSources) -> Option<Diagnostic> {
        (!self.unpinned.is_empty())
            .then(|| fetch_diagnostic(spec, &self.unpinned, sources, self.error, self.had_pins))
    }
}
