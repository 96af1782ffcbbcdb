//! Service nodes: a systemd unit enabled or disabled, running or stopped. A service node
//! depends on the files and packages the unit reads, so its id changes with them and the
//! unit is restarted; a service merely found stopped (drift) is started, not restarted.

use cairn_lockfiles::{ServiceNode, ServiceState};

use crate::kinds::{NodeContext, NodeError};
use crate::plan::Reason;
use crate::shell::quote;

/// Brings the unit to the node's state: reloads systemd's view of the unit files (a
/// package or a file node may have changed them), enables or disables it, then restarts,
/// starts or stops it, and checks that a unit meant to run is active.
pub fn apply(service: &ServiceNode, context: &mut NodeContext<'_>) -> Result<String, NodeError> {
    let unit = quote(&service.unit);
    let status = format!("systemctl status --no-pager --lines=15 -- {unit} >&2 || true");
    let mut script = format!(
        "set -eu\n{prelude}systemctl daemon-reload\n",
        prelude = context.paths.action_prelude()
    );
    script.push_str(&if service.enabled {
        format!("systemctl enable --quiet -- {unit}\n")
    } else {
        format!("systemctl disable --quiet -- {unit}\n")
    });
    let verb = match service.state {
        ServiceState::Stopped => "stop",
        // Found stopped, with nothing changed: start it; anything it reads may have
        // changed otherwise, so restart it.
        ServiceState::Running if matches!(context.reason, Some(Reason::Drifted(_))) => "start",
        ServiceState::Running => "restart",
    };
    script.push_str(&format!(
        "systemctl {verb} -- {unit} || {{ {status}; exit 1; }}\n"
    ));
    if service.state == ServiceState::Running {
        script.push_str(&format!(
            "if ! systemctl is-active --quiet -- {unit}; then echo \"{name} is $(systemctl is-active -- {unit}) after {verb}\" >&2; {status}; exit 1; fi\n",
            name = service.unit.replace(['"', '$', '`', '\\'], ""),
        ));
    }
    script.push_str(&context.entry.record_script(context.paths));
    let output = context.transport.run(&script, b"")?;
    if !output.success() {
        return Err(NodeError::Failed(format!(
            "systemctl {verb} {}: {}",
            service.unit,
            output.failure_text()
        )));
    }
    let past = match verb {
        "stop" => "stopped",
        "start" => "started",
        _ => "restarted",
    };
    Ok(format!(
        "{past} {}{}",
        service.unit,
        if service.enabled {
            ", enabled"
        } else {
            ", disabled"
        }
    ))
}

/// The script stopping and disabling an orphaned unit: stopped if it runs (even when its
/// unit file is already gone), disabled if the host still has its unit file.
pub fn orphan_script(unit: &str) -> String {
    let unit = quote(unit);
    format!(
        "case \"$(systemctl show --value --property=ActiveState -- {unit} 2>/dev/null)\" in active|activating|reloading) systemctl stop -- {unit} ;; esac\n\
         if systemctl cat -- {unit} >/dev/null 2>&1; then systemctl disable --quiet -- {unit}; fi\n"
    )
}
