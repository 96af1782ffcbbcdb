//! The dcos-ha example's hosts cloned to any number: the platform's real shape (every
//! module, pinned images and host packages) at scale. The example's 11 hosts are kept as
//! they are (masters, load balancers, databases, the control host and three agents, ids
//! where their modules number them); the clones are agents shaped as the example's
//! (`agent1`'s roles, `agent2`'s, `agent3`'s in turn: the hosts a platform grows by, and
//! the only ones whose modules need no host id, which stops at 255). The example's
//! lockfile is laid beside the spec as the previous one, so its pins are kept and nothing
//! is fetched: `restore_previous_lockfile` puts it back before each compile.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::common::copy_folder;

/// The spec's folder inside `folder`: `dcos-ha/`, beside the shared `modules/`.
pub fn spec_folder(folder: &Path) -> PathBuf {
    folder.join("dcos-ha")
}

/// Writes the example's spec with `hosts` hosts into `spec_folder(folder)`, with its
/// secrets and its lockfile, and `examples/modules` as `folder/modules`.
pub fn write_cluster(folder: &Path, hosts: usize) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let spec = spec_folder(folder);
    copy_folder(&examples.join("modules"), &folder.join("modules"));
    copy_folder(&examples.join("dcos-ha/secrets"), &spec.join("secrets"));
    let text = std::fs::read_to_string(examples.join("dcos-ha/cluster.toml")).expect("the example");
    std::fs::write(spec.join("cluster.toml"), with_clones(&text, hosts)).expect("a spec");
    restore_previous_lockfile(folder);
}

/// The example's lockfile as the previous one: its pins, so compile fetches nothing.
pub fn restore_previous_lockfile(folder: &Path) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    std::fs::copy(
        examples.join("dcos-ha/cluster.lock"),
        spec_folder(folder).join("cluster.lock"),
    )
    .expect("the example's lockfile");
}

/// The example's spec with agents added after its hosts up to `hosts` in all, and NTP's
/// `allow` widened to the network they are on.
fn with_clones(text: &str, hosts: usize) -> String {
    const ORIGINAL_HOSTS: usize = 11;
    const SHAPES: [&str; 3] = ["[\"agent\", \"console\"]", "[\"agent\"]", "[\"agent\"]"];
    let mut clones = String::new();
    for index in 0..hosts.saturating_sub(ORIGINAL_HOSTS) {
        let _ = writeln!(
            clones,
            "[hosts.clone{index:05}]\naddress = \"10.10.{}.{}\"\nroles = {}\n",
            1 + index / 250,
            1 + index % 250,
            SHAPES[index % SHAPES.len()]
        );
    }
    let marker = "# The control host serves these three to every other host.";
    assert!(
        text.contains(marker),
        "the example's spec has changed its layout"
    );
    text.replacen(marker, &format!("{clones}{marker}"), 1)
        .replacen(
            "allow = [\"10.10.0.0/24\"]",
            "allow = [\"10.10.0.0/16\"]",
            1,
        )
}
