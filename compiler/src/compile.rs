use std::path::{Path, PathBuf};

use cairn_debian::IndexCache;
use cairn_lockfiles::{Lockfile, parent_folder};

use crate::diagnostic::CompileError;
use crate::graph::{PinningOptions, build_lockfile};
use crate::previous_lockfile::PreviousLockfile;
use crate::secrets::{fingerprint_secrets, relative_to};
use crate::source_file::SourceFile;
use crate::spec::parse_spec;

/// How to compile.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Where the lockfile will be written: secret file paths are recorded relative to its
    /// folder.
    pub lockfile_path: PathBuf,
    /// Where a secret cannot be read, its fingerprint is kept from the lockfile already at
    /// `lockfile_path`, if it names the same source. Read only when needed.
    pub keep_unreadable_secrets: bool,
}

/// What a compile does with the package pins of the lockfile at `lockfile_path`, for the
/// images whose packages, sources and architecture did not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PinUpdate {
    /// Keep them: nothing is fetched for those images.
    #[default]
    Keep,
    /// Resolve every image again (`--update-pins`); the old pins are kept only where the
    /// repository cannot be reached.
    Update,
}

/// A compiled lockfile and what the compile has to say about it.
#[derive(Debug)]
pub struct Compiled {
    pub lockfile: Lockfile,
    pub notes: Vec<String>,
    /// The lockfile it replaces, as far as the compile read it (read now if it was not).
    pub previous: PreviousLockfile,
}

/// Compiles the spec at `spec_path`, keeping the lockfile's package pins where they still
/// answer. Errors name the spec by `spec_path` as given.
pub fn compile(spec_path: &Path, options: &CompileOptions) -> Result<Compiled, CompileError> {
    compile_with_pins(spec_path, options, PinUpdate::Keep)
}

/// [`compile`], doing `pins` with the lockfile's package pins.
pub fn compile_with_pins(
    spec_path: &Path,
    options: &CompileOptions,
    pins: PinUpdate,
) -> Result<Compiled, CompileError> {
    let source = crate::spec_reading::read_spec(spec_path)?;
    let directory = parent_folder(spec_path).to_path_buf();
    compile_source(source, &directory, options, pins)
}

/// Compiles a spec already read; `directory` is the folder it lives in.
pub fn compile_source(
    source: SourceFile,
    directory: &Path,
    options: &CompileOptions,
    pins: PinUpdate,
) -> Result<Compiled, CompileError> {
    let mut spec = parse_spec(source, directory)?;
    let lockfile_directory = parent_folder(&options.lockfile_path).to_path_buf();
    // A relative sandbox root is written relative to the lockfile, as secret files are:
    // the lockfile then holds no absolute path of the compiling machine.
    for host in spec.hosts.values_mut() {
        if let Some(root) = host.root.as_mut().filter(|root| !root.starts_with('/')) {
            *root = relative_to(&spec.directory.join(&*root), &lockfile_directory);
        }
    }
    let previous = PreviousLockfile::at(&options.lockfile_path);
    let keep_from = options.keep_unreadable_secrets.then_some(&previous);
    let (secrets, secret_notes) = fingerprint_secrets(&spec, &lockfile_directory, keep_from)?;
    let key_source = secret_notes.key_source;
    let mut notes: Vec<String> = secret_notes
        .reused
        .into_iter()
        .map(|name| format!("secret `{name}` could not be read here; its fingerprint is kept from the existing lockfile"))
        .collect();
    let pinning = PinningOptions {
        update: pins == PinUpdate::Update,
        previous: &previous,
        cache: IndexCache::from_environment(),
    };
    let mut lockfile = build_lockfile(&spec, secrets, &pinning, &mut notes)?;
    // Where apply reads the fingerprint key: no node's id depends on it.
    lockfile.cluster.fingerprint_key = key_source;
    Ok(Compiled {
        lockfile,
        notes,
        previous,
    })
}
