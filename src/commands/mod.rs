//! One file per command: each takes its arguments and calls into the libraries.

mod apply;
mod build;
mod compile;
mod connection;
mod diff;
mod explain;
mod fetch;
mod graph;
mod import;
mod lab;
mod lookup;
mod modules;
mod plan;
pub mod show;

use crate::cli::Command;
use crate::failure::Failure;

pub fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Compile(arguments) => compile::run(&arguments),
        Command::Diff {
            old,
            new,
            applied,
            json,
            stat,
            hosts,
        } => match (applied, old, new, diff::Format::of(json, stat)) {
            (Some(lockfile), None, None, format) => {
                diff::run_applied(&lockfile, &hosts.connection, &hosts.selection, format)
            }
            (None, Some(old), Some(new), format) => diff::run(&old, &new, format),
            // clap requires both sides without `--applied`, and nothing else refuses them
            // with it.
            _ => Err(Failure::Input(
                "cairn diff takes OLD and NEW, or --applied LOCK alone".to_string(),
            )),
        },
        Command::Show {
            lockfile,
            node,
            json,
        } => show::run(&lockfile, node.as_deref(), json),
        Command::Explain { lockfile, node } => explain::run(&lockfile, &node),
        Command::Build {
            lockfile,
            images,
            output,
            compression,
            level,
            push,
        } => build::run(
            &lockfile,
            &build::BuildArguments {
                names: &images,
                output: &output,
                compression: compression.as_deref(),
                level,
                push: push.as_deref(),
            },
        ),
        Command::Fetch { lockfile, export } => fetch::run(&lockfile, export.as_deref()),
        Command::GitDiff {
            path,
            old_file,
            new_file,
            ..
        } => diff::git_external_diff(&path, &old_file, &new_file),
        Command::Graph { lockfile, format } => graph::run(&lockfile, format),
        Command::Plan {
            lockfile,
            hosts,
            json,
        } => plan::run(&lockfile, &hosts.connection, &hosts.selection, json),
        Command::Apply {
            target,
            hosts,
            json,
            verbose,
            timings,
        } => apply::run(
            &target,
            &hosts.connection,
            &hosts.selection,
            apply::Reporting {
                json,
                verbose,
                timings,
            },
        ),
        Command::Lab { command } => lab::run(command),
        Command::Modules { folders, markdown } => modules::run(&folders, markdown),
        Command::Import {
            inventory,
            config,
            roles_file,
            role,
            output,
        } => import::run(&import::Request {
            inventory: &inventory,
            config: config.as_deref(),
            roles_file: roles_file.as_deref(),
            roles: &role,
            output: &output,
        }),
        Command::Keeper { socket, persist } => cairn_executor::transport::keeper::serve(
            &socket,
            std::time::Duration::from_secs(persist),
        )
        .map_err(|error| {
            Failure::Failed(format!(
                "the keeper cannot serve on {}: {error}",
                socket.display()
            ))
        }),
    }
}
