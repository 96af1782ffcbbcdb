//! The suite and components the lockfile's hosts ask the repository for.

use std::collections::BTreeMap;

use cairn_debian::{Paragraph, paragraphs};
use cairn_lockfiles::{Lockfile, NodeSpec};

use super::error::OfflineRepositoryError;

/// Where host-base writes each host's apt source.
pub const HOSTS_SOURCES_PATH: &str = "/etc/apt/sources.list.d/cairn.sources";

/// The suite and components the lockfile's hosts ask the repository for: those of the
/// `cairn.sources` host-base renders for each (`Suites`, `Components`). `None` where no host
/// has one.
pub(super) fn sources_hosts_read(
    lockfile: &Lockfile,
) -> Result<Option<(String, Vec<String>)>, OfflineRepositoryError> {
    let mut read: BTreeMap<(String, Vec<String>), Vec<String>> = BTreeMap::new();
    for node in lockfile.nodes() {
        let NodeSpec::File(file) = &*node.spec else {
            continue;
        };
        if file.path != HOSTS_SOURCES_PATH {
            continue;
        }
        let host = node.name.scope.host().unwrap_or("cluster").to_string();
        let sources: Vec<Paragraph<'_>> = paragraphs(file.content.as_str())
            .collect::<Result<_, _>>()
            .map_err(|error| OfflineRepositoryError::UnreadableSources {
                host: host.clone(),
                message: format!("is not deb822, as apt reads it: {error}"),
            })?;
        // Every paragraph's: one export serves one suite, whatever the paragraphs.
        let field = |name: &str| -> Vec<String> {
            sources
                .iter()
                .flat_map(Paragraph::fields)
                .filter(|field| field.is(name))
                .flat_map(|field| {
                    let value = field.value();
                    value
                        .split_whitespace()
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let suites = field("Suites");
        let [suite] = suites.as_slice() else {
            return Err(OfflineRepositoryError::UnreadableSources {
                host,
                message: format!(
                    "names {} suites ({}), and an export serves exactly one",
                    suites.len(),
                    suites.join(" ")
                ),
            });
        };
        let components = field("Components");
        if components.is_empty() {
            return Err(OfflineRepositoryError::UnreadableSources {
                host,
                message: "names no component".to_string(),
            });
        }
        if let Some(name) = std::iter::once(suite)
            .chain(&components)
            .find(|name| !is_plain_name(name))
        {
            return Err(OfflineRepositoryError::UnreadableSources {
                host,
                message: format!(
                    "names `{name}`, which is not a plain suite or component name (letters, digits, `.+_-`): the export makes a folder of each"
                ),
            });
        }
        read.entry((suite.clone(), components))
            .or_default()
            .push(host);
    }
    if read.len() > 1 {
        return Err(OfflineRepositoryError::HostsDisagree(
            read.iter()
                .map(|((suite, components), hosts)| {
                    format!(
                        "{} read suite {suite}, components {}",
                        hosts.join(", "),
                        components.join(" ")
                    )
                })
                .collect(),
        ));
    }
    Ok(read.into_keys().next())
}

/// A name that is one folder of `dists/`, never `.`, `..` or a path.
pub(super) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".+_-".contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suite_or_component_is_one_folder_name_never_a_path() {
        for name in [
            "bookworm",
            "bookworm-updates",
            "main",
            "non-free-firmware",
            "v1.2+x_y",
        ] {
            assert!(is_plain_name(name), "{name}");
        }
        for name in [
            "",
            ".",
            "..",
            "../etc",
            "bookworm/updates",
            "/srv",
            "./",
            "a b",
        ] {
            assert!(!is_plain_name(name), "{name}");
        }
    }
}
