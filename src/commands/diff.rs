use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use cairn_compiler::{CompileOptions, compile};
use cairn_executor::diff_applied;
use cairn_lockfiles::{Lockfile, LockfileDiff};

use crate::cli::{ConnectionArguments, SelectionArguments};
use crate::commands::compile::default_lockfile_path;
use crate::commands::connection::apply_options;
use crate::diff_report::{
    Palette, applied_diff_json, applied_diff_stat, applied_diff_text, diff_json, diff_stat,
    diff_text,
};
use crate::failure::Failure;
use crate::output::print;

/// How a diff is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    /// Counts per host and kind.
    Stat,
}

impl Format {
    /// From `--json` and `--stat` (which clap lets through one at a time).
    pub fn of(json: bool, stat: bool) -> Self {
        match (json, stat) {
            (true, _) => Format::Json,
            (false, true) => Format::Stat,
            (false, false) => Format::Text,
        }
    }
}

/// `cairn diff OLD NEW`: exit 0 when they are equal, 1 when they differ (as `diff` does).
pub fn run(old_path: &Path, new_path: &Path, format: Format) -> Result<(), Failure> {
    // Reading and verifying a lockfile (every id recomputed) is nearly all of the time a
    // diff takes: both sides at once, one per core.
    // A spec beside a lockfile is compiled as if written where that lockfile is: with its
    // package pins, and its secret files and sandbox roots relative to its folder, so a
    // lockfile written with `-o` differs from its own spec in nothing.
    let old_located_at = pinned_by(old_path, new_path);
    let new_located_at = pinned_by(new_path, old_path);
    let (old, new) = std::thread::scope(|scope| {
        let old = scope.spawn(|| read_side(old_path, &old_located_at));
        let new = read_side(new_path, &new_located_at);
        (old.join().expect("reading a lockfile does not panic"), new)
    });
    let (old, new) = (old?, new?);
    let diff = LockfileDiff::between(&old, &new);
    let text = match format {
        Format::Json => json_text(&diff_json(&diff))?,
        Format::Stat => diff_stat(&diff),
        Format::Text => diff_text(&diff, Palette::new(colour_wanted())),
    };
    print(&text)?;
    // Both lockfiles are dropped with the process: freeing them node by node would only
    // cost time at ten thousand hosts.
    std::mem::forget((old, new));
    if diff.is_empty() {
        Ok(())
    } else {
        Err(Failure::Different)
    }
}

/// `cairn diff --applied LOCK`: LOCK against what each host has applied, read as `cairn
/// plan` reads it. Exit 0 when every host has exactly what LOCK holds, 1 when one differs,
/// 2 when a host could not be read (named; the others are still reported).
pub fn run_applied(
    lockfile_path: &Path,
    connection: &ConnectionArguments,
    selection: &SelectionArguments,
    format: Format,
) -> Result<(), Failure> {
    let lockfile = read_side(lockfile_path, &default_lockfile_path(lockfile_path))?;
    // A spec's lockfile would be written beside it: its hosts' relative roots and secret
    // files are relative to that folder.
    let located_at = if is_spec(lockfile_path) {
        default_lockfile_path(lockfile_path)
    } else {
        lockfile_path.to_path_buf()
    };
    let options = apply_options(connection, selection, &lockfile, &located_at)?;
    let diff = diff_applied(&lockfile, &options);
    let text = match format {
        Format::Json => json_text(&applied_diff_json(&diff))?,
        Format::Stat => applied_diff_stat(&diff),
        Format::Text => applied_diff_text(&diff, Palette::new(colour_wanted())),
    };
    print(&text)?;
    Failure::unreachable(diff.unreachable().map(|(_, problem)| problem.clone()))?;
    if diff.is_empty() {
        Ok(())
    } else {
        Err(Failure::Different)
    }
}

/// Git's external diff of one lockfile (`git log -p --ext-diff`): the change as `cairn diff`
/// reports it, under a header naming the file. Git gives `/dev/null` for the side of a file
/// added or removed. Always exit 0, so that git goes on to the next commit: a side that does
/// not read is said in the output instead.
pub fn git_external_diff(path: &str, old_file: &Path, new_file: &Path) -> Result<(), Failure> {
    let mut text = format!("cairn diff a/{path} b/{path}\n");
    let absent = |file: &Path| file == Path::new("/dev/null");
    match (absent(old_file), absent(new_file)) {
        (true, _) => text.push_str("(a new lockfile)\n"),
        (_, true) => text.push_str("(the lockfile is removed)\n"),
        (false, false) => match (Lockfile::read(old_file), Lockfile::read(new_file)) {
            (Ok(old), Ok(new)) => {
                let diff = LockfileDiff::between(&old, &new);
                text.push_str(&diff_text(&diff, Palette::new(false)));
            }
            (old, new) => {
                for (side, read) in [("old", old.err()), ("new", new.err())] {
                    if let Some(error) = read {
                        text.push_str(&format!("the {side} side does not read: {error}\n"));
                    }
                }
            }
        },
    }
    print(&text)
}

/// A JSON document, pretty-printed, with a final newline.
fn json_text(document: &serde_json::Value) -> Result<String, Failure> {
    let text = serde_json::to_string_pretty(document)
        .map_err(|error| Failure::Failed(error.to_string()))?;
    Ok(format!("{text}\n"))
}

/// Colours on a terminal, unless `NO_COLOR` is set.
fn colour_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn is_spec(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "toml")
}

/// Where the side at `path`, when it is a spec, is compiled as if its lockfile were: at the
/// `other` side when that is a lockfile (its pins, its folder), else beside the spec.
fn pinned_by(path: &Path, other: &Path) -> PathBuf {
    if is_spec(other) {
        default_lockfile_path(path)
    } else {
        other.to_path_buf()
    }
}

/// A lockfile, or a spec (`.toml`) compiled in memory as if its lockfile were at
/// `located_at` (whose package pins it keeps): nothing is written.
fn read_side(path: &Path, located_at: &Path) -> Result<Lockfile, Failure> {
    if !is_spec(path) {
        return Ok(Lockfile::read(path)?);
    }
    let options = CompileOptions {
        lockfile_path: located_at.to_path_buf(),
        keep_unreadable_secrets: true,
    };
    let compiled = compile(path, &options)?;
    for note in &compiled.notes {
        eprintln!("note: {note}");
    }
    Ok(compiled.lockfile)
}
