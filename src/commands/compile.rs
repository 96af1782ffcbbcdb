use std::path::{Path, PathBuf};

use cairn_compiler::{CompileOptions, Compiled, PinUpdate, compile_with_pins};
use cairn_lockfiles::{Lockfile, LockfileDiff};

use crate::cli::CompileArguments;
use crate::failure::Failure;
use crate::output::counted;

/// The lockfile's name when `-o` is not given: beside the spec.
const DEFAULT_LOCKFILE: &str = "cluster.lock";

/// Where `cairn compile SPEC` writes the lockfile without `-o`.
pub fn default_lockfile_path(spec: &Path) -> PathBuf {
    match spec.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join(DEFAULT_LOCKFILE),
        _ => PathBuf::from(DEFAULT_LOCKFILE),
    }
}

pub fn run(arguments: &CompileArguments) -> Result<(), Failure> {
    let spec = &arguments.spec;
    let lockfile_path = (arguments.output.clone()).unwrap_or_else(|| default_lockfile_path(spec));
    // The process ends after this: freeing hundreds of thousands of nodes one by one would
    // only cost time (a tenth of a 10,000-host compile).
    let pins = if arguments.update_pins {
        PinUpdate::Update
    } else {
        PinUpdate::Keep
    };
    compile_with(spec, &lockfile_path, arguments.locked, pins).map(std::mem::forget)
}

/// Compiles `spec`, keeping the lockfile's package pins; unless `locked`, writes the
/// lockfile. Returns the lockfile.
pub fn compile_to(spec: &Path, lockfile_path: &Path, locked: bool) -> Result<Lockfile, Failure> {
    compile_with(spec, lockfile_path, locked, PinUpdate::Keep)
}

/// [`compile_to`], doing `pins` with the lockfile's package pins.
fn compile_with(
    spec: &Path,
    lockfile_path: &Path,
    locked: bool,
    pins: PinUpdate,
) -> Result<Lockfile, Failure> {
    let lockfile_path = lockfile_path.to_path_buf();
    let options = CompileOptions {
        lockfile_path: lockfile_path.clone(),
        keep_unreadable_secrets: true,
    };
    // Any error returns here, before the lockfile is touched: the old one stays as it was.
    let compiled = compile_with_pins(spec, &options, pins)?;
    for note in &compiled.notes {
        eprintln!("note: {note}");
    }
    let Compiled {
        lockfile, previous, ..
    } = compiled;
    let summary = format!(
        "{} on {}",
        counted(lockfile.nodes().len(), "node"),
        counted(lockfile.hosts.len(), "host")
    );
    if locked {
        let existing = std::fs::read_to_string(&lockfile_path).unwrap_or_default();
        if existing == lockfile.to_toml() {
            eprintln!("{} is up to date ({summary})", lockfile_path.display());
            return Ok(lockfile);
        }
        let changed = match previous.lockfile() {
            Some(previous) => describe_changes(&LockfileDiff::between(previous, &lockfile)),
            None => "it does not exist or cannot be read".to_string(),
        };
        return Err(Failure::Failed(format!(
            "{} is out of date: compiling {} would change it ({changed})\nhint: run `cairn compile {}` without --locked and review the change",
            lockfile_path.display(),
            spec.display(),
            spec.display(),
        )));
    }
    let written = lockfile.write(&lockfile_path)?;
    eprintln!(
        "{} {} ({summary})",
        if written { "wrote" } else { "unchanged:" },
        lockfile_path.display()
    );
    Ok(lockfile)
}

/// Counts of nodes added, removed and changed.
fn describe_changes(diff: &LockfileDiff) -> String {
    format!(
        "{} nodes added, {} removed, {} changed",
        diff.added.len(),
        diff.removed.len(),
        diff.changed.len()
    )
}
