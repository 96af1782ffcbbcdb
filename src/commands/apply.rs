use std::io::IsTerminal;
use std::path::Path;

use cairn_executor::{ApplySession, NodeOutcome};
use cairn_lockfiles::{Lockfile, NodeName};

use crate::cli::{ConnectionArguments, SelectionArguments};
use crate::commands::compile::{compile_to, default_lockfile_path};
use crate::commands::connection::apply_options;
use crate::commands::plan::plan_text;
use crate::failure::Failure;
use crate::output::print;
use crate::progress::Progress;
use crate::rollout_progress::RolloutProgress;

/// How an apply reports: JSON on stdout, every node as it runs, the timings after the
/// summary.
#[derive(Debug, Clone, Copy)]
pub struct Reporting {
    pub json: bool,
    pub verbose: bool,
    pub timings: bool,
}

/// The slowest nodes `--timings` lists.
const SLOWEST_NODES: usize = 10;

pub fn run(
    target: &Path,
    connection: &ConnectionArguments,
    selection: &SelectionArguments,
    reporting: Reporting,
) -> Result<(), Failure> {
    let Reporting {
        json: as_json,
        verbose,
        timings,
    } = reporting;
    let is_spec = target
        .extension()
        .is_some_and(|extension| extension == "toml");
    let (lockfile, lockfile_path) = if is_spec {
        let lockfile_path = default_lockfile_path(target);
        (compile_to(target, &lockfile_path, false)?, lockfile_path)
    } else {
        (Lockfile::read(target)?, target.to_path_buf())
    };
    let options = apply_options(connection, selection, &lockfile, &lockfile_path)?;
    let session = ApplySession::open(&lockfile, &options);
    if !as_json {
        eprint!("{}", plan_text(session.plan()));
    }
    // Bars on a terminal; plain lines for logs and pipes.
    let progress = (!as_json && !verbose && std::io::stderr().is_terminal())
        .then(|| Progress::new(session.plan()));
    let rollouts = RolloutProgress::new(session.plan());
    let observer = |name: &NodeName, outcome: &NodeOutcome| {
        // Also with --json: standard error is for people.
        let rollout_line = rollouts.line(name, outcome);
        if let Some(progress) = &progress {
            progress.node_done(name, outcome);
            if let Some(line) = rollout_line {
                progress.println(&line);
            }
            return;
        }
        if let Some(line) = rollout_line {
            eprintln!("{line}");
        }
        match outcome {
            NodeOutcome::Ran(summary) if verbose => eprintln!("ran      {name}: {summary}"),
            NodeOutcome::Failed(reason) => {
                eprintln!("FAILED   {name}: {}", reason.replace('\n', "\n         "))
            }
            NodeOutcome::NotRun(reason) if verbose => eprintln!("not run  {name}: {reason}"),
            _ => {}
        }
    };
    let report = session.execute(&observer);
    if let Some(progress) = &progress {
        progress.finish();
    }
    if as_json {
        let text = serde_json::to_string_pretty(&report.to_json())
            .map_err(|error| Failure::Failed(error.to_string()))?;
        print(&format!("{text}\n"))?;
    }
    eprint!("{}", report.summary());
    if timings {
        eprint!("{}", report.timings_summary(SLOWEST_NODES));
    }
    if report.succeeded() {
        Ok(())
    } else {
        Err(Failure::Failed("the apply did not complete; run it again once the failures are fixed: it resumes where it stopped".to_string()))
    }
}
