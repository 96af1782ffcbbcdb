//! The `cairn` command line: a thin layer over the `cairn-compiler` and `cairn-lockfiles`
//! crates. Each command is `commands/<name>.rs`; this file parses arguments and maps the
//! outcome to an exit code (0 success, 1 failure, 2 usage or input error).

mod cli;
mod commands;
mod diff_report;
mod failure;
mod output;
mod progress;
mod rollout_progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let arguments = cli::Cli::parse();
    match commands::run(arguments.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
