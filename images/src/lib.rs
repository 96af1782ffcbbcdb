//! cairn's image product: what turns a lockfile's pinned image definitions into images on
//! hosts, and its pinned packages into the Debian repository hosts install from.
//!
//! Design notes:
//! - What it owns: the artifact store (`artifact_store`: downloads named by sha256, checked
//!   while written) and the pool that fills it from a lockfile (`PinnedDownloads`); cairn's
//!   own image builder (`image_builder`: layers, the setup layer, OCI layouts, the record of
//!   what is built and pushed); distribution (`distribution`: a layout pushed to a registry,
//!   or sent to a host's `docker load` with only the layers it lacks); the offline
//!   repository (`offline_repository`); and layer compression (`compression`).
//! - Data flow:
//!
//!   ```text
//!   Lockfile ──PinnedDownloads::of_lockfile──▶ each pinned .deb and artifact once
//!            ──fetch_into(&ArtifactStore), 8 at a time──▶ the store ($CAIRN_STORE)
//!   ImageNode + its id ──build_and_push──▶ build_once: the pins read from the store
//!            (cairn_debian::read_debian_package), grouped into layers, the setup layer,
//!            a layer per artifact, the files on top ──▶ an OCI layout and `<name>.built`
//!            ──registry_push (the blobs the registry lacks)──▶ `<name>.pushed`
//!   layout + the host's layers ──docker_load::load_archive──▶ the tar `docker load` reads
//!   Lockfile ──OfflineRepository::of_lockfile──▶ checked ──export(store, DIR)──▶
//!            pool/ (links to the store), dists/<suite>/ (Packages, Packages.gz, Release)
//!   ```
//!
//! - Every byte it writes follows from the lockfile: tar headers set field by field,
//!   gzip without a name or a time, JSON with sorted keys, a Release dated at the epoch.
//!   The same lockfile gives the same digests and the same repository on any machine.
//! - What it does not do: it depends on neither the compiler nor the executor, reads no
//!   spec and reaches no host. It gives the executor archives and layouts; the executor
//!   sends them over its transports and runs `docker build` where cairn's builder cannot
//!   build an image (its packages not pinned). Debian's formats (deb822, `.deb` files) are
//!   the `cairn-debian` crate's.

pub mod artifact_store;
pub mod compression;
pub mod distribution;
pub mod image_builder;
pub mod offline_repository;
mod pinned_downloads;
mod publish;
mod work_queue;

pub use pinned_downloads::{DownloadFailure, DownloadReport, PinnedDownloads};
pub use publish::{PublishSettings, Published, PushOutcome, build_and_push, push_once};
