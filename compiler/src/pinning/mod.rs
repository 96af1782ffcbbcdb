//! Package pinning: the exact packages an image installs, resolved at compile time.
//!
//! An image names packages; [`resolve`] turns those names into their closure over
//! `Pre-Depends` and `Depends` in a Debian repository's Packages index, choosing among
//! alternatives and providers as apt would (`apt-get install --no-install-recommends` on
//! an empty system), without running apt. Each [`PinnedPackage`] carries what a lockfile
//! needs to fetch and verify it: name, version, architecture, the `.deb`'s path and URL,
//! size and sha256. The output is sorted by name and depends only on the index and the
//! requirements, not on their order.
//!
//! ```text
//! Packages (plain, .gz, .xz) ──PackagesIndex::read_file / add_text──▶ PackagesIndex
//!        [Requirement "haproxy", "zookeeper=3.8.0-11"], Architecture "amd64"
//!                         ──resolve──▶ Vec<PinnedPackage>, or ResolveError naming the chain
//! ```
//!
//! - `version`: Debian version numbers and dpkg's ordering of them.
//! - `relation`: `Depends`-like fields (alternatives, version constraints, architecture
//!   qualifiers and restrictions).
//! - `packages_index`: deb822 Packages files, several merged into one index.
//! - `resolver`: the closure, apt's rules it follows and what it does not do yet (apt's
//!   problem resolver: a conflict it would settle is refused here).
//! - `source_line`: a package source as `[images] sources` names it,
//!   `"URL SUITE COMPONENT..."`.
//! - `release_file`, `index_fetcher`, `index_cache`: a suite's Release, then the Packages
//!   indexes it lists, fetched over HTTP, checked against the Release's sha256 and kept by
//!   that checksum (`$XDG_CACHE_HOME/cairn/indexes`). The Release's signature is not
//!   checked yet.
//!
//! The compiler calls this from `graph::image_pins`, which keeps the previous lockfile's
//! pins where the request is unchanged and fetches only where it must;
//! `tests/it/package_pinning.rs` checks the resolver against apt's own plan on this
//! machine's apt lists, `tests/it/image_pins.rs` the whole path against a repository the
//! test serves.

mod architecture;
mod index_cache;
mod index_fetcher;
mod packages_index;
mod relation;
mod release_file;
mod release_signature;
mod resolver;
mod source_line;
mod version;

pub use architecture::{Architecture, ArchitectureError};
pub use index_cache::IndexCache;
pub use index_fetcher::{FetchError, FetchErrorKind, FetchedIndex, IndexFetcher};
pub use packages_index::{
    IndexError, IndexSource, IndexedPackage, MultiArch, PackagesIndex, Priority,
};
pub use relation::{
    ArchQualifier, ArchRestriction, Constraint, Dependency, Operator, Relation, RelationError,
    parse_dependency, parse_provides, parse_relations,
};
pub use release_file::{ListedFile, ReleaseFile};
pub use resolver::{PinnedPackage, Requirement, RequirementError, ResolveError, resolve};
pub use source_line::{SourceLine, SourceLineError};
pub use version::{Version, VersionError};
