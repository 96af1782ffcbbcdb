use cairn_lockfiles::FileNode;
use sha2::{Digest, Sha256};

use crate::kinds::{NodeContext, NodeError};
use crate::shell::quote;

/// Writes the file whole or not at all: a temporary file beside it (named after it, so an
/// interrupted write is replaced by the next), checked to hold every byte sent (a dropped
/// connection ends stdin early, which `cat` cannot tell from the end), flushed, given its
/// mode and owner, then renamed over it. The content, secrets substituted, travels on
/// stdin only.
pub fn apply(file: &FileNode, context: &mut NodeContext<'_>) -> Result<String, NodeError> {
    let content = context
        .secrets
        .substitute(&file.content)
        .map_err(NodeError::Failed)?;
    let sha256 = hex(&Sha256::digest(content.as_bytes()));
    context.entry.path = Some(file.path.clone());
    context.entry.sha256 = Some(sha256);
    let target = context.paths.path(&file.path);
    let script = format!(
        "set -eu\n\
         target={target}\n\
         directory=$(dirname -- \"$target\")\n\
         temporary=\"$directory/.cairn.$(basename -- \"$target\").tmp\"\n\
         mkdir -p -- \"$directory\"\n\
         trap 'rm -f -- \"$temporary\"' HUP INT TERM\n\
         cat > \"$temporary\"\n\
         if [ \"$(wc -c < \"$temporary\")\" -ne {size} ]; then rm -f -- \"$temporary\"; echo 'the content arrived cut short' >&2; exit 1; fi\n\
         chmod {mode:04o} \"$temporary\"\n\
         chown {owner}:{group} \"$temporary\"\n\
         sync -- \"$temporary\" 2>/dev/null || true\n\
         mv -f -- \"$temporary\" \"$target\"\n\
         {record}",
        target = quote(&target),
        size = content.len(),
        mode = file.mode,
        owner = quote(&file.owner),
        group = quote(&file.group),
        record = context.entry.record_script(context.paths),
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
