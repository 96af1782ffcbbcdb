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

/// mimalloc rather than glibc's allocator: a large lockfile is half a million nodes of small
/// allocations, and at 10,000 hosts of dcos-ha's shape it compiles in a quarter less time
/// and is read for a diff in a tenth less (bench/README.md). Built without transparent
/// huge pages (`no_thp`): with them, the kernel's compaction made a diff's system time
/// swing from 0.1 s to 2 s from one run to the next.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let arguments = cli::Cli::parse();
    match commands::run(arguments.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
