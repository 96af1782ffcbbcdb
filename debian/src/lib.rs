//! Debian archives read without apt or dpkg: what cairn needs to pin an image's packages at
//! compile time and to unpack them at build time.
//!
//! Design notes:
//! - What it owns: deb822, the format of Debian's control data, read and written in one
//!   place (`deb822`: every paragraph cairn reads or writes goes through it); Debian version
//!   numbers and dpkg's ordering of them (`version`); `Depends`-like fields (`relation`);
//!   architecture names (`architecture`); a package source as the spec names it
//!   (`source_line`); a repository's `Packages` indexes (`packages_index`), its suites'
//!   `Release` files (`release_file`) and their OpenPGP signatures (`release_signature`, by
//!   `gpgv` against a keyring); fetching and caching the indexes (`index_fetcher`,
//!   `index_cache`, `checksum`); the resolver (`resolver`, whose "did you mean" the compiler
//!   shares: `suggestion`); and reading a `.deb` (`debian_package`, `file_entry`).
//! - Data flow, at compile time:
//!
//!   ```text
//!   "URL SUITE COMPONENT..." ──SourceLine::parse──▶ SourceLine
//!        ──IndexFetcher::fetch (Release, verified with gpgv where a keyring is named;
//!          each Packages index checked against its sha256, kept in the IndexCache)──▶
//!   PackagesIndex  +  [Requirement "haproxy", "zookeeper=3.8.0-11"], Architecture "amd64"
//!        ──resolve──▶ Vec<PinnedPackage> (name, version, URL, size, sha256), or a
//!                     ResolveError naming the chain
//!   ```
//!
//!   and at build time: a pinned `.deb`'s bytes ──read_debian_package──▶ its control
//!   paragraph and its files as [`FileEntry`]s (unpacked, never configured).
//! - [`resolve`] chooses among alternatives and providers as apt would (`apt-get install
//!   --no-install-recommends` on an empty system); its output is sorted by name and depends
//!   only on the index and the requirements, not on their order. `tests/it/package_pinning.rs`
//!   checks it against apt's own plan on this machine's apt lists, `tests/it/image_pins.rs`
//!   the whole path against a repository the test serves.
//! - Where the spec names a keyring, a suite's Release is verified before anything it lists
//!   is trusted (`InRelease` preferred, as apt prefers it): the chain that makes a pin mean
//!   the archive's package.
//! - What it does not do: it knows nothing of lockfiles, specs, images or hosts (it depends
//!   on no other cairn crate); it never runs maintainer scripts or apt's problem resolver (a
//!   conflict apt would settle is refused); it reads no `deb-src`, flat repository or
//!   `Packages.lz4`.

mod architecture;
mod checksum;
mod deb822;
mod debian_package;
mod file_entry;
mod index_cache;
mod index_fetcher;
mod packages_index;
mod relation;
mod release_file;
mod release_signature;
mod resolver;
mod source_line;
pub mod suggestion;
mod version;

pub use architecture::{Architecture, ArchitectureError};
pub use checksum::sha256_hex;
pub use deb822::{
    Field, Paragraph, ParagraphError, ParagraphErrorKind, ParagraphWriter, Paragraphs, paragraphs,
};
pub use debian_package::{
    DebianPackage, PackageError, read_control_paragraph, read_debian_package,
};
pub use file_entry::{EntryKind, FileEntry};
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
pub use resolver::{
    BaseResolution, PinnedPackage, Requirement, RequirementError, ResolveError, base_system,
    resolve, resolve_on_base,
};
pub use source_line::{SourceLine, SourceLineError};
pub use version::{Version, VersionError};
