use std::time::Duration;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use cairn_lockfiles::{CheckNode, HealthNode, Probe};

use crate::kinds::{NodeContext, NodeError};
use crate::probe;
use crate::shell::bounded;

/// How long one check may take.
const CHECK_TIMEOUT_SECONDS: u64 = 30;

/// Runs a check once. Checks are not recorded: they run on every apply.
pub fn check(check: &CheckNode, context: &mut NodeContext<'_>) -> Result<String, NodeError> {
    if let Probe::ClockSync { max_offset_ms } = check.probe {
        return clock_offset(context, max_offset_ms);
    }
    let output = context.transport.run(
        &bounded(
            &probe::script(&check.probe, context.host, context.paths),
            CHECK_TIMEOUT_SECONDS,
        ),
        b"",
    )?;
    if output.success() {
        Ok("passed".to_string())
    } else {
        Err(NodeError::Failed(failure_reason(&output)))
    }
}

/// Runs a health probe until it passes, up to `retries` times, `interval_seconds` apart,
/// each attempt bounded by `timeout_seconds`; records the node when it passes.
/// `health`'s probe on the context's host, bounded by its timeout.
fn health_script(health: &HealthNode, context: &NodeContext<'_>) -> String {
    bounded(
        &probe::script(&health.probe, context.host, context.paths),
        u64::from(health.timeout_seconds),
    )
}

/// Runs `health`'s probe once, recording nothing: whether the service answers now.
pub fn probe_once(health: &HealthNode, context: &NodeContext<'_>) -> Result<(), NodeError> {
    let script = health_script(health, context);
    let output = context.transport.run(&script, b"")?;
    if output.success() {
        Ok(())
    } else {
        Err(NodeError::Failed(failure_reason(&output)))
    }
}

pub fn health(health: &HealthNode, context: &mut NodeContext<'_>) -> Result<String, NodeError> {
    let script = health_script(health, context);
    let attempts = health.retries.max(1);
    let mut last_failure = String::new();
    for attempt in 1..=attempts {
        let output = context.transport.run(&script, b"")?;
        if output.success() {
            let record = context
                .transport
                .run(&context.entry.record_script(context.paths), b"")?;
            if !record.success() {
                return Err(NodeError::Failed(format!(
                    "recording state: {}",
                    record.failure_text()
                )));
            }
            return Ok(format!(
                "healthy after {attempt} attempt{}",
                if attempt == 1 { "" } else { "s" }
            ));
        }
        last_failure = failure_reason(&output);
        if attempt < attempts {
            std::thread::sleep(Duration::from_secs(u64::from(health.interval_seconds)));
        }
    }
    Err(NodeError::Failed(format!(
        "still unhealthy after {attempts} attempts: {last_failure}"
    )))
}

/// Compares the host's clock with this machine's: the host's time is read in the middle of
/// a round trip, so the offset is known to within half the round trip, which is allowed
/// for. Needs nothing on the host but `date`; the control machine must itself be in sync.
fn clock_offset(context: &mut NodeContext<'_>, max_offset_ms: u64) -> Result<String, NodeError> {
    let sent = Instant::now();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let output = context.transport.run("date +%s%N", b"")?;
    let round_trip = sent.elapsed();
    if !output.success() {
        return Err(NodeError::Failed(format!(
            "cannot read the host's clock: {}",
            output.failure_text()
        )));
    }
    let host_nanoseconds: i128 = output.stdout_text().trim().parse().map_err(|_| {
        NodeError::Failed(format!(
            "the host's `date +%s%N` printed {:?}",
            output.stdout_text().trim()
        ))
    })?;
    let middle = before.as_nanos() as i128 + round_trip.as_nanos() as i128 / 2;
    let offset_ms = (host_nanoseconds - middle).abs() / 1_000_000;
    let uncertainty_ms = round_trip.as_millis() as i128 / 2 + 1;
    if offset_ms <= i128::from(max_offset_ms) + uncertainty_ms {
        Ok(format!("within {offset_ms} ms of this machine's clock"))
    } else {
        Err(NodeError::Failed(format!(
            "the host's clock is {offset_ms} ms off this machine's (at most {max_offset_ms} ms is allowed); synchronise it (NTP) and apply again"
        )))
    }
}

/// The probe run under `timeout`, so a hung probe fails instead of hanging the apply.
fn failure_reason(output: &crate::transport::CommandOutput) -> String {
    if output.status == 124 {
        return "timed out".to_string();
    }
    let text = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if text.is_empty() {
        output.failure_text()
    } else {
        text
    }
}
