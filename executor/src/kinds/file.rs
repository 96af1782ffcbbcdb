use cairn_lockfiles::FileNode;

use crate::confined_folder::make_confined_folder;
use crate::kinds::{NodeContext, NodeError};
use crate::shell::quote;
use crate::state::RECORD_FAILED;

/// Writes the file whole or not at all: its folder made under the host's root without
/// following a link (`confined_folder`), a temporary file beside it made by `mktemp` (a
/// fresh name: no link planted there is followed; an interrupted write's is removed by the
/// next), filled from stdin, checked to hold every byte sent (a dropped connection ends
/// stdin early, which a copy cannot tell from the end), given its owner and mode, flushed,
/// then renamed over it. A failed write removes its temporary file. The content, secrets
/// substituted, travels on stdin only.
pub fn apply(file: &FileNode, context: &mut NodeContext<'_>) -> Result<String, NodeError> {
    let content = context
        .secrets
        .substitute(&file.content)
        .map_err(NodeError::Failed)?;
    context.entry.path = Some(file.path.clone());
    let script = write_script(file, context, content.len());
    let output = context.transport.run(&script, content.as_bytes())?;
    if !output.success() {
        let failure = output.failure_text();
        if failure.contains(RECORD_FAILED) {
            return Err(NodeError::Failed(format!(
                "{} was written in full, but recording it in cairn's state failed ({failure}); the next apply writes it again",
                file.path
            )));
        }
        return Err(NodeError::Failed(format!(
            "writing {}: {failure}",
            file.path
        )));
    }
    Ok(format!("wrote {} ({} bytes)", file.path, content.len()))
}

fn write_script(file: &FileNode, context: &NodeContext<'_>, size: usize) -> String {
    let target = context.paths.path(&file.path);
    let file_name = file.path.rsplit('/').next().unwrap_or_default();
    let directory = context.paths.path(super::parent_of(&file.path));
    let template = format!("{directory}/.cairn.{file_name}.XXXXXX");
    let leftovers = format!("{directory}/.cairn.{file_name}.");
    format!(
        "set -eu\n\
         {prelude}\
         {make_folder}\
         rm -f -- {leftovers}??????\n\
         cairn_temporary=$(mktemp {template})\n\
         trap 'rm -f -- \"$cairn_temporary\"' EXIT\n\
         cat > \"$cairn_temporary\"\n\
         if [ \"$(wc -c < \"$cairn_temporary\")\" -ne {size} ]; then echo 'the content arrived cut short' >&2; exit 1; fi\n\
         chown {owner}:{group} \"$cairn_temporary\"\n\
         chmod {mode:04o} \"$cairn_temporary\"\n\
         sync -- \"$cairn_temporary\" 2>/dev/null || true\n\
         mv -fT -- \"$cairn_temporary\" {target}\n\
         trap - EXIT\n\
         cairn_sha256=$(sha256sum < {target})\n\
         cairn_sha256=${{cairn_sha256%% *}}\n\
         {record}",
        prelude = context.paths.action_prelude(),
        make_folder =
            make_confined_folder(context.paths, super::parent_of(&file.path), None, "exit 1",),
        leftovers = quote(&leftovers),
        template = quote(&template),
        target = quote(&target),
        mode = file.mode,
        owner = quote(&file.owner),
        group = quote(&file.group),
        record = record_script(context),
    )
}

/// Shell lines recording the file written, and forgetting any previous content a turn kept
/// of it; none for a file written in a replacement's turn, which the turn records once its
/// gates pass (`rollout_turn.rs`).
fn record_script(context: &NodeContext<'_>) -> String {
    if context.record_later {
        return String::new();
    }
    format!(
        "{}{}",
        context
            .entry
            .record_script_with(context.paths, &[("sha256", "cairn_sha256")]),
        super::previous_file::forget_script(&context.entry.name, context.paths)
    )
}
