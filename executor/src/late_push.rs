//! Pushes left for the end of an apply. On a first install the images are built before the
//! cluster's registry runs (it runs from an image of its own), so their nodes cannot push
//! them; the container nodes of hosts that pull from the registry push what they need once
//! it answers (`kinds::container`). What no such node needed (the control host's own
//! images) is pushed here, once the rest of the apply is done, so that the next apply
//! finds every image in the registry and has nothing left to do.

use cairn_images::image_builder::built_record::{BuildSlot, built_layout, pushed_as};
use cairn_images::push_once;
use cairn_lockfiles::{Lockfile, NodeSpec};

use crate::report::NodeOutcome;

/// For each image node that ran in this apply, built with a registry it is not recorded in
/// yet: pushes it now, and says so in its summary. A registry that still does not answer
/// leaves it for the next apply, as before.
pub fn push_late<Timing>(
    lockfile: &Lockfile,
    outcomes: &mut [(cairn_lockfiles::NodeName, NodeOutcome, Timing)],
) {
    for (name, outcome, _) in outcomes.iter_mut() {
        let NodeOutcome::Ran(summary) = outcome else {
            continue;
        };
        let Some(node) = lockfile.node(name) else {
            continue;
        };
        let NodeSpec::Image(image) = &*node.spec else {
            continue;
        };
        let Some(registry) = &image.registry else {
            continue;
        };
        let slot = BuildSlot::for_apply(&image.name, &node.id);
        if built_layout(&slot, &node.id).is_none() || pushed_as(&slot, &node.id, registry).is_some()
        {
            continue;
        }
        if push_once(&slot, &image.name, &node.id, registry, false).is_ok() {
            summary.push_str(&format!("; pushed to {registry} once it answered"));
        }
    }
}
