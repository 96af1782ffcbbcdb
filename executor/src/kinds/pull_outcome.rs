//! What became of pulling a container's image from the cluster's registry. Unless it was
//! pulled, the image is sent over the transport, and the node's summary says why not.

use std::fmt;

use cairn_images::distribution::registry_push::PushError;

/// The outcome of pulling a container's image on its host.
#[derive(Debug)]
pub enum PullOutcome {
    /// Pulled by digest as `pullable`, and tagged as apply names it.
    Pulled { pullable: String },
    /// No pull was tried: no registry, or an image cairn did not build and never pushed.
    NotTried,
    /// cairn built the image, but could not push it to `registry`.
    NotPushed { registry: String, error: PushError },
    /// The host could not pull it (the registry does not answer it, say).
    PullFailed { pullable: String, output: String },
    /// The pull of an image recorded as pushed failed (a registry that lost its data), and
    /// pushing it again failed too.
    PushAgainFailed {
        pullable: String,
        output: String,
        registry: String,
        error: PushError,
    },
}

impl PullOutcome {
    pub fn pulled(&self) -> bool {
        matches!(self, PullOutcome::Pulled { .. })
    }
}

/// What the node's summary says of it, after `started {name} from {tag}`.
impl fmt::Display for PullOutcome {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PullOutcome::Pulled { pullable } => write!(formatter, " (image pulled as {pullable})"),
            PullOutcome::NotTried => Ok(()),
            PullOutcome::NotPushed { registry, error } => {
                write!(formatter, " (not pushed to {registry}: {error})")
            }
            PullOutcome::PullFailed { pullable, output } => {
                write!(formatter, " (pulling {pullable} failed: {output})")
            }
            PullOutcome::PushAgainFailed {
                pullable,
                output,
                registry,
                error,
            } => write!(
                formatter,
                " (pulling {pullable} failed: {output}) (pushed to {registry} again: {error})"
            ),
        }
    }
}
