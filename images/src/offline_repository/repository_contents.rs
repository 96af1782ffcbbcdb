//! What a lockfile's repository holds: every package version the lockfile pins (its
//! images' and its host package nodes'), once, and every artifact its images download, each
//! checked against the others it would share a file with.

use std::collections::{BTreeMap, BTreeSet};

use cairn_lockfiles::{Lockfile, NodeSpec, PackagePin};

use super::error::{ConflictingPins, OfflineRepositoryError};
use super::hosts_sources::is_plain_name;

/// The packages and artifacts of a repository.
#[derive(Debug, Default)]
pub(super) struct RepositoryContents {
    /// By name, version and architecture: the indexes' order.
    pub(super) packages: BTreeMap<(String, String, String), RepositoryPackage>,
    /// The architectures pinned for (not `all`), sorted: one index each.
    pub(super) architectures: BTreeSet<String>,
    /// By file name under `artifacts/`.
    pub(super) artifacts: BTreeMap<String, RepositoryArtifact>,
}

/// A download an image takes, served as `artifacts/<file name>` (the last part of its URL,
/// so that a URL naming the control host's repository finds it there).
#[derive(Debug, Clone)]
pub(super) struct RepositoryArtifact {
    pub(super) url: String,
    pub(super) sha256: String,
}

impl RepositoryContents {
    /// Every pin and artifact of `lockfile`, each package version and artifact file once.
    pub(super) fn of_lockfile(lockfile: &Lockfile) -> Result<Self, OfflineRepositoryError> {
        let mut contents = RepositoryContents::default();
        for node in lockfile.nodes() {
            match &*node.spec {
                NodeSpec::Image(image) => {
                    if let Some(pins) = &image.pins {
                        contents.architectures.insert(pins.architecture.clone());
                        let user = format!("image {}", image.name);
                        for pin in &pins.packages {
                            contents.add_package(pin, &user)?;
                        }
                    }
                    for artifact in &image.artifacts {
                        contents.add_artifact(&artifact.url, &artifact.sha256)?;
                    }
                }
                NodeSpec::Package(package) => {
                    if let Some(pins) = &package.pins {
                        contents.architectures.insert(pins.architecture.clone());
                        let user = format!("package node {}", package.name);
                        for pin in &pins.packages {
                            contents.add_package(pin, &user)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(contents)
    }

    fn add_package(&mut self, pin: &PackagePin, user: &str) -> Result<(), OfflineRepositoryError> {
        let key = (
            pin.name.clone(),
            pin.version.clone(),
            pin.architecture.clone(),
        );
        let package = self
            .packages
            .entry(key)
            .or_insert_with(|| RepositoryPackage {
                name: pin.name.clone(),
                version: pin.version.clone(),
                architecture: pin.architecture.clone(),
                sha256: pin.sha256.clone(),
                users: BTreeSet::new(),
            });
        if package.sha256 != pin.sha256 {
            return Err(OfflineRepositoryError::ConflictingPins(Box::new(
                ConflictingPins {
                    name: pin.name.clone(),
                    version: pin.version.clone(),
                    architecture: pin.architecture.clone(),
                    first: package.sha256.clone(),
                    first_users: package.users(),
                    second: pin.sha256.clone(),
                    second_users: user.to_string(),
                },
            )));
        }
        package.users.insert(user.to_string());
        if pin.architecture != "all" {
            self.architectures.insert(pin.architecture.clone());
        }
        Ok(())
    }

    fn add_artifact(&mut self, url: &str, sha256: &str) -> Result<(), OfflineRepositoryError> {
        let file_name =
            artifact_file_name(url).ok_or_else(|| OfflineRepositoryError::UnnamedArtifact {
                url: url.to_string(),
            })?;
        match self.artifacts.get(&file_name) {
            Some(known) if known.sha256 != sha256 => {
                Err(OfflineRepositoryError::ConflictingArtifacts {
                    file_name,
                    first_url: known.url.clone(),
                    first: known.sha256.clone(),
                    second_url: url.to_string(),
                    second: sha256.to_string(),
                })
            }
            Some(_) => Ok(()),
            None => {
                self.artifacts.insert(
                    file_name,
                    RepositoryArtifact {
                        url: url.to_string(),
                        sha256: sha256.to_string(),
                    },
                );
                Ok(())
            }
        }
    }
}

/// The file an artifact's URL names: the last part of its path, without a query or
/// fragment; `None` where that is not a plain file name.
pub(super) fn artifact_file_name(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let name = path.rsplit('/').next()?;
    (is_plain_name(name) && path.contains("://")).then(|| name.to_string())
}

/// One package version of the repository.
#[derive(Debug, Clone)]
pub(super) struct RepositoryPackage {
    pub(super) name: String,
    pub(super) version: String,
    /// The package's own `Architecture`: an image's architecture, or `all`.
    pub(super) architecture: String,
    pub(super) sha256: String,
    /// What pins it (`image haproxy`, `package node docker`), sorted.
    pub(super) users: BTreeSet<String>,
}

impl RepositoryPackage {
    /// `cairn-lib 1.0 (all)`: how errors name it.
    pub(super) fn label(&self) -> String {
        format!("{} {} ({})", self.name, self.version, self.architecture)
    }

    pub(super) fn users(&self) -> String {
        self.users.iter().cloned().collect::<Vec<_>>().join(", ")
    }

    /// Where it goes in the repository, as Debian's pools lay packages out: by component,
    /// the name's first letter (`lib` and one more for libraries), the name; the file
    /// named as dpkg-deb names it, the version without its epoch.
    pub(super) fn pool_path(&self, component: &str) -> String {
        let prefix = if self.name.starts_with("lib") && self.name.len() > 3 {
            &self.name[..4]
        } else {
            &self.name[..1]
        };
        let upstream = self
            .version
            .split_once(':')
            .map_or(self.version.as_str(), |(_, rest)| rest);
        format!(
            "pool/{component}/{prefix}/{name}/{name}_{upstream}_{architecture}.deb",
            name = self.name,
            architecture = self.architecture
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, version: &str, architecture: &str) -> RepositoryPackage {
        RepositoryPackage {
            name: name.to_string(),
            version: version.to_string(),
            architecture: architecture.to_string(),
            sha256: "0".repeat(64),
            users: BTreeSet::new(),
        }
    }

    #[test]
    fn packages_are_pooled_as_debian_pools_them_without_the_epoch() {
        assert_eq!(
            package("libssl3", "3.0.11-1~deb12u2", "amd64").pool_path("main"),
            "pool/main/libs/libssl3/libssl3_3.0.11-1~deb12u2_amd64.deb"
        );
        assert_eq!(
            package("bash", "5.2.15-2+b2", "amd64").pool_path("main"),
            "pool/main/b/bash/bash_5.2.15-2+b2_amd64.deb"
        );
        assert_eq!(
            package("lib", "1:2.0", "all").pool_path("contrib"),
            "pool/contrib/l/lib/lib_2.0_all.deb"
        );
    }

    #[test]
    fn an_artifact_is_served_under_the_last_part_of_its_url() {
        assert_eq!(
            artifact_file_name("http://10.10.0.5:8080/artifacts/consul_1.16.1_linux_amd64.zip")
                .as_deref(),
            Some("consul_1.16.1_linux_amd64.zip")
        );
        assert_eq!(
            artifact_file_name("https://example.test/get/tool-2.0.tgz?token=x#part").as_deref(),
            Some("tool-2.0.tgz")
        );
        for unnamed in [
            "http://example.test/",
            "http://example.test/a/..",
            "not a url",
        ] {
            assert_eq!(artifact_file_name(unnamed), None, "{unnamed}");
        }
    }
}
