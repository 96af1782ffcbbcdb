//! Ansible's variable files beside an inventory, as its `host_group_vars` plugin reads
//! them: `group_vars/<group>` and `host_vars/<host>`, each a file (`NAME.yml`, `NAME.yaml`,
//! `NAME.json` or `NAME`) or a folder of such files, read in name order, a later file's
//! variable over an earlier one's. Real inventories keep most of their variables there
//! (`ansible_user` in `group_vars/all.yml`, a host's address in `host_vars/`), not on
//! the inventory's lines.
//!
//! A file is a YAML mapping; its top-level keys with a scalar value are variables. A list
//! or a mapping has no counterpart in a spec's host, and is said as a finding; so is a
//! file encrypted with ansible-vault, which is not read.

use std::path::Path;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use crate::import_error::ImportError;
use crate::imported_cluster::Finding;
use crate::inventory::{Inventory, Sourced, Variables};

/// The extensions Ansible reads variables from (and none).
const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// The first line of a file encrypted with ansible-vault.
const VAULT_HEADER: &str = "$ANSIBLE_VAULT;";

/// Whose variables a file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarsOwner {
    Group(String),
    Host(String),
}

/// One variables file: its path as messages give it, whose it is, and its text.
#[derive(Debug, Clone)]
pub struct VarsFile {
    pub path: String,
    pub owner: VarsOwner,
    pub text: String,
}

/// The variables files in `group_vars/` and `host_vars/` of `folder` (the inventory's),
/// in the order Ansible reads them. None where neither folder exists.
pub fn find_vars_files(folder: &Path) -> Result<Vec<VarsFile>, ImportError> {
    let mut files = Vec::new();
    for (kind, owner) in [
        ("group_vars", VarsOwner::Group as fn(String) -> VarsOwner),
        ("host_vars", VarsOwner::Host),
    ] {
        let kind_folder = folder.join(kind);
        if !kind_folder.is_dir() {
            continue;
        }
        for (name, path) in entries(&kind_folder)? {
            if path.is_dir() {
                for (_, file) in entries(&path)? {
                    if file.is_file() && has_vars_extension(&file) {
                        files.push(read_file(&file, owner(name.clone()))?);
                    }
                }
            } else if has_vars_extension(&path) {
                files.push(read_file(&path, owner(stem(&name).to_string()))?);
            }
        }
    }
    Ok(files)
}

/// A folder's entries but hidden ones, by name.
fn entries(folder: &Path) -> Result<Vec<(String, std::path::PathBuf)>, ImportError> {
    let unreadable = |source| ImportError::VarsFolder {
        path: folder.display().to_string(),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            entries.push((name, entry.path()));
        }
    }
    entries.sort();
    Ok(entries)
}

fn has_vars_extension(path: &Path) -> bool {
    match path.extension() {
        None => true,
        Some(extension) => EXTENSIONS.iter().any(|known| extension == *known),
    }
}

/// A file's name without the extension Ansible strips.
fn stem(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, extension)) if EXTENSIONS.contains(&extension) => stem,
        _ => name,
    }
}

fn read_file(path: &Path, owner: VarsOwner) -> Result<VarsFile, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::VarsFolder {
        path: path.display().to_string(),
        source,
    })?;
    Ok(VarsFile {
        // `group_vars/all.yml` rather than `./group_vars/all.yml` beside a bare inventory name.
        path: path.strip_prefix(".").unwrap_or(path).display().to_string(),
        owner,
        text,
    })
}

/// Adds each file's variables to the inventory's, a later file over an earlier one;
/// returns what was not read.
pub fn add_vars_files(
    inventory: &mut Inventory,
    files: &[VarsFile],
) -> Result<Vec<Finding>, ImportError> {
    let mut findings = Vec::new();
    for file in files {
        let (variables, mut left_out) = read_variables(file)?;
        findings.append(&mut left_out);
        let (known, owners, place) = match &file.owner {
            VarsOwner::Group(group) => (
                group == "all" || inventory.groups.contains_key(group),
                &mut inventory.group_files,
                group,
            ),
            VarsOwner::Host(host) => (
                inventory.hosts.contains_key(host),
                &mut inventory.host_files,
                host,
            ),
        };
        if !known {
            findings.push(Finding {
                place: file.path.clone(),
                message: format!(
                    "`{place}` is not a {} of the inventory; its variables are left out",
                    match file.owner {
                        VarsOwner::Group(_) => "group",
                        VarsOwner::Host(_) => "host",
                    }
                ),
            });
            continue;
        }
        owners.entry(place.clone()).or_default().extend(variables);
    }
    Ok(findings)
}

/// The top-level scalar variables of one file, and what was left out of it.
fn read_variables(file: &VarsFile) -> Result<(Variables, Vec<Finding>), ImportError> {
    let mut variables = Variables::new();
    let mut findings = Vec::new();
    if file.text.trim_start().starts_with(VAULT_HEADER) {
        findings.push(Finding {
            place: file.path.clone(),
            message: "encrypted with ansible-vault, so not read; give what it holds (a sudo password, say) to the spec by hand".to_string(),
        });
        return Ok((variables, findings));
    }
    let documents =
        MarkedYaml::load_from_str(&file.text).map_err(|error| ImportError::VarsFile {
            path: file.path.clone(),
            line: error.marker().line(),
            column: error.marker().col() + 1,
            reason: error.info().to_string(),
        })?;
    let Some(document) = documents.into_iter().next() else {
        return Ok((variables, findings));
    };
    let mapping = match &document.data {
        YamlData::Mapping(mapping) => mapping,
        YamlData::Value(Scalar::Null) => return Ok((variables, findings)),
        _ => {
            return Err(ImportError::VarsFile {
                path: file.path.clone(),
                line: document.span.start.line(),
                column: document.span.start.col() + 1,
                reason: "it is not a mapping of variable names to values".to_string(),
            });
        }
    };
    for (key, value) in mapping {
        let line = key.span.start.line();
        let Some(name) = key.data.as_str() else {
            continue;
        };
        let message = match value_of(&value.data) {
            Value::Text(text) => {
                variables.insert(
                    name.to_string(),
                    Sourced {
                        value: text,
                        line,
                        file: Some(file.path.clone()),
                    },
                );
                continue;
            }
            // A null value: the variable is not set.
            Value::Null => continue,
            Value::Structured => format!(
                "variable `{name}` holds a list or a mapping, which a spec's host has no counterpart for; left out"
            ),
            Value::Tagged(tag) if tag == "vault" => format!(
                "variable `{name}` is encrypted with ansible-vault, so not read; give its value to the spec by hand"
            ),
            Value::Tagged(tag) => format!(
                "variable `{name}` has the tag `!{tag}`, which cairn does not read; left out"
            ),
        };
        findings.push(Finding {
            place: format!("{}:{line}", file.path),
            message,
        });
    }
    Ok((variables, findings))
}

/// What a variable's value is, to an import.
enum Value {
    /// A scalar, as the inventory's text would give it.
    Text(String),
    Null,
    /// A list or a mapping.
    Structured,
    /// A value with a local tag (`!vault`), by the tag's name.
    Tagged(String),
}

fn value_of<'input>(data: &YamlData<'input, MarkedYaml<'input>>) -> Value {
    match data {
        YamlData::Value(Scalar::Null) => Value::Null,
        YamlData::Value(Scalar::Boolean(value)) => Value::Text(value.to_string()),
        YamlData::Value(Scalar::Integer(value)) => Value::Text(value.to_string()),
        YamlData::Value(Scalar::FloatingPoint(value)) => Value::Text(value.to_string()),
        YamlData::Value(Scalar::String(value)) => Value::Text(value.to_string()),
        YamlData::Representation(_, _, Some(tag)) if !tag.is_yaml_core_schema() => {
            Value::Tagged(tag.suffix.clone())
        }
        YamlData::Representation(text, _, _) => Value::Text(text.to_string()),
        YamlData::Tagged(tag, _) => Value::Tagged(tag.suffix.clone()),
        _ => Value::Structured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVENTORY: &str = "db01 ansible_host=10.0.0.31\nlb01\n\n[haproxy]\nlb01\n\n[mysql]\ndb01\n\n[haproxy:vars]\nansible_user=from-the-inventory\n\n[all:vars]\nansible_port=2200\n";

    fn file(path: &str, owner: VarsOwner, text: &str) -> VarsFile {
        VarsFile {
            path: path.to_string(),
            owner,
            text: text.to_string(),
        }
    }

    fn group(name: &str) -> VarsOwner {
        VarsOwner::Group(name.to_string())
    }

    fn host(name: &str) -> VarsOwner {
        VarsOwner::Host(name.to_string())
    }

    fn value(inventory: &Inventory, host: &str, key: &str) -> Option<String> {
        inventory
            .variable(host, key)
            .map(|found| found.value.clone())
    }

    #[test]
    fn files_win_over_the_inventorys_lines_as_in_ansible() {
        let mut inventory = Inventory::parse(INVENTORY).unwrap();
        let files = [
            file(
                "group_vars/all.yml",
                group("all"),
                "ansible_user: deploy\nansible_become: true\n",
            ),
            file(
                "group_vars/haproxy.yml",
                group("haproxy"),
                "ansible_user: lb-admin\n",
            ),
            file(
                "host_vars/db01.yml",
                host("db01"),
                "ansible_host: 10.9.9.9\nansible_port: 2201\n",
            ),
        ];
        assert!(add_vars_files(&mut inventory, &files).unwrap().is_empty());
        // host_vars over the host's line; group_vars over [group:vars]; a group over all.
        assert_eq!(
            value(&inventory, "db01", "ansible_host").unwrap(),
            "10.9.9.9"
        );
        assert_eq!(value(&inventory, "db01", "ansible_port").unwrap(), "2201");
        assert_eq!(
            value(&inventory, "lb01", "ansible_user").unwrap(),
            "lb-admin"
        );
        assert_eq!(value(&inventory, "db01", "ansible_user").unwrap(), "deploy");
        assert_eq!(value(&inventory, "lb01", "ansible_become").unwrap(), "true");
        assert_eq!(value(&inventory, "lb01", "ansible_port").unwrap(), "2200");
        let place = inventory
            .variable("db01", "ansible_port")
            .unwrap()
            .place("inventory.ini");
        assert_eq!(place, "host_vars/db01.yml:2");
    }

    #[test]
    fn a_later_file_of_a_folder_wins_over_an_earlier_one() {
        let mut inventory = Inventory::parse(INVENTORY).unwrap();
        let files = [
            file(
                "group_vars/haproxy/10-main.yml",
                group("haproxy"),
                "ansible_user: first\nansible_port: 22\n",
            ),
            file(
                "group_vars/haproxy/20-site.yml",
                group("haproxy"),
                "ansible_user: second\n",
            ),
        ];
        add_vars_files(&mut inventory, &files).unwrap();
        assert_eq!(value(&inventory, "lb01", "ansible_user").unwrap(), "second");
        assert_eq!(value(&inventory, "lb01", "ansible_port").unwrap(), "22");
    }

    #[test]
    fn lists_vaulted_values_unknown_owners_and_vault_files_are_findings_not_variables() {
        let mut inventory = Inventory::parse(INVENTORY).unwrap();
        let files = [
            file(
                "host_vars/db01.yml",
                host("db01"),
                "ntp_servers:\n  - a\n  - b\nansible_become_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\nempty:\n",
            ),
            file(
                "host_vars/gone.yml",
                host("gone"),
                "ansible_host: 10.1.1.1\n",
            ),
            file(
                "group_vars/all/vault.yml",
                group("all"),
                "$ANSIBLE_VAULT;1.1;AES256\n3132\n",
            ),
        ];
        let findings = add_vars_files(&mut inventory, &files).unwrap();
        let said: Vec<String> = findings
            .iter()
            .map(|finding| format!("{}: {}", finding.place, finding.message))
            .collect();
        assert_eq!(said.len(), 4, "{said:#?}");
        assert!(said[0].starts_with("host_vars/db01.yml:1: variable `ntp_servers` holds a list"));
        assert!(said[1].starts_with("host_vars/db01.yml:4: variable `ansible_become_password` is encrypted with ansible-vault"));
        assert!(said[2].starts_with("host_vars/gone.yml: `gone` is not a host of the inventory"));
        assert!(said[3].starts_with("group_vars/all/vault.yml: encrypted with ansible-vault"));
        assert_eq!(value(&inventory, "db01", "ansible_become_password"), None);
        assert_eq!(value(&inventory, "db01", "empty"), None);
        assert!(
            !said
                .iter()
                .any(|line| line.contains("6162") || line.contains("3132"))
        );
    }

    #[test]
    fn a_file_that_is_not_yaml_or_not_a_mapping_is_refused_at_its_line_and_column() {
        let mut inventory = Inventory::parse(INVENTORY).unwrap();
        let broken = [file("group_vars/all.yml", group("all"), "a: [1, 2\nb: 3\n")];
        let error = add_vars_files(&mut inventory, &broken)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("group_vars/all.yml:"), "{error}");
        let list = [file("group_vars/all.yml", group("all"), "\n- a\n- b\n")];
        let error = add_vars_files(&mut inventory, &list)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("group_vars/all.yml:2:1: it is not a mapping"),
            "{error}"
        );
    }

    #[test]
    fn the_folders_beside_the_inventory_are_read_in_ansibles_order() {
        let folder = tempfile::tempdir().unwrap();
        let write = |relative: &str, text: &str| {
            let path = folder.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("group_vars/all.yaml", "a: 1\n");
        write("group_vars/haproxy/20-b.yml", "b: 2\n");
        write("group_vars/haproxy/10-a.json", "{\"a\": 3}\n");
        write("group_vars/haproxy/notes.txt", "not read\n");
        write("group_vars/.hidden.yml", "not read\n");
        write("host_vars/db01", "c: 4\n");
        let found: Vec<(String, VarsOwner)> = find_vars_files(folder.path())
            .unwrap()
            .into_iter()
            .map(|file| {
                let relative = file
                    .path
                    .strip_prefix(&format!("{}/", folder.path().display()));
                (relative.unwrap().to_string(), file.owner)
            })
            .collect();
        assert_eq!(
            found,
            [
                ("group_vars/all.yaml".to_string(), group("all")),
                ("group_vars/haproxy/10-a.json".to_string(), group("haproxy")),
                ("group_vars/haproxy/20-b.yml".to_string(), group("haproxy")),
                ("host_vars/db01".to_string(), host("db01")),
            ]
        );
        assert!(
            find_vars_files(&folder.path().join("none"))
                .unwrap()
                .is_empty()
        );
    }
}
