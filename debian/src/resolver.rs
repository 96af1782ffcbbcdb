//! The closure of a set of requested packages over `Pre-Depends` and `Depends`, chosen as
//! apt chooses it (apt 2.6's `pkgDepCache::MarkInstall`), without running apt: the same
//! packages at the same versions as `apt-get install --no-install-recommends` plans on an
//! empty system, which `tests/it/package_pinning.rs` checks against apt itself.
//!
//! The rules, in apt's terms:
//! - **One version per package, its candidate**: the highest version in the index for the
//!   architecture (a package of that architecture or of `all`), as apt's default policy
//!   picks with every source at the same priority; a requirement `name=version` makes that
//!   version the candidate instead. A dependency is met by a package only through its
//!   candidate: an older version that would meet a `<<` constraint is not considered (apt
//!   does not either: the dependency is then unsatisfiable).
//! - **Requested packages first**: every requested package is marked before any dependency
//!   is followed, so a requested package meets the dependencies it can (apt marks them all,
//!   then installs their dependencies). Their dependencies are then followed in name order.
//! - **Depth first, in field order**: a package is marked, then each of its relations is
//!   followed in turn, `Pre-Depends` before `Depends` (the order of apt's cache), each
//!   dependency's own closure before the next relation of the package.
//! - **Alternatives**: a relation that a package already in the closure meets is left as it
//!   is (so an alternative already chosen is preferred, whichever position it has).
//!   Otherwise the solutions of the first alternative are tried, then those of the second,
//!   and so on; the first whose installation succeeds is taken.
//! - **Solutions of one alternative**: the package of that name (if its candidate meets
//!   the constraint and architecture qualifier) and the packages that provide that name
//!   (`Provides`; a versioned dependency is met only by a versioned Provides whose version
//!   meets it). Several are ordered as apt's `CompareProviders` orders them: the package of
//!   that very name first, then `Essential` ones (apt itself counts as essential, as in
//!   apt's cache), then `Important`/`Protected` ones, then by `Priority` (required first).
//!   Where apt would fall back to its cache's internal package ids, which depend on the
//!   order in which it first met each name, this falls back to the name, so that the
//!   choice is deterministic; `tests/it/package_pinning.rs` compares the result with apt's
//!   own plan.
//! - **Installability**: a package is not taken when one of its relations has no
//!   alternative that the closure or any candidate could meet (apt's
//!   `IsInstallOkDependenciesSatisfiableByCandidates`); a package whose dependencies fail
//!   deeper down is taken out again and the next solution tried. As in apt, what such an
//!   attempt pulled in before it failed stays in the closure.
//! - **Conflicts and Breaks**, as `MarkInstall` follows them: when a package is taken,
//!   what its `Conflicts` and `Breaks` name (the package of that name or a provider of it,
//!   never itself) is taken out of the closure; a package that conflicts with a requested
//!   package is refused instead, and what a requested package conflicts with is never
//!   chosen. A dependency that a package taken out had met is met again at the end, by a
//!   solution that conflicts with nothing in the closure (a simple stand-in for apt's
//!   problem resolver, which this does not reproduce); a closure that still holds two
//!   conflicting packages is refused, naming both.
//! - **Architecture qualifiers**: `:any` is met only by a package (or a provider) that is
//!   `Multi-Arch: allowed`, as dpkg and apt read it; `:native` and the target
//!   architecture's own name are met as the plain name; another architecture's name is
//!   not met (one architecture is resolved at a time). Alternatives restricted by
//!   `[...]` to other architectures are left out.
//!
//! What it does not do (yet):
//! - apt's problem resolver (`pkgProblemResolver`), which apt runs when its marking leaves
//!   a conflict or an unmet dependency: where apt would let it choose, this refuses
//!   (above). apt's protection of the packages that are the only way to meet a requested
//!   package's dependencies is not modelled either: only requested packages are protected.
//! - `Recommends` and `Suggests` are not followed (`--no-install-recommends`).
//! - `Essential: yes` packages are not added unless something depends on them: an image
//!   built from packages alone has no Debian base that would already hold them.
//! - Pinning preferences, release selection (`name/release`) and several architectures at
//!   once (multiarch) are not supported.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::architecture::Architecture;
use crate::packages_index::{IndexedPackage, MultiArch, PackagesIndex, Priority};
use crate::relation::{ArchQualifier, Dependency};
use crate::suggestion::backticked;
use crate::version::{Version, VersionError};

/// A package to install, by name, optionally at an exact version (`name=version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub name: String,
    pub version: Option<Version>,
}

/// Why a string is not a requirement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequirementError {
    #[error("invalid package requirement `{text}`: expected `name` or `name=version`")]
    Malformed { text: String },
    #[error("invalid package requirement `{text}`: {source}")]
    Version { text: String, source: VersionError },
}

/// One package of a resolved closure: what a lockfile pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedPackage {
    pub name: String,
    pub version: Version,
    /// The package's `Architecture` field: the target architecture or `all`.
    pub architecture: String,
    /// The `.deb`'s path relative to its repository's root.
    pub filename: String,
    /// Where the `.deb` is downloaded from.
    pub url: String,
    pub size: u64,
    /// Lowercase hexadecimal.
    pub sha256: String,
    /// Why it is in the closure: `None` when it was requested (or provides what was
    /// requested), else the package whose dependency first pulled it in.
    pub needed_by: Option<String>,
}

/// Why a set of requirements has no closure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("package `{name}` is not in the repository{}", hint(.suggestion))]
    NotInRepository {
        name: String,
        /// The nearest name the repository has, if one is close.
        suggestion: Option<String>,
    },
    #[error(
        "package `{name}` has no version {version} for {architecture} in the repository \
         (it has {})",
        if .available.is_empty() { "none".to_string() } else { .available.join(", ") }
    )]
    VersionNotInRepository {
        name: String,
        version: String,
        architecture: String,
        available: Vec<String>,
    },
    #[error(
        "package `{name}` is virtual, provided by {}\nhint: request one of them",
        backticked(.providers.iter().map(String::as_str))
    )]
    SeveralProviders {
        name: String,
        providers: Vec<String>,
    },
    #[error("package `{name}` is requested at two versions, {first} and {second}")]
    ConflictingRequirements {
        name: String,
        first: String,
        second: String,
    },
    /// Dependencies that nothing in the repository meets, one message per problem, each
    /// naming the chain of packages that needed it.
    #[error("{}", .problems.join("\n"))]
    Unsatisfiable { problems: Vec<String> },
}

fn hint(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(name) => format!("\nhint: did you mean `{name}`?"),
        None => String::new(),
    }
}

impl Requirement {
    /// Parses `name` or `name=version`.
    pub fn parse(text: &str) -> Result<Requirement, RequirementError> {
        let (name, version) = match text.split_once('=') {
            Some((name, version)) => (name, Some(version)),
            None => (text, None),
        };
        let valid_name = name.len() >= 2
            && name.as_bytes()[0].is_ascii_alphanumeric()
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"+-._".contains(&byte));
        if !valid_name {
            return Err(RequirementError::Malformed {
                text: text.to_string(),
            });
        }
        let version = version.map(Version::parse).transpose().map_err(|source| {
            RequirementError::Version {
                text: text.to_string(),
                source,
            }
        })?;
        Ok(Requirement {
            name: name.to_string(),
            version,
        })
    }
}

impl FromStr for Requirement {
    type Err = RequirementError;

    fn from_str(text: &str) -> Result<Requirement, RequirementError> {
        Requirement::parse(text)
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(version) => write!(formatter, "{}={version}", self.name),
            None => formatter.write_str(&self.name),
        }
    }
}

/// Resolves `requirements` and their `Pre-Depends` and `Depends` against `index` for
/// `architecture`, as apt would (see the module's notes). The result is sorted by name,
/// one version per package.
pub fn resolve(
    index: &PackagesIndex,
    requirements: &[Requirement],
    architecture: &Architecture,
) -> Result<Vec<PinnedPackage>, ResolveError> {
    Ok(resolve_on_base(index, requirements, architecture, &BTreeSet::new())?.packages)
}

/// What a host installs on top of its base system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseResolution {
    /// The closure, less the base: what apt installs. Sorted by name.
    pub packages: Vec<PinnedPackage>,
    /// The packages of the base the closure relies on: each meets a relation of a package
    /// of the closure, or is itself requested. Sorted by name.
    pub assumed: Vec<PinnedPackage>,
}

/// Resolves `requirements` as [`resolve`] does, on a host that already has `base` (names,
/// each at its candidate version, and closed under their own dependencies: see
/// [`base_system`]): a relation the base meets is met, as apt leaves an installed package
/// that meets it, and nothing of the base is installed.
pub fn resolve_on_base(
    index: &PackagesIndex,
    requirements: &[Requirement],
    architecture: &Architecture,
    base: &BTreeSet<String>,
) -> Result<BaseResolution, ResolveError> {
    let mut resolver = Resolver::new(index, architecture, requirements)?;
    for name in base {
        if let Some((name, _)) = resolver.candidates.get_key_value(name.as_str()) {
            resolver.marked.insert(name, None);
            resolver.base.insert(name);
        }
    }

    let mut requested: BTreeMap<&str, &IndexedPackage> = BTreeMap::new();
    for requirement in requirements {
        let package = resolver.requested_package(requirement)?;
        requested.insert(package.name.as_str(), package);
    }
    for &name in requested.keys() {
        resolver.marked.insert(name, None);
    }
    resolver.requested = requested.keys().copied().collect();

    let mut problems = Vec::new();
    for &package in requested.values() {
        // What a requested package conflicts with is taken out of the closure, or, when
        // the closure does not hold it, may not be chosen any more (apt discards its
        // candidate).
        for (field, dependency, other) in resolver.conflicting(package) {
            if resolver.requested.contains(other.name.as_str()) {
                problems.push(format!(
                    "the requested packages conflict: `{}` {} declares `{field}: {dependency}`, \
                     and `{}` {} is requested too",
                    package.name, package.version, other.name, other.version
                ));
            } else if resolver.marked.remove(other.name.as_str()).is_none() {
                resolver.excluded.insert(other.name.as_str(), package);
            }
        }
        for failure in resolver.install_dependencies(package, false) {
            problems.push(render(&failure, &[]));
        }
    }
    // A package a conflict took out, or one that an attempt which failed deeper down
    // pulled in (apt keeps those), may leave a dependency of the closure unmet: it is met
    // again here, avoiding packages that conflict with the closure, as apt's problem
    // resolver would try to.
    if problems.is_empty() && !resolver.broken_packages().is_empty() {
        resolver.avoided = resolver.conflicting_with_closure();
        for package in resolver.broken_packages() {
            for failure in resolver.install_dependencies(package, false) {
                problems.push(render(&failure, &[]));
            }
        }
        resolver.avoided.clear();
    }
    if problems.is_empty() {
        for package in resolver.broken_packages() {
            problems.push(format!(
                "internal error: `{}` {} is in the closure with a dependency unmet",
                package.name, package.version
            ));
        }
        problems.extend(resolver.conflicts_in_closure());
    }
    if !problems.is_empty() {
        return Err(ResolveError::Unsatisfiable { problems });
    }

    let pinned = |package: &IndexedPackage, needed_by: Option<&str>| PinnedPackage {
        name: package.name.clone(),
        version: package.version.clone(),
        architecture: package.architecture.clone(),
        filename: package.filename.clone(),
        url: index.url_of(package),
        size: package.size,
        sha256: package.sha256.clone(),
        needed_by: needed_by.map(str::to_string),
    };
    let assumed = resolver.base_relied_on(requested.values().copied());
    Ok(BaseResolution {
        packages: resolver
            .marked
            .iter()
            .filter(|(name, _)| !resolver.base.contains(*name))
            .map(|(name, needed_by)| pinned(resolver.candidates[name], *needed_by))
            .collect(),
        assumed: assumed
            .into_iter()
            .map(|package| pinned(package, None))
            .collect(),
    })
}

/// The base system a host of a Debian release has at the least: every package of the
/// index whose `Priority` is `lowest` or more important (`Required`: what debootstrap's
/// minbase installs; `Important`: Debian's installer's base system), with their closure,
/// as names.
pub fn base_system(
    index: &PackagesIndex,
    architecture: &Architecture,
    lowest: Priority,
) -> Result<BTreeSet<String>, ResolveError> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for package in index.packages() {
        if architecture.installs(&package.architecture)
            && package.priority.is_some_and(|priority| priority <= lowest)
        {
            names.insert(package.name.as_str());
        }
    }
    let requirements: Vec<Requirement> = names
        .into_iter()
        .map(|name| Requirement {
            name: name.to_string(),
            version: None,
        })
        .collect();
    Ok(resolve(index, &requirements, architecture)?
        .into_iter()
        .map(|package| package.name)
        .collect())
}

struct Resolver<'index> {
    index: &'index PackagesIndex,
    architecture: &'index Architecture,
    /// The version of each name that would be installed.
    candidates: BTreeMap<&'index str, &'index IndexedPackage>,
    /// By provided name, the candidates providing it and their `Provides` entry.
    providers: BTreeMap<&'index str, Vec<(&'index IndexedPackage, &'index Dependency)>>,
    /// The closure so far: each name with the package that first needed it.
    marked: BTreeMap<&'index str, Option<&'index str>>,
    /// The names of the packages that were requested.
    requested: BTreeSet<&'index str>,
    /// Packages a requested package conflicts with, which are never chosen, each with the
    /// requested package.
    excluded: BTreeMap<&'index str, &'index IndexedPackage>,
    /// Packages that conflict with the closure, not chosen while unmet dependencies are
    /// met again at the end.
    avoided: BTreeSet<&'index str>,
    /// The host's base system: in the closure from the start, never installed.
    base: BTreeSet<&'index str>,
}

/// A package that could not be installed, and why.
#[derive(Clone)]
struct Failure<'index> {
    package: &'index IndexedPackage,
    problem: Problem<'index>,
}

#[derive(Clone)]
enum Problem<'index> {
    /// A relation none of whose alternatives could be met; why, one per alternative.
    Unmet {
        alternatives: Vec<&'index Dependency>,
        reasons: Vec<Reason<'index>>,
    },
    /// It conflicts with a requested package, which cannot be taken out.
    ConflictsWithRequested {
        field: &'static str,
        dependency: &'index Dependency,
        requested: &'index IndexedPackage,
    },
}

#[derive(Clone)]
enum Reason<'index> {
    /// Nothing by that name, real or provided.
    Missing,
    /// The package exists, but its candidate does not meet the dependency.
    Unsuitable { candidate: &'index IndexedPackage },
    /// The package exists, but a requested package conflicts with it.
    Excluded {
        candidate: &'index IndexedPackage,
        by: &'index IndexedPackage,
    },
    /// The package exists, but it conflicts with the closure.
    Avoided { candidate: &'index IndexedPackage },
    /// Only providers exist, and none meets the dependency.
    NoSuitableProvider {
        providers: Vec<&'index IndexedPackage>,
    },
    /// Solutions were tried, and they could not be installed.
    Failed(Vec<Failure<'index>>),
}

impl<'index> Resolver<'index> {
    fn new(
        index: &'index PackagesIndex,
        architecture: &'index Architecture,
        requirements: &[Requirement],
    ) -> Result<Resolver<'index>, ResolveError> {
        let mut candidates: BTreeMap<&str, &IndexedPackage> = BTreeMap::new();
        for package in index.packages() {
            if !architecture.installs(&package.architecture) {
                continue;
            }
            let candidate = candidates.entry(package.name.as_str()).or_insert(package);
            if candidate.version < package.version {
                *candidate = package;
            }
        }

        let mut pins: BTreeMap<&str, &Version> = BTreeMap::new();
        for requirement in requirements {
            let Some(version) = &requirement.version else {
                continue;
            };
            if let Some(first) = pins.insert(requirement.name.as_str(), version)
                && first != version
            {
                return Err(ResolveError::ConflictingRequirements {
                    name: requirement.name.clone(),
                    first: first.to_string(),
                    second: version.to_string(),
                });
            }
            let mut versions: Vec<&IndexedPackage> = index
                .versions_of(&requirement.name)
                .filter(|package| architecture.installs(&package.architecture))
                .collect();
            let Some(pinned) = versions
                .iter()
                .find(|package| package.version == *version)
                .copied()
            else {
                versions.sort_by(|left, right| left.version.cmp(&right.version));
                return Err(ResolveError::VersionNotInRepository {
                    name: requirement.name.clone(),
                    version: version.to_string(),
                    architecture: architecture.to_string(),
                    available: versions
                        .iter()
                        .map(|package| package.version.to_string())
                        .collect(),
                });
            };
            candidates.insert(pinned.name.as_str(), pinned);
        }

        let mut providers: BTreeMap<&str, Vec<(&IndexedPackage, &Dependency)>> = BTreeMap::new();
        for package in candidates.values() {
            for provided in &package.provides {
                // apt does not record a package providing its own name.
                if provided.name != package.name && provided.applies_to(architecture) {
                    providers
                        .entry(provided.name.as_str())
                        .or_default()
                        .push((package, provided));
                }
            }
        }

        Ok(Resolver {
            index,
            architecture,
            candidates,
            providers,
            marked: BTreeMap::new(),
            requested: BTreeSet::new(),
            excluded: BTreeMap::new(),
            avoided: BTreeSet::new(),
            base: BTreeSet::new(),
        })
    }

    /// The package a requirement installs: the package of that name, or the only package
    /// providing it.
    fn requested_package(
        &self,
        requirement: &Requirement,
    ) -> Result<&'index IndexedPackage, ResolveError> {
        if let Some(package) = self.candidates.get(requirement.name.as_str()) {
            return Ok(package);
        }
        let mut providers: Vec<&IndexedPackage> = self
            .providers
            .get(requirement.name.as_str())
            .into_iter()
            .flatten()
            .map(|(package, _)| *package)
            .collect();
        providers.sort_by(|left, right| left.name.cmp(&right.name));
        providers.dedup_by(|left, right| left.name == right.name);
        match providers.as_slice() {
            [only] => Ok(only),
            [] => Err(ResolveError::NotInRepository {
                name: requirement.name.clone(),
                suggestion: crate::suggestion::nearest(&requirement.name, self.index.names())
                    .map(str::to_string),
            }),
            several => Err(ResolveError::SeveralProviders {
                name: requirement.name.clone(),
                providers: several.iter().map(|package| package.name.clone()).collect(),
            }),
        }
    }

    /// The relations of `package` that apply on the architecture, `Pre-Depends` first,
    /// each as its list of alternatives.
    fn relations_of(&self, package: &'index IndexedPackage) -> Vec<Vec<&'index Dependency>> {
        package
            .pre_depends
            .iter()
            .chain(&package.depends)
            .map(|relation| {
                relation
                    .alternatives
                    .iter()
                    .filter(|dependency| dependency.applies_to(self.architecture))
                    .collect::<Vec<_>>()
            })
            .filter(|alternatives| !alternatives.is_empty())
            .collect()
    }

    /// Whether the candidate `package`, of the dependency's name, meets it.
    fn package_meets(&self, dependency: &Dependency, package: &IndexedPackage) -> bool {
        let architecture_met = match &dependency.qualifier {
            None | Some(ArchQualifier::Native) => true,
            Some(ArchQualifier::Any) => package.multi_arch == MultiArch::Allowed,
            Some(ArchQualifier::Named(name)) => name == self.architecture.as_str(),
        };
        architecture_met && dependency.allows(&package.version)
    }

    /// Whether `provider`, through its `Provides` entry `provided`, meets `dependency`.
    fn provider_meets(
        &self,
        dependency: &Dependency,
        provider: &IndexedPackage,
        provided: &Dependency,
    ) -> bool {
        let architecture_met = match &dependency.qualifier {
            None | Some(ArchQualifier::Native) => true,
            Some(ArchQualifier::Any) => {
                provider.multi_arch == MultiArch::Allowed
                    || provided.qualifier == Some(ArchQualifier::Any)
            }
            Some(ArchQualifier::Named(name)) => name == self.architecture.as_str(),
        };
        let version_met = match &dependency.constraint {
            None => true,
            Some(constraint) => provided
                .constraint
                .as_ref()
                .is_some_and(|provided| constraint.allows(&provided.version)),
        };
        architecture_met && version_met
    }

    /// The candidates that meet `dependency` (none that a requested package excludes), in
    /// the order of the index's names and provides.
    fn matching(&self, dependency: &Dependency) -> Vec<&'index IndexedPackage> {
        let mut matching = Vec::new();
        if let Some(package) = self.candidates.get(dependency.name.as_str())
            && self.package_meets(dependency, package)
        {
            matching.push(*package);
        }
        for (provider, provided) in self
            .providers
            .get(dependency.name.as_str())
            .into_iter()
            .flatten()
        {
            if self.provider_meets(dependency, provider, provided)
                && !matching.iter().any(|known| std::ptr::eq(*known, *provider))
            {
                matching.push(provider);
            }
        }
        matching.retain(|package| !self.excluded.contains_key(package.name.as_str()));
        matching
    }

    /// The candidates that may be installed to meet `dependency`, best first.
    fn solutions(&self, dependency: &Dependency) -> Vec<&'index IndexedPackage> {
        let mut solutions = self.matching(dependency);
        solutions.retain(|package| !self.avoided.contains(package.name.as_str()));
        solutions.sort_by(|left, right| compare_providers(left, right, &dependency.name));
        solutions
    }

    /// What `package` conflicts with (`Conflicts` and `Breaks`): each field, entry and
    /// candidate it matches, other than the package itself.
    fn conflicting(
        &self,
        package: &'index IndexedPackage,
    ) -> Vec<(&'static str, &'index Dependency, &'index IndexedPackage)> {
        let mut conflicting = Vec::new();
        for (field, relations) in [
            ("Conflicts", &package.conflicts),
            ("Breaks", &package.breaks),
        ] {
            for dependency in relations.iter().flat_map(|relation| &relation.alternatives) {
                if !dependency.applies_to(self.architecture) {
                    continue;
                }
                for other in self.matching(dependency) {
                    if other.name != package.name {
                        conflicting.push((field, dependency, other));
                    }
                }
            }
        }
        conflicting
    }

    /// Whether a package already in the closure meets `dependency`.
    fn met_by_closure(&self, dependency: &Dependency) -> bool {
        let by_name = self
            .candidates
            .get(dependency.name.as_str())
            .is_some_and(|package| {
                self.marked.contains_key(package.name.as_str())
                    && self.package_meets(dependency, package)
            });
        by_name
            || self
                .providers
                .get(dependency.name.as_str())
                .into_iter()
                .flatten()
                .any(|(provider, provided)| {
                    self.marked.contains_key(provider.name.as_str())
                        && self.provider_meets(dependency, provider, provided)
                })
    }

    /// The packages of the base that `requested` are, or that meet a relation of a package
    /// installed on top of the base: for each such relation, the first package of the base
    /// that meets it (by name, else as a provider), in name order.
    fn base_relied_on(
        &self,
        requested: impl Iterator<Item = &'index IndexedPackage>,
    ) -> Vec<&'index IndexedPackage> {
        let mut relied_on: BTreeMap<&str, &IndexedPackage> = BTreeMap::new();
        for package in requested {
            if self.base.contains(package.name.as_str()) {
                relied_on.insert(package.name.as_str(), package);
            }
        }
        let installed = self
            .marked
            .keys()
            .filter(|name| !self.base.contains(*name))
            .map(|name| self.candidates[name]);
        for package in installed {
            for alternatives in self.relations_of(package) {
                if let Some(met_by) = alternatives
                    .iter()
                    .find_map(|dependency| self.base_package_meeting(dependency))
                {
                    relied_on.insert(met_by.name.as_str(), met_by);
                }
            }
        }
        relied_on.into_values().collect()
    }

    /// A package of the base that meets `dependency`: the package of its name, else a
    /// provider.
    fn base_package_meeting(&self, dependency: &Dependency) -> Option<&'index IndexedPackage> {
        let by_name = self
            .candidates
            .get(dependency.name.as_str())
            .filter(|package| {
                self.base.contains(package.name.as_str()) && self.package_meets(dependency, package)
            })
            .copied();
        by_name.or_else(|| {
            self.providers
                .get(dependency.name.as_str())
                .into_iter()
                .flatten()
                .find(|(provider, provided)| {
                    self.base.contains(provider.name.as_str())
                        && self.provider_meets(dependency, provider, provided)
                })
                .map(|(provider, _)| *provider)
        })
    }

    /// Adds `package` and its closure, or explains why it cannot be installed. As apt's
    /// `MarkInstall`: a package one of whose relations nothing could meet is refused; what
    /// it conflicts with is taken out of the closure (unless requested, which refuses it);
    /// it is marked, then its dependencies are followed, and if one fails it is taken out
    /// again (what they pulled in stays).
    fn mark_install(
        &mut self,
        package: &'index IndexedPackage,
        needed_by: &'index str,
    ) -> Result<(), Failure<'index>> {
        if self.marked.contains_key(package.name.as_str()) {
            return Ok(());
        }
        for alternatives in self.relations_of(package) {
            let satisfiable = alternatives.iter().any(|dependency| {
                self.met_by_closure(dependency) || !self.solutions(dependency).is_empty()
            });
            if !satisfiable {
                let reasons = alternatives
                    .iter()
                    .map(|dependency| self.reason(dependency, &[]))
                    .collect();
                return Err(Failure {
                    package,
                    problem: Problem::Unmet {
                        alternatives,
                        reasons,
                    },
                });
            }
        }
        for (field, dependency, other) in self.conflicting(package) {
            if !self.marked.contains_key(other.name.as_str()) {
                continue;
            }
            if self.requested.contains(other.name.as_str()) {
                return Err(Failure {
                    package,
                    problem: Problem::ConflictsWithRequested {
                        field,
                        dependency,
                        requested: other,
                    },
                });
            }
            self.marked.remove(other.name.as_str());
        }
        self.marked.insert(package.name.as_str(), Some(needed_by));
        match self.install_dependencies(package, true).into_iter().next() {
            Some(failure) => {
                self.marked.remove(package.name.as_str());
                Err(failure)
            }
            None => Ok(()),
        }
    }

    /// Meets each relation of `package` that the closure does not meet yet. With
    /// `stop_at_first_failure`, returns at the first relation that cannot be met (an
    /// automatically installed package); without, tries every relation (a requested one).
    fn install_dependencies(
        &mut self,
        package: &'index IndexedPackage,
        stop_at_first_failure: bool,
    ) -> Vec<Failure<'index>> {
        let mut failures = Vec::new();
        for alternatives in self.relations_of(package) {
            if alternatives
                .iter()
                .any(|dependency| self.met_by_closure(dependency))
            {
                continue;
            }
            let mut solutions: Vec<&IndexedPackage> = Vec::new();
            for dependency in &alternatives {
                for solution in self.solutions(dependency) {
                    if !solutions.iter().any(|known| std::ptr::eq(*known, solution)) {
                        solutions.push(solution);
                    }
                }
            }
            let mut attempts = Vec::new();
            let mut met = false;
            for solution in solutions {
                match self.mark_install(solution, &package.name) {
                    Ok(()) => {
                        met = true;
                        break;
                    }
                    Err(failure) => attempts.push(failure),
                }
            }
            if met {
                continue;
            }
            let reasons = alternatives
                .iter()
                .map(|dependency| self.reason(dependency, &attempts))
                .collect();
            failures.push(Failure {
                package,
                problem: Problem::Unmet {
                    alternatives,
                    reasons,
                },
            });
            if stop_at_first_failure {
                break;
            }
        }
        failures
    }

    /// Why `dependency` is not met: the failed attempts at its solutions, or why it has
    /// none.
    fn reason(&self, dependency: &Dependency, attempts: &[Failure<'index>]) -> Reason<'index> {
        let solutions = self.solutions(dependency);
        if !solutions.is_empty() {
            return Reason::Failed(
                attempts
                    .iter()
                    .filter(|failure| {
                        solutions
                            .iter()
                            .any(|solution| std::ptr::eq(*solution, failure.package))
                    })
                    .cloned()
                    .collect(),
            );
        }
        if let Some(&candidate) = self.candidates.get(dependency.name.as_str()) {
            if let Some(&by) = self.excluded.get(candidate.name.as_str()) {
                return Reason::Excluded { candidate, by };
            }
            if self.avoided.contains(candidate.name.as_str()) {
                return Reason::Avoided { candidate };
            }
            return Reason::Unsuitable { candidate };
        }
        match self.providers.get(dependency.name.as_str()) {
            Some(providers) => Reason::NoSuitableProvider {
                providers: providers.iter().map(|(provider, _)| *provider).collect(),
            },
            None => Reason::Missing,
        }
    }

    /// Packages of the closure with a relation the closure does not meet, by name.
    fn broken_packages(&self) -> Vec<&'index IndexedPackage> {
        self.marked
            .keys()
            .map(|name| self.candidates[name])
            .filter(|package| {
                self.relations_of(package).iter().any(|alternatives| {
                    !alternatives
                        .iter()
                        .any(|dependency| self.met_by_closure(dependency))
                })
            })
            .collect()
    }

    /// The candidates outside the closure that conflict with a package in it, or that a
    /// package in it conflicts with.
    fn conflicting_with_closure(&self) -> BTreeSet<&'index str> {
        let mut names = BTreeSet::new();
        for candidate in self.candidates.values() {
            let in_closure = self.marked.contains_key(candidate.name.as_str());
            for (_, _, other) in self.conflicting(candidate) {
                let other_in_closure = self.marked.contains_key(other.name.as_str());
                if in_closure && !other_in_closure {
                    names.insert(other.name.as_str());
                } else if !in_closure && other_in_closure {
                    names.insert(candidate.name.as_str());
                }
            }
        }
        names
    }

    /// A problem for each conflict between two packages of the closure.
    fn conflicts_in_closure(&self) -> Vec<String> {
        let why = |name: &str| match self.marked.get(name).copied().flatten() {
            Some(needed_by) => format!("needed by `{needed_by}`"),
            None => "requested".to_string(),
        };
        let mut problems = Vec::new();
        for &name in self.marked.keys() {
            let package = self.candidates[name];
            for (field, dependency, other) in self.conflicting(package) {
                if self.marked.contains_key(other.name.as_str()) {
                    problems.push(format!(
                        "`{}` {} ({}) declares `{field}: {dependency}`, and `{}` {} ({}) is in \
                         the closure too: cairn does not yet choose around such a conflict",
                        package.name,
                        package.version,
                        why(name),
                        other.name,
                        other.version,
                        why(&other.name)
                    ));
                }
            }
        }
        problems
    }
}

/// apt's `CompareProviders`, for packages that all meet one dependency on `name`: `Less`
/// when `left` is preferred.
fn compare_providers(left: &IndexedPackage, right: &IndexedPackage, name: &str) -> Ordering {
    let essential = |package: &IndexedPackage| package.essential || package.name == "apt";
    (right.name == name)
        .cmp(&(left.name == name))
        .then_with(|| essential(right).cmp(&essential(left)))
        .then_with(|| right.important.cmp(&left.important))
        .then_with(|| priority_rank(left).cmp(&priority_rank(right)))
        .then_with(|| left.name.cmp(&right.name))
}

/// apt's numbering of priorities, where a package without one comes first.
fn priority_rank(package: &IndexedPackage) -> u8 {
    match package.priority {
        None => 0,
        Some(Priority::Required) => 1,
        Some(Priority::Important) => 2,
        Some(Priority::Standard) => 3,
        Some(Priority::Optional) => 4,
        Some(Priority::Extra) => 5,
    }
}

/// A failure as a message, naming the chain of packages that needed it; `chain` holds
/// the packages above `failure.package`, the requested one first.
fn render(failure: &Failure, chain: &[String]) -> String {
    let mut chain = chain.to_vec();
    chain.push(format!(
        "`{}` {}",
        failure.package.name, failure.package.version
    ));
    let needed_by = chain
        .iter()
        .rev()
        .cloned()
        .collect::<Vec<_>>()
        .join(", needed by ");
    let (alternatives, reasons) = match &failure.problem {
        Problem::ConflictsWithRequested {
            field,
            dependency,
            requested,
        } => {
            return format!(
                "{needed_by}, conflicts with the requested `{}` {} (`{field}: {dependency}`)",
                requested.name, requested.version
            );
        }
        Problem::Unmet {
            alternatives,
            reasons,
        } => (alternatives, reasons),
    };
    if let ([dependency], [reason]) = (alternatives.as_slice(), reasons.as_slice()) {
        return render_reason(dependency, reason, &needed_by, &chain);
    }
    let relation = alternatives
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" | ");
    let mut message =
        format!("none of the alternatives `{relation}` (needed by {needed_by}) can be installed:");
    for (dependency, reason) in alternatives.iter().zip(reasons) {
        for line in render_reason(dependency, reason, &needed_by, &chain).lines() {
            message.push_str("\n  ");
            message.push_str(line);
        }
    }
    message
}

fn render_reason(
    dependency: &Dependency,
    reason: &Reason,
    needed_by: &str,
    chain: &[String],
) -> String {
    match reason {
        Reason::Missing => format!(
            "package `{}` (needed as `{dependency}` by {needed_by}) is not in the repository",
            dependency.name
        ),
        Reason::Unsuitable { candidate } => {
            let why = if dependency.qualifier == Some(ArchQualifier::Any)
                && candidate.multi_arch != MultiArch::Allowed
            {
                " (it is not `Multi-Arch: allowed`)"
            } else {
                ""
            };
            format!(
                "package `{}` {} does not satisfy `{dependency}`{why} (needed by {needed_by})",
                candidate.name, candidate.version
            )
        }
        Reason::Excluded { candidate, by } => format!(
            "package `{}` {} (needed as `{dependency}` by {needed_by}) conflicts with the \
             requested `{}` {}",
            candidate.name, candidate.version, by.name, by.version
        ),
        Reason::Avoided { candidate } => format!(
            "package `{}` {} (needed as `{dependency}` by {needed_by}) conflicts with the \
             closure",
            candidate.name, candidate.version
        ),
        Reason::NoSuitableProvider { providers } => {
            let mut names: Vec<String> = providers
                .iter()
                .map(|provider| format!("`{}` {}", provider.name, provider.version))
                .collect();
            names.sort();
            format!(
                "no package provides `{dependency}` (needed by {needed_by}); `{}` is provided \
                 without a matching version by {}",
                dependency.name,
                names.join(", ")
            )
        }
        Reason::Failed(failures) => failures
            .iter()
            .map(|failure| render(failure, chain))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages_index::IndexSource;

    /// An index from short stanzas: each `Package: name` line starts one, and the fields
    /// that every stanza needs but these tests do not care about are filled in.
    fn index(stanzas: &str) -> PackagesIndex {
        let mut text = String::new();
        for stanza in stanzas.split("\n\n") {
            let stanza = stanza.trim();
            if stanza.is_empty() {
                continue;
            }
            let name = stanza
                .lines()
                .find_map(|line| line.strip_prefix("Package: "))
                .unwrap();
            text.push_str(stanza);
            if !stanza.contains("Architecture:") {
                text.push_str("\nArchitecture: amd64");
            }
            if !stanza.contains("Version:") {
                text.push_str("\nVersion: 1.0-1");
            }
            text.push_str(&format!(
                "\nFilename: pool/main/{name}.deb\nSize: 100\nSHA256: {}\n\n",
                "ab".repeat(32)
            ));
        }
        PackagesIndex::parse(
            IndexSource {
                name: "Packages".to_string(),
                repository_url: "http://deb.example/debian".to_string(),
            },
            &text,
        )
        .unwrap()
    }

    fn amd64() -> Architecture {
        Architecture::new("amd64").unwrap()
    }

    fn requirements(names: &[&str]) -> Vec<Requirement> {
        names
            .iter()
            .map(|name| Requirement::parse(name).unwrap())
            .collect()
    }

    /// `name version` of each package of the closure, sorted by name.
    fn closure(index: &PackagesIndex, names: &[&str]) -> Vec<String> {
        resolve(index, &requirements(names), &amd64())
            .unwrap_or_else(|error| panic!("{error}"))
            .iter()
            .map(|package| format!("{} {}", package.name, package.version))
            .collect()
    }

    fn error(index: &PackagesIndex, names: &[&str]) -> String {
        resolve(index, &requirements(names), &amd64())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_closure_follows_depends_and_pre_depends_but_not_recommends() {
        let index = index(
            "Package: app\nPre-Depends: init\nDepends: libc, libssl\nRecommends: docs\n\n\
             Package: init\n\n\
             Package: libc\n\n\
             Package: libssl\nDepends: libc\n\n\
             Package: docs\n\n\
             Package: unrelated\n",
        );
        assert_eq!(
            closure(&index, &["app"]),
            ["app 1.0-1", "init 1.0-1", "libc 1.0-1", "libssl 1.0-1"]
        );
    }

    #[test]
    fn the_highest_version_is_taken_unless_one_is_requested() {
        let index = index(
            "Package: app\nVersion: 1.0-1\nDepends: lib (>= 1.0)\n\n\
             Package: lib\nVersion: 1.0-1\n\n\
             Package: lib\nVersion: 1.0-1+deb12u1\n\n\
             Package: lib\nVersion: 1.0~rc1-1\n",
        );
        assert_eq!(
            closure(&index, &["app"]),
            ["app 1.0-1", "lib 1.0-1+deb12u1"]
        );
        assert_eq!(
            closure(&index, &["app", "lib=1.0-1"]),
            ["app 1.0-1", "lib 1.0-1"]
        );
        assert_eq!(
            error(&index, &["lib=2.0"]),
            "package `lib` has no version 2.0 for amd64 in the repository \
             (it has 1.0~rc1-1, 1.0-1, 1.0-1+deb12u1)"
        );
        assert_eq!(
            error(&index, &["lib=1.0-1", "lib=1.0-1+deb12u1"]),
            "package `lib` is requested at two versions, 1.0-1 and 1.0-1+deb12u1"
        );
    }

    #[test]
    fn only_packages_of_the_architecture_or_all_are_candidates() {
        let index = index(
            "Package: app\nDepends: data, lib\n\n\
             Package: data\nArchitecture: all\n\n\
             Package: lib\nVersion: 2.0\nArchitecture: i386\n\n\
             Package: lib\nVersion: 1.0\n",
        );
        assert_eq!(
            closure(&index, &["app"]),
            ["app 1.0-1", "data 1.0-1", "lib 1.0"]
        );
    }

    #[test]
    fn the_first_satisfiable_alternative_is_taken() {
        let index = index(
            "Package: app\nDepends: missing | old (>= 2) | mawk | gawk\n\n\
             Package: old\nVersion: 1\n\n\
             Package: mawk\n\n\
             Package: gawk\n",
        );
        assert_eq!(closure(&index, &["app"]), ["app 1.0-1", "mawk 1.0-1"]);
    }

    #[test]
    fn an_alternative_already_in_the_closure_is_preferred() {
        let index = index(
            "Package: app\nDepends: base, default-mta | mail-transport-agent\n\n\
             Package: base\nDepends: postfix\n\n\
             Package: default-mta\nDepends: exim\n\n\
             Package: exim\nProvides: mail-transport-agent\n\n\
             Package: postfix\nProvides: mail-transport-agent\n",
        );
        // `base` is followed first and brings postfix, which provides the second
        // alternative: nothing more is needed.
        assert_eq!(
            closure(&index, &["app"]),
            ["app 1.0-1", "base 1.0-1", "postfix 1.0-1"]
        );
        // A requested package is in the closure before any dependency is followed.
        assert_eq!(
            closure(&index, &["exim", "app"]),
            ["app 1.0-1", "base 1.0-1", "exim 1.0-1", "postfix 1.0-1"]
        );
    }

    #[test]
    fn an_alternative_whose_dependencies_cannot_be_met_is_passed_over() {
        let index = index(
            "Package: app\nDepends: broken | working\n\n\
             Package: broken\nDepends: gone\n\n\
             Package: deep\nDepends: gone\n\n\
             Package: working\n\n\
             Package: app2\nDepends: middle | working\n\n\
             Package: middle\nDepends: deep\n",
        );
        assert_eq!(closure(&index, &["app"]), ["app 1.0-1", "working 1.0-1"]);
        assert_eq!(closure(&index, &["app2"]), ["app2 1.0-1", "working 1.0-1"]);
    }

    #[test]
    fn a_virtual_package_with_one_provider_takes_it() {
        let index = index(
            "Package: app\nDepends: awk\n\n\
             Package: mawk\nProvides: awk\n",
        );
        assert_eq!(closure(&index, &["app"]), ["app 1.0-1", "mawk 1.0-1"]);
        assert_eq!(closure(&index, &["awk"]), ["mawk 1.0-1"]);
    }

    #[test]
    fn several_providers_are_ordered_as_apt_orders_them() {
        let index = index(
            "Package: by-name\nDepends: awk\n\n\
             Package: awk\nVersion: 1\n\n\
             Package: gawk\nPriority: required\nProvides: awk\n\n\
             Package: by-essential\nDepends: shell\n\n\
             Package: dash\nEssential: yes\nPriority: optional\nProvides: shell\n\n\
             Package: bash\nPriority: required\nProvides: shell\n\n\
             Package: by-important\nDepends: daemon\n\n\
             Package: systemd\nProtected: yes\nPriority: optional\nProvides: daemon\n\n\
             Package: init\nPriority: required\nProvides: daemon\n\n\
             Package: by-priority\nDepends: editor\n\n\
             Package: nano\nPriority: important\nProvides: editor\n\n\
             Package: ed\nPriority: optional\nProvides: editor\n\n\
             Package: by-name-at-last\nDepends: pager\n\n\
             Package: more\nPriority: optional\nProvides: pager\n\n\
             Package: less\nPriority: optional\nProvides: pager\n",
        );
        assert_eq!(closure(&index, &["by-name"])[0], "awk 1");
        assert_eq!(closure(&index, &["by-essential"])[1], "dash 1.0-1");
        assert_eq!(closure(&index, &["by-important"])[1], "systemd 1.0-1");
        assert_eq!(closure(&index, &["by-priority"])[1], "nano 1.0-1");
        assert_eq!(closure(&index, &["by-name-at-last"])[1], "less 1.0-1");
        assert_eq!(
            error(&index, &["pager"]),
            "package `pager` is virtual, provided by `less`, `more`\n\
             hint: request one of them"
        );
    }

    #[test]
    fn a_requested_provider_meets_the_virtual_dependency() {
        let index = index(
            "Package: app\nDepends: pager\n\n\
             Package: more\nProvides: pager\n\n\
             Package: less\nProvides: pager\n",
        );
        assert_eq!(
            closure(&index, &["app", "more"]),
            ["app 1.0-1", "more 1.0-1"]
        );
    }

    #[test]
    fn versioned_dependencies_are_met_only_by_versioned_provides() {
        let index = index(
            "Package: app\nDepends: abi (>= 2)\n\n\
             Package: unversioned\nProvides: abi\n\n\
             Package: old\nProvides: abi (= 1)\n\n\
             Package: new\nProvides: abi (= 2)\n",
        );
        assert_eq!(closure(&index, &["app"]), ["app 1.0-1", "new 1.0-1"]);

        let only_unversioned = super::tests::index(
            "Package: app\nDepends: abi (>= 2)\n\n\
             Package: unversioned\nProvides: abi\n",
        );
        assert_eq!(
            error(&only_unversioned, &["app"]),
            "no package provides `abi (>= 2)` (needed by `app` 1.0-1); `abi` is provided \
             without a matching version by `unversioned` 1.0-1"
        );
    }

    #[test]
    fn any_is_met_only_by_multi_arch_allowed_and_native_by_the_package() {
        let index = index(
            "Package: app\nDepends: perl:any, python3:any, gcc:native\n\n\
             Package: perl\nMulti-Arch: allowed\n\n\
             Package: python3\nMulti-Arch: allowed\n\n\
             Package: gcc\n\n\
             Package: tool\nDepends: make:any\n\n\
             Package: make\nMulti-Arch: foreign\n",
        );
        assert_eq!(
            closure(&index, &["app"]),
            ["app 1.0-1", "gcc 1.0-1", "perl 1.0-1", "python3 1.0-1"]
        );
        assert_eq!(
            error(&index, &["tool"]),
            "package `make` 1.0-1 does not satisfy `make:any` (it is not \
             `Multi-Arch: allowed`) (needed by `tool` 1.0-1)"
        );
    }

    #[test]
    fn essential_packages_come_only_when_depended_on() {
        let index = index(
            "Package: app\nDepends: libc\n\n\
             Package: libc\n\n\
             Package: bash\nEssential: yes\nPriority: required\n",
        );
        assert_eq!(closure(&index, &["app"]), ["app 1.0-1", "libc 1.0-1"]);
    }

    #[test]
    fn a_conflict_takes_an_earlier_choice_out_as_apt_does() {
        // As libreoffice-writer in Debian 12: libreoffice-base-core prefers
        // libreoffice-core-nogui, which the writer's own libreoffice-core then replaces.
        let index = index(
            "Package: writer\nDepends: base-core, core\n\n\
             Package: base-core\nDepends: core-nogui | core\n\n\
             Package: core-nogui\nDepends: common\nConflicts: core\n\n\
             Package: core\nDepends: common\nConflicts: core-nogui\n\n\
             Package: common\n",
        );
        assert_eq!(
            closure(&index, &["writer"]),
            [
                "base-core 1.0-1",
                "common 1.0-1",
                "core 1.0-1",
                "writer 1.0-1"
            ]
        );
    }

    #[test]
    fn what_a_requested_package_conflicts_with_is_not_chosen() {
        let index = index(
            "Package: app\nDepends: exim | postfix\n\n\
             Package: tool\nConflicts: exim\n\n\
             Package: aa-tool\nConflicts: exim\n\n\
             Package: exim\n\n\
             Package: postfix\n",
        );
        // Requested before `app` is followed, or after it chose exim.
        assert_eq!(
            closure(&index, &["app", "aa-tool"]),
            ["aa-tool 1.0-1", "app 1.0-1", "postfix 1.0-1"]
        );
        assert_eq!(
            closure(&index, &["app", "tool"]),
            ["app 1.0-1", "postfix 1.0-1", "tool 1.0-1"]
        );
    }

    #[test]
    fn a_package_that_conflicts_with_a_requested_one_is_passed_over() {
        let index = index(
            "Package: app\nDepends: mta\n\n\
             Package: exim\n\n\
             Package: postfix\nProvides: mta\nConflicts: exim\n\n\
             Package: sendmail\nProvides: mta\n",
        );
        assert_eq!(
            closure(&index, &["app", "exim"]),
            ["app 1.0-1", "exim 1.0-1", "sendmail 1.0-1"]
        );
        assert_eq!(closure(&index, &["app"]), ["app 1.0-1", "postfix 1.0-1"]);
    }

    #[test]
    fn a_package_conflicting_with_what_it_provides_is_not_in_conflict_with_itself() {
        let index = index(
            "Package: app\nDepends: mta\n\n\
             Package: postfix\nProvides: mta\nConflicts: mta, postfix\n",
        );
        assert_eq!(closure(&index, &["app"]), ["app 1.0-1", "postfix 1.0-1"]);
    }

    #[test]
    fn conflicts_left_in_the_closure_are_refused_naming_both_packages() {
        let index = index(
            "Package: app\nDepends: first, second\n\n\
             Package: first\nBreaks: lib (<< 2)\n\n\
             Package: second\nDepends: lib\n\n\
             Package: lib\n\n\
             Package: aa\nConflicts: bb\n\n\
             Package: bb\n",
        );
        assert_eq!(
            error(&index, &["app"]),
            "`first` 1.0-1 (needed by `app`) declares `Breaks: lib (<< 2)`, and `lib` 1.0-1 \
             (needed by `second`) is in the closure too: cairn does not yet choose around such \
             a conflict"
        );
        assert_eq!(
            error(&index, &["aa", "bb"]),
            "the requested packages conflict: `aa` 1.0-1 declares `Conflicts: bb`, and `bb` \
             1.0-1 is requested too"
        );
    }

    #[test]
    fn dependency_cycles_close() {
        let index = index(
            "Package: one\nDepends: two\n\n\
             Package: two\nPre-Depends: three\n\n\
             Package: three\nDepends: one\n",
        );
        assert_eq!(
            closure(&index, &["one"]),
            ["one 1.0-1", "three 1.0-1", "two 1.0-1"]
        );
    }

    #[test]
    fn the_result_is_sorted_pinned_and_says_who_needed_each_package() {
        let index = index(
            "Package: zed\nDepends: alpha\n\n\
             Package: alpha\nVersion: 2:1.2-3\nArchitecture: all\n",
        );
        let pinned = resolve(&index, &requirements(&["zed"]), &amd64()).unwrap();
        assert_eq!(
            pinned[0],
            PinnedPackage {
                name: "alpha".to_string(),
                version: Version::parse("2:1.2-3").unwrap(),
                architecture: "all".to_string(),
                filename: "pool/main/alpha.deb".to_string(),
                url: "http://deb.example/debian/pool/main/alpha.deb".to_string(),
                size: 100,
                sha256: "ab".repeat(32),
                needed_by: Some("zed".to_string()),
            }
        );
        assert_eq!(pinned[1].name, "zed");
        assert_eq!(pinned[1].needed_by, None);
    }

    #[test]
    fn the_result_does_not_depend_on_the_order_of_requirements() {
        let index = index(
            "Package: aa\nDepends: xx | yy\n\n\
             Package: bb\nDepends: yy | xx\n\n\
             Package: xx\n\n\
             Package: yy\n",
        );
        assert_eq!(
            closure(&index, &["aa", "bb"]),
            closure(&index, &["bb", "aa"])
        );
        assert_eq!(
            closure(&index, &["aa", "bb"]),
            ["aa 1.0-1", "bb 1.0-1", "xx 1.0-1"]
        );
    }

    #[test]
    fn a_missing_dependency_names_the_chain_that_needed_it() {
        let index = index(
            "Package: haproxy\nVersion: 2.6.12-1\nDepends: libfoo\n\n\
             Package: libfoo\nVersion: 1.0-1\nDepends: libbar (>= 1.2)\n",
        );
        assert_eq!(
            error(&index, &["haproxy"]),
            "package `libbar` (needed as `libbar (>= 1.2)` by `libfoo` 1.0-1, needed by \
             `haproxy` 2.6.12-1) is not in the repository"
        );
    }

    #[test]
    fn a_version_too_old_names_the_version_and_the_chain() {
        let index = index(
            "Package: app\nDepends: lib (>= 2)\n\n\
             Package: lib\nVersion: 1.5\n",
        );
        assert_eq!(
            error(&index, &["app"]),
            "package `lib` 1.5 does not satisfy `lib (>= 2)` (needed by `app` 1.0-1)"
        );
    }

    #[test]
    fn failing_alternatives_are_each_explained() {
        let index = index(
            "Package: app\nDepends: first | second (>= 3)\n\n\
             Package: first\nDepends: gone\n\n\
             Package: second\nVersion: 2\n",
        );
        assert_eq!(
            error(&index, &["app"]),
            "none of the alternatives `first | second (>= 3)` (needed by `app` 1.0-1) can be \
             installed:\n  \
             package `gone` (needed as `gone` by `first` 1.0-1, needed by `app` 1.0-1) is \
             not in the repository\n  \
             package `second` 2 does not satisfy `second (>= 3)` (needed by `app` 1.0-1)"
        );
    }

    #[test]
    fn every_problem_of_a_requested_package_is_reported() {
        let index = index("Package: app\nDepends: gone, also-gone\n");
        assert_eq!(
            error(&index, &["app"]),
            "package `gone` (needed as `gone` by `app` 1.0-1) is not in the repository\n\
             package `also-gone` (needed as `also-gone` by `app` 1.0-1) is not in the repository"
        );
    }

    #[test]
    fn an_unknown_requested_package_suggests_the_nearest_name() {
        let index = index("Package: haproxy\n");
        assert_eq!(
            error(&index, &["haproxi"]),
            "package `haproxi` is not in the repository\nhint: did you mean `haproxy`?"
        );
        assert_eq!(
            error(&index, &["zzzz"]),
            "package `zzzz` is not in the repository"
        );
    }

    #[test]
    fn requirements_are_a_name_or_a_name_and_version() {
        let requirement = Requirement::parse("haproxy=2.6.12-1").unwrap();
        assert_eq!(requirement.name, "haproxy");
        assert_eq!(requirement.version.as_ref().unwrap().as_str(), "2.6.12-1");
        assert_eq!(requirement.to_string(), "haproxy=2.6.12-1");
        assert_eq!(Requirement::parse("zookeeper").unwrap().version, None);
        assert_eq!(
            Requirement::parse("bad name").unwrap_err().to_string(),
            "invalid package requirement `bad name`: expected `name` or `name=version`"
        );
        assert_eq!(
            Requirement::parse("a2=").unwrap_err().to_string(),
            "invalid package requirement `a2=`: invalid version ``: it is empty"
        );
    }
}
