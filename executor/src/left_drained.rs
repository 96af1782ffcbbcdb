//! A host a rollout drained, until it is undrained: the record that puts it back in
//! service if the apply stops in between.
//!
//! A replacement's turn drains its host (the rollout policy's `drain`: HAProxy's makes
//! keepalived hand the VIP to the peer) and undrains it at the end, whatever came of the
//! replacement. An apply killed in between (or an undrain that failed) would leave the host
//! drained, out of service and out of failover, until some later apply replaced the same
//! container again; rolling back to a lockfile where that container is unchanged never
//! would. So the turn records the undrain on the host before it drains, in the same
//! script, and forgets it in the undrain's script once the undrain succeeded. The host's
//! facts list the records left (`facts.rs`); `cairn plan` shows them, and `cairn apply`
//! runs each first, before any node of the host.
//!
//! A record is `/var/lib/cairn/drained/<hash of the node name>`: a comment line naming the
//! node, then the undrain as the turn would have run it (the module environment, bounded
//! by the rollout's deadline). No secret is in it: a drain has only the module
//! environment.

use cairn_lockfiles::NodeName;

use crate::confined_folder::{make_confined_folder, refuse_linked_folders};
use crate::host_paths::HostPaths;
use crate::shell::quote;
use crate::state::StateEntry;
use crate::transport::Transport;

/// The folder of records, as a path of the lockfile (under the host's root).
const DRAINED_FOLDER: &str = "/var/lib/cairn/drained";

/// The host path of the record of node `name`.
fn record_path(name: &NodeName, paths: &HostPaths) -> String {
    format!(
        "{}/{}",
        paths.path(DRAINED_FOLDER),
        StateEntry::name_hash(name)
    )
}

/// Shell lines (under `set -eu`) recording that node `name`'s turn drained its host, with
/// `undrain` (a whole script) as what puts it back; exit 1 when it cannot be recorded: the
/// host is not drained then.
pub fn record_script(name: &NodeName, undrain: &str, paths: &HostPaths) -> String {
    format!(
        "{make_folder}\
         cairn_record=$(mktemp {record}.XXXXXX)\n\
         printf '%s\\n' {text} > \"$cairn_record\"\n\
         mv -fT -- \"$cairn_record\" {record}\n",
        make_folder = make_confined_folder(
            paths,
            DRAINED_FOLDER,
            Some("700"),
            &format!(
                "{{ echo 'cannot make {DRAINED_FOLDER} to record the drain in' >&2; exit 1; }}"
            ),
        ),
        record = quote(&record_path(name, paths)),
        text = quote(&format!("# {name}\n{undrain}")),
    )
}

/// Shell lines forgetting the record of node `name`: its host is undrained.
pub fn forget_script(name: &NodeName, paths: &HostPaths) -> String {
    format!(
        "{}rm -f -- {}\n",
        refuse_linked_folders(paths, DRAINED_FOLDER),
        quote(&record_path(name, paths))
    )
}

/// Shell lines printing, for the host's facts, the node named in each record left (one a
/// line, `# NAME`); nothing where there are none. Built-ins only: no process is started.
pub fn listing_script(paths: &HostPaths) -> String {
    format!(
        "for cairn_record in {folder}/*; do [ -f \"$cairn_record\" ] && IFS= read -r cairn_line < \"$cairn_record\" && echo \"$cairn_line\"; done; :\n",
        folder = quote(&paths.path(DRAINED_FOLDER)),
    )
}

/// The nodes whose records [`listing_script`] printed.
pub fn parse_listing(text: &str) -> Vec<NodeName> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# ")?.parse().ok())
        .collect()
}

/// Runs the undrain recorded for node `name`, then forgets the record; says why it failed.
pub fn undrain(
    name: &NodeName,
    transport: &dyn Transport,
    paths: &HostPaths,
) -> Result<(), String> {
    let script = format!(
        "set -eu\n{prelude}sh -- {record}\n{forget}",
        prelude = paths.action_prelude(),
        record = quote(&record_path(name, paths)),
        forget = forget_script(name, paths),
    );
    match transport.run(&script, b"") {
        Ok(output) if output.success() => Ok(()),
        Ok(output) if output.status == 124 => {
            Err("the undrain took longer than its rollout's deadline".to_string())
        }
        Ok(output) => Err(output.failure_text()),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;

    fn run(script: &str) -> crate::transport::CommandOutput {
        LocalTransport.run(script, b"").unwrap()
    }

    #[test]
    fn a_record_left_is_listed_by_its_node_and_its_undrain_runs_once() {
        let root = tempfile::tempdir().unwrap();
        let paths = HostPaths::under_root(root.path());
        let name: NodeName = "lb1:container:haproxy".parse().unwrap();
        let undrain_command = format!(
            "echo undrained >> {}",
            quote(&root.path().join("turns").to_string_lossy())
        );
        let recorded = run(&format!(
            "set -eu\n{}",
            record_script(&name, &undrain_command, &paths)
        ));
        assert!(recorded.success(), "{}", recorded.failure_text());

        let listing = run(&listing_script(&paths));
        assert_eq!(parse_listing(&listing.stdout_text()), vec![name.clone()]);

        undrain(&name, &LocalTransport, &paths).unwrap();
        let turns = std::fs::read_to_string(root.path().join("turns")).unwrap();
        assert_eq!(turns, "undrained\n");
        let listing = run(&listing_script(&paths));
        assert_eq!(
            parse_listing(&listing.stdout_text()),
            Vec::<NodeName>::new()
        );
    }

    #[test]
    fn a_host_without_records_lists_none() {
        let root = tempfile::tempdir().unwrap();
        let paths = HostPaths::under_root(root.path());
        let listing = run(&listing_script(&paths));
        assert!(listing.success());
        assert_eq!(listing.stdout_text(), "");
    }
}
