use cairn_lockfiles::CommandNode;

use crate::kinds::{NodeContext, NodeError};
use crate::shell::quote;

/// Runs the command unless a guard says it is not needed: `creates` exists, or `unless`
/// succeeds. `CAIRN_ROOT` holds the host's root prefix (empty for `/`).
pub fn apply(command: &CommandNode, context: &mut NodeContext<'_>) -> Result<String, NodeError> {
    let mut script = format!(
        "{}{}",
        context.paths.action_prelude(),
        crate::kinds::module_environment(context.host, context.paths)
    );
    let mut guards = Vec::new();
    if let Some(creates) = &command.creates {
        guards.push(format!("[ -e {} ]", quote(&context.paths.path(creates))));
    }
    if let Some(unless) = &command.unless {
        guards.push(format!("( {unless}\n) >/dev/null 2>&1"));
    }
    let record = context.entry.record_script(context.paths);
    if guards.is_empty() {
        script.push_str(&format!(
            "( {}\n) || exit $?\n{record}echo cairn-ran\n",
            command.run
        ));
    } else {
        script.push_str(&format!(
            "if {}; then {record}echo cairn-guarded; exit 0; fi\n( {}\n) || exit $?\n{record}echo cairn-ran\n",
            guards.join(" || "),
            command.run
        ));
    }
    let output = context.transport.run(&script, b"")?;
    if !output.success() {
        return Err(NodeError::Failed(format!(
            "`{}`: {}",
            command.name,
            output.failure_text()
        )));
    }
    if output.stdout_text().lines().last() == Some("cairn-guarded") {
        Ok("not needed: its guard holds".to_string())
    } else {
        Ok("ran".to_string())
    }
}
