//! Repository nodes: the cluster's offline repository placed on a host's disk (the control
//! host's, which serves it to the others and installs its own packages from it), so that
//! one `cairn apply` does the whole install and no host needs any other network.
//!
//! The machine running cairn fetches what the store lacks, exports the repository into a
//! folder of its cache (`cairn fetch --export`'s export: hard links to the store, indexes,
//! `Release`), then asks the host which files it lacks (`sha256sum --check` of the pool's
//! and the artifacts' expected sha256, sent on stdin) and sends only those, in archives of
//! at most [`BATCH_BYTES`], each file placed by a rename; then the indexes, the `Release`
//! last; then it removes what the lockfile no longer pins. An interrupted run leaves whole
//! files, and the next sends what is still missing.

use cairn_images::PinnedDownloads;
use cairn_images::artifact_store::{ArtifactStore, cache_folder};
use cairn_images::offline_repository::{OfflineRepository, TransferBatches};
use cairn_lockfiles::RepositoryNode;

use crate::confined_folder::make_confined_folder;
use crate::host_paths::HostPaths;
use crate::kinds::{NodeContext, NodeError};
use crate::shell::quote;

/// The most file bytes one round trip carries.
const BATCH_BYTES: u64 = 64 * 1024 * 1024;

/// Places the repository on the host and records what it holds.
pub fn apply(node: &RepositoryNode, context: &mut NodeContext<'_>) -> Result<String, NodeError> {
    let repository = OfflineRepository::serving(context.lockfile, &node.suite, &node.components)
        .map_err(|error| NodeError::Failed(error.to_string()))?;
    let store = ArtifactStore::default_location();
    let downloads = PinnedDownloads::of_lockfile(context.lockfile).fetch_into(&store);
    if !downloads.failures.is_empty() {
        let failures: Vec<String> = downloads.failures.iter().map(ToString::to_string).collect();
        return Err(NodeError::Failed(failures.join("\n")));
    }
    let local = cache_folder()
        .join("repositories")
        .join(&context.lockfile.cluster.name)
        .join(context.host);
    repository
        .export(&store, &local)
        .map_err(|error| NodeError::Failed(error.to_string()))?;

    let folder = context.paths.path(&node.path);
    let files = repository.files();
    let lacking = lacking_files(&files, &folder, context)?;
    let mut sent_bytes = 0;
    for batch in TransferBatches::new(&local, &lacking, BATCH_BYTES) {
        let batch = batch.map_err(|(path, error)| {
            NodeError::Failed(format!("reading the export in {}: {error}", path.display()))
        })?;
        place_batch(&folder, &batch.tar, context)?;
        sent_bytes += batch.file_bytes;
    }
    let indexes = repository.index_paths();
    for batch in TransferBatches::new(&local, &indexes, BATCH_BYTES) {
        let batch = batch.map_err(|(path, error)| {
            NodeError::Failed(format!("reading the export in {}: {error}", path.display()))
        })?;
        place_batch(&folder, &batch.tar, context)?;
    }
    context.entry.path = Some(node.path.clone());
    context.entry.contents = Some(repository.digest());
    finish(node, &files, context)?;
    Ok(format!(
        "placed the repository in {}: {} packages and {} artifacts, {} files sent ({sent_bytes} bytes), {} already there",
        node.path,
        repository.package_count(),
        repository.artifact_count(),
        lacking.len(),
        files.len() - lacking.len(),
    ))
}

/// The files of `files` the host's `folder` lacks, or holds with other bytes.
fn lacking_files(
    files: &std::collections::BTreeMap<String, String>,
    folder: &str,
    context: &NodeContext<'_>,
) -> Result<Vec<String>, NodeError> {
    let manifest: String = files
        .iter()
        .map(|(path, sha256)| format!("{sha256}  {path}\n"))
        .collect();
    let script = format!(
        "{make_folder}cd -- {folder} && {{ sha256sum --check --quiet - 2>/dev/null || true; }}\n",
        make_folder = make_confined_folder(
            context.paths,
            lockfile_path(folder, context.paths),
            None,
            "exit 1"
        ),
        folder = quote(folder)
    );
    let output = context.transport.run(&script, manifest.as_bytes())?;
    if !output.success() {
        return Err(NodeError::Failed(format!(
            "listing the repository in {folder}: {}",
            output.failure_text()
        )));
    }
    // `PATH: FAILED` for other bytes, `PATH: FAILED open or read` for a missing file.
    let listing = output.stdout_text();
    let failed: std::collections::BTreeSet<&str> = listing
        .lines()
        .filter_map(|line| line.rsplit_once(": FAILED").map(|(path, _)| path))
        .collect();
    Ok(files
        .keys()
        .filter(|path| failed.contains(path.as_str()))
        .cloned()
        .collect())
}

/// Unpacks one archive beside the repository and moves each file into place by a rename,
/// `Release` files last: a reader sees every file whole, and indexes never name a file
/// that is not there.
fn place_batch(folder: &str, tar: &[u8], context: &NodeContext<'_>) -> Result<(), NodeError> {
    let script = format!(
        "set -eu\n{prelude}umask 022\nfolder={folder}\nincoming=\"$folder/.cairn-incoming\"\n\
         {refuse_links}\
         rm -rf -- \"$incoming\"\nmkdir -p -- \"$incoming\"\ntar -x -f - -C \"$incoming\" --no-same-owner\n\
         place() {{ mkdir -p -- \"$folder/$(dirname -- \"$1\")\" && mv -fT -- \"$incoming/$1\" \"$folder/$1\"; }}\n\
         cd -- \"$incoming\"\n\
         find . -type f ! -name Release | while IFS= read -r file; do place \"${{file#./}}\"; done\n\
         find . -type f -name Release | while IFS= read -r file; do place \"${{file#./}}\"; done\n\
         cd / && rm -rf -- \"$incoming\"\n",
        prelude = context.paths.action_prelude(),
        folder = quote(folder),
        refuse_links = refuse_links_within(context.paths),
    );
    let output = context.transport.run(&script, tar)?;
    if output.success() {
        Ok(())
    } else {
        Err(NodeError::Failed(format!(
            "placing files in {folder}: {}",
            output.failure_text()
        )))
    }
}

/// Removes the pool's and the artifacts' files the lockfile no longer pins (their list on
/// stdin), then records the node with the sha256 of the suite's `Release`, computed on the
/// host.
fn finish(
    node: &RepositoryNode,
    files: &std::collections::BTreeMap<String, String>,
    context: &NodeContext<'_>,
) -> Result<(), NodeError> {
    let expected: String = files.keys().map(|path| format!("{path}\n")).collect();
    let folder = context.paths.path(&node.path);
    let release = context.paths.path(&node.release_path());
    let script = format!(
        "set -eu\n{prelude}cd -- {folder}\n\
         expected=$(mktemp)\nLC_ALL=C sort > \"$expected\"\n\
         find pool artifacts -type f 2>/dev/null | LC_ALL=C sort | LC_ALL=C comm -23 - \"$expected\" \
         | while IFS= read -r stale; do rm -f -- \"$stale\"; done\n\
         rm -f -- \"$expected\"\n\
         find pool artifacts -mindepth 1 -type d -empty -delete 2>/dev/null || true\n\
         cairn_sha256=$(sha256sum < {release})\ncairn_sha256=${{cairn_sha256%% *}}\n{record}",
        prelude = context.paths.action_prelude(),
        folder = quote(&folder),
        release = quote(&release),
        record = context
            .entry
            .record_script_with(context.paths, &[("sha256", "cairn_sha256")]),
    );
    let output = context.transport.run(&script, expected.as_bytes())?;
    if output.success() {
        Ok(())
    } else {
        Err(NodeError::Failed(format!(
            "finishing the repository in {}: {}",
            node.path,
            output.failure_text()
        )))
    }
}

/// Removes an orphaned repository: the pool, the artifacts and the indexes cairn placed.
pub fn remove_script(path: &str) -> String {
    let folder = path.trim_end_matches('/');
    format!(
        "rm -rf -- {pool} {artifacts} {dists}\n",
        pool = quote(&format!("{folder}/pool")),
        artifacts = quote(&format!("{folder}/artifacts")),
        dists = quote(&format!("{folder}/dists")),
    )
}

/// A host path as the lockfile writes it: without the host's root.
fn lockfile_path<'a>(host_path: &'a str, paths: &HostPaths) -> &'a str {
    host_path.strip_prefix(paths.root()).unwrap_or(host_path)
}

/// Shell lines refusing a repository (`$folder`) under a root that holds a symbolic link:
/// its files are placed by `mkdir -p` and `mv` into its subfolders, which a link planted
/// among them would send outside the root. cairn's repositories hold no links.
fn refuse_links_within(paths: &HostPaths) -> String {
    if paths.root().is_empty() {
        return String::new();
    }
    "if [ -n \"$(find \"$folder\" -type l -print -quit)\" ]; then echo \"$folder holds a symbolic link, under the host root: cairn does not place files through it\" >&2; exit 1; fi\n".to_string()
}
