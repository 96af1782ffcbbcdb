use std::io::IsTerminal;
use std::path::Path;

use cairn_compiler::{CompileOptions, compile};
use cairn_lockfiles::{Lockfile, LockfileDiff};

use crate::commands::compile::default_lockfile_path;
use crate::diff_report::{Palette, diff_json, diff_stat, diff_text};
use crate::failure::Failure;
use crate::output::print;

/// `cairn diff OLD NEW`: exit 0 when they are equal, 1 when they differ (as `diff` does).
pub fn run(old_path: &Path, new_path: &Path, as_json: bool, stat: bool) -> Result<(), Failure> {
    // Reading and verifying a lockfile (every id recomputed) is nearly all of the time a
    // diff takes: both sides at once, one per core.
    let (old, new) = std::thread::scope(|scope| {
        let old = scope.spawn(|| read_side(old_path));
        let new = read_side(new_path);
        (old.join().expect("reading a lockfile does not panic"), new)
    });
    let (old, new) = (old?, new?);
    let diff = LockfileDiff::between(&old, &new);
    let text = if as_json {
        let text = serde_json::to_string_pretty(&diff_json(&diff))
            .map_err(|error| Failure::Failed(error.to_string()))?;
        format!("{text}\n")
    } else if stat {
        diff_stat(&diff)
    } else {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        diff_text(&diff, Palette::new(colour))
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

/// A lockfile, or a spec (`.toml`) compiled in memory: nothing is written.
fn read_side(path: &Path) -> Result<Lockfile, Failure> {
    if path.extension().is_none_or(|extension| extension != "toml") {
        return Ok(Lockfile::read(path)?);
    }
    let options = CompileOptions {
        lockfile_path: default_lockfile_path(path),
        keep_unreadable_secrets: true,
    };
    let compiled = compile(path, &options)?;
    for note in &compiled.notes {
        eprintln!("note: {note}");
    }
    Ok(compiled.lockfile)
}
