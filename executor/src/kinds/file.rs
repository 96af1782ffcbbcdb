use cairn_lockfiles::FileNode;

use crate::kinds::{NodeContext, NodeError};
use crate::shell::quote;

/// Writes the file whole or not at all: a temporary file beside it (named after it, so an
/// interrupted write is replaced by the next) made by `install` with its mode and owner,
/// checked to hold every byte sent (a dropped connection ends stdin early, which a copy
/// cannot tell from the end), flushed, then renamed over it. The content, secrets
/// substituted, travels on stdin only.
pub fn apply(file: &FileNode, context: &mut NodeContext<'_>) -> Result<String, NodeError> {
    let content = context
        .secrets
        .substitute(&file.content)
        .map_err(NodeError::Failed)?;
    context.entry.path = Some(file.path.clone());
    let target = context.paths.path(&file.path);
    let (directory, file_name) = target.rsplit_once('/').unwrap_or(("", target.as_str()));
    let directory = if directory.is_empty() { "/" } else { directory };
    let temporary = format!("{directory}/.cairn.{file_name}.tmp");
    let script = format!(
        "set -eu\n\
         {prelude}\
         [ -d {directory} ] || mkdir -p -- {directory}\n\
         install -m {mode:04o} -o {owner} -g {group} /dev/stdin {temporary}\n\
         if [ \"$(wc -c < {temporary})\" -ne {size} ]; then rm -f -- {temporary}; echo 'the content arrived cut short' >&2; exit 1; fi\n\
         sync -- {temporary} 2>/dev/null || true\n\
         mv -f -- {temporary} {target}\n\
         cairn_sha256=$(sha256sum < {target})\n\
         cairn_sha256=${{cairn_sha256%% *}}\n\
         {record}",
        prelude = context.paths.action_prelude(),
        directory = quote(directory),
        temporary = quote(&temporary),
        target = quote(&target),
        size = content.len(),
        mode = file.mode,
        owner = quote(&file.owner),
        group = quote(&file.group),
        record = context
            .entry
            .record_script_with(context.paths, &[("sha256", "cairn_sha256")]),
    );
    let output = context.transport.run(&script, content.as_bytes())?;
    if !output.success() {
        return Err(NodeError::Failed(format!(
            "writing {}: {}",
            file.path,
            output.failure_text()
        )));
    }
    Ok(format!("wrote {} ({} bytes)", file.path, content.len()))
}
