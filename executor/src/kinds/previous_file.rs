//! The previous content of a file written in a replacement's turn (`files_in_turn.rs`),
//! kept on the host until the turn ends, so a put back restores what the previous
//! container read.
//!
//! Kept in the host's state folder, `/var/lib/cairn/previous/<hash of the node name>`,
//! never beside the file: the file's folder is often mounted into the container, whose
//! program may read every file of it. A copy (`cp -p`: content, mode, owner), made by a
//! temporary file and a rename, so it is whole or absent; a file that did not exist is
//! kept as the marker `<hash>.absent`, and put back by removing the file.
//!
//! The marker holds the state entry the turn would record (without the file's sha256): a
//! file new in a release, written in a turn that was never recorded (an apply killed in
//! it), has no state entry, so only its marker says cairn wrote it. The host's facts list
//! the markers (`facts.rs`), and one whose node the lockfile applied no longer has (a
//! rollback) is an orphan: the file is removed with it.
//!
//! The file's state entry is recorded only once the turn succeeds, so until then it names
//! the content before the turn. A copy is kept again from the file unless it already holds
//! that content (a turn stopped by a killed apply kept it, then wrote the new one): the
//! next turn puts back what the host's state says, not what the stopped turn wrote. A turn
//! that succeeds records the entries, then removes the copies; a write recorded at once (a
//! file not in a turn) and an orphan's removal remove any copy left.

use crate::confined_folder::{make_confined_folder, refuse_linked_folders};
use crate::host_paths::{HostPaths, PREVIOUS_FOLDER};
use crate::shell::quote;
use crate::state::StateEntry;
use cairn_lockfiles::NodeName;

/// Where the previous content of file node `name` is kept on the host.
fn kept_path(name: &NodeName, paths: &HostPaths) -> String {
    format!(
        "{}/{}",
        paths.previous_directory(),
        StateEntry::name_hash(name)
    )
}

/// Shell lines (under `set -eu`) that keep the previous content of the file node `entry`
/// names (at its path, a path of the lockfile), unless a turn that did not finish kept the
/// content the host's state entry names already. A file that is not there is kept as its
/// marker, which holds `entry`. Exit 1 on a failure: the turn writes nothing then.
pub fn keep_script(entry: &StateEntry, paths: &HostPaths) -> String {
    let name = &entry.name;
    let path = entry.path.as_deref().unwrap_or_default();
    format!(
        "{make_folder}\
         cairn_kept={kept}\n\
         cairn_target={target}\n\
         cairn_entry={entry}\n\
         rm -f -- \"$cairn_kept\".??????\n\
         if [ -f \"$cairn_kept\" ] && [ -f \"$cairn_entry\" ] && cairn_kept_sha256=$(sha256sum < \"$cairn_kept\") && grep -qx \"sha256=${{cairn_kept_sha256%% *}}\" \"$cairn_entry\"; then :\n\
         elif [ -e \"$cairn_kept.absent\" ] && [ ! -e \"$cairn_entry\" ]; then :\n\
         elif [ -f \"$cairn_target\" ] && [ ! -L \"$cairn_target\" ]; then\n\
         \x20 rm -f -- \"$cairn_kept.absent\"\n\
         \x20 cairn_copy=$(mktemp \"$cairn_kept.XXXXXX\")\n\
         \x20 cp -p -- \"$cairn_target\" \"$cairn_copy\"\n\
         \x20 sync -- \"$cairn_copy\" 2>/dev/null || true\n\
         \x20 mv -fT -- \"$cairn_copy\" \"$cairn_kept\"\n\
         else\n\
         \x20 rm -f -- \"$cairn_kept\"\n\
         \x20 cairn_copy=$(mktemp \"$cairn_kept.XXXXXX\")\n\
         \x20 printf '%s' {pending} > \"$cairn_copy\"\n\
         \x20 mv -fT -- \"$cairn_copy\" \"$cairn_kept.absent\"\n\
         fi\n",
        make_folder = make_confined_folder(
            paths,
            PREVIOUS_FOLDER,
            Some("700"),
            &format!("{{ echo 'cannot make {PREVIOUS_FOLDER} to keep {path} in' >&2; exit 1; }}"),
        ),
        kept = quote(&kept_path(name, paths)),
        target = quote(&paths.path(path)),
        entry = quote(&StateEntry::entry_path(name, paths)),
        pending = quote(&entry.text()),
    )
}

/// Shell lines printing every marker of a file kept as absent (each the state entry its
/// turn would have recorded), for the host's facts; nothing where there are none.
pub fn pending_entries_script(paths: &HostPaths) -> String {
    format!(
        "if [ -d {folder} ]; then set -- {folder}/*.absent; [ -e \"$1\" ] && cat -- \"$@\"; fi\n",
        folder = quote(&paths.previous_directory()),
    )
}

/// Shell lines that put the kept content of file node `name` back at `path` (or remove the
/// file, where none was there), then forget the copy. They never exit: a put back starts
/// the previous container whatever comes of them; a failure is said on stderr and sets
/// `cairn_files_not_back`.
pub fn put_back_script(name: &NodeName, path: &str, paths: &HostPaths) -> String {
    let directory = paths.path(super::parent_of(path));
    let file_name = path.rsplit('/').next().unwrap_or_default();
    format!(
        "cairn_kept={kept}\n\
         cairn_target={target}\n\
         if ! ( {refuse_links}: ); then cairn_files_not_back=\"${{cairn_files_not_back:-}} \"{path}\n\
         elif [ -f \"$cairn_kept\" ]; then\n\
         \x20 {{ cairn_copy=$(mktemp {template}) && cp -p -- \"$cairn_kept\" \"$cairn_copy\" && {{ sync -- \"$cairn_copy\" 2>/dev/null || true; }} && mv -fT -- \"$cairn_copy\" \"$cairn_target\" && rm -f -- \"$cairn_kept\"; }} || {{ echo {failed} >&2; cairn_files_not_back=\"${{cairn_files_not_back:-}} \"{path}; }}\n\
         elif [ -e \"$cairn_kept.absent\" ]; then\n\
         \x20 {{ rm -f -- \"$cairn_target\" && rm -f -- \"$cairn_kept.absent\"; }} || {{ echo {failed} >&2; cairn_files_not_back=\"${{cairn_files_not_back:-}} \"{path}; }}\n\
         fi\n",
        kept = quote(&kept_path(name, paths)),
        target = quote(&paths.path(path)),
        refuse_links = refuse_linked_folders(paths, super::parent_of(path)),
        template = quote(&format!("{directory}/.cairn.{file_name}.XXXXXX")),
        failed = quote(&format!("putting the previous {path} back failed")),
        path = quote(path),
    )
}

/// Shell lines that forget the kept content of file node `name`: its turn succeeded, or
/// it was written and recorded outside a turn, or removed. A symbolic link among the
/// folders refuses it (exit 1), as any removal under a host's root.
pub fn forget_script(name: &NodeName, paths: &HostPaths) -> String {
    let kept = quote(&kept_path(name, paths));
    format!(
        "{}rm -f -- {kept} {kept}.absent\n",
        refuse_linked_folders(paths, PREVIOUS_FOLDER)
    )
}
