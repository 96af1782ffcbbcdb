use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use crate::module::library::ModuleLibrary;
use crate::module::setting::{SecretReference, SettingValue};
use crate::source_file::SourceFile;
use crate::spec::rollout_overrides::RolloutOverride;
use crate::toml_reader::Located;

#[derive(Debug, Clone)]
pub struct HostSpec {
    pub name: String,
    pub address: String,
    /// The spec's `user`; `None`: the SSH configuration's `User`, else root.
    pub user: Option<String>,
    /// The spec's `port`; `None`: the SSH configuration's `Port`, else 22.
    pub port: Option<u16>,
    /// Sorted, without duplicates.
    pub roles: Vec<String>,
    pub transport: cairn_lockfiles::TransportKind,
    pub root: Option<String>,
    /// A number from 1 to 255, unique in the cluster, that stays with the host: what
    /// modules number their servers by (ZooKeeper's myid, MySQL's server-id).
    pub id: Option<u8>,
    /// `become = "sudo"`: scripts run through sudo on the host.
    pub become_method: Option<cairn_lockfiles::BecomeMethod>,
    /// `become_password`: the user's sudo password, a secret reference (declared as the
    /// secret `hosts.<name>.become_password`).
    pub become_password: Option<Located<SecretReference>>,
    pub span: Range<usize>,
    pub roles_span: Range<usize>,
}

/// A settings section with every key of its schema: the spec's value or the default (an
/// optional key without a default is absent when the spec leaves it out).
#[derive(Debug, Clone, Default)]
pub struct SectionValues {
    /// The span of the section in the spec, when the spec has it.
    pub span: Option<Range<usize>>,
    pub values: BTreeMap<String, SettingValue>,
    /// Where the spec gives each key it gives (not the defaults): what an error found while
    /// rendering points back to.
    pub given: BTreeMap<String, Range<usize>>,
}

/// A checked cluster spec and the modules it uses.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub source: SourceFile,
    /// The folder holding the spec: module folders and secret files are relative to it.
    pub directory: PathBuf,
    pub name: String,
    pub domain: String,
    /// With where the spec gives it, for errors reading it.
    pub fingerprint_key: Option<Located<SecretReference>>,
    pub hosts: BTreeMap<String, HostSpec>,
    pub sections: BTreeMap<String, SectionValues>,
    /// Secret settings by name (`section.key`).
    pub secrets: BTreeMap<String, DeclaredSecret>,
    /// `[rollouts.NAME]`, in the spec's order.
    pub rollouts: Vec<(String, RolloutOverride)>,
    pub library: ModuleLibrary,
}

/// A secret setting of the spec: its reference (with its span) and what its module
/// allows of its value.
#[derive(Debug, Clone)]
pub struct DeclaredSecret {
    pub reference: Located<SecretReference>,
    /// The longest value the program reading it takes (keepalived's VRRP password: 8).
    pub max_length: Option<usize>,
}

impl HostSpec {
    /// The name of the secret holding the host's sudo password.
    pub fn become_password_secret(&self) -> String {
        format!("hosts.{}.become_password", self.name)
    }

    /// What the lockfile records of the host: how apply reaches it.
    pub fn entry(&self) -> cairn_lockfiles::HostEntry {
        cairn_lockfiles::HostEntry {
            address: self.address.clone(),
            user: self.user.clone(),
            port: self.port,
            roles: self.roles.clone(),
            transport: self.transport,
            root: self.root.clone(),
            become_method: self.become_method,
            become_password: self
                .become_password
                .as_ref()
                .map(|_| self.become_password_secret()),
        }
    }
}

impl ClusterSpec {
    /// The names of the hosts with `role`, sorted.
    pub fn hosts_with_role(&self, role: &str) -> Vec<&HostSpec> {
        self.hosts
            .values()
            .filter(|host| host.roles.iter().any(|candidate| candidate == role))
            .collect()
    }
}

impl ClusterSpec {
    /// Where the spec gives `[SECTION] KEY` (its element at `position`, for a list), else
    /// the section, else the start of the file.
    pub fn setting_span(&self, section: &str, key: &str, position: Option<usize>) -> Range<usize> {
        self.given_setting_span(section, key, position)
            .or_else(|| {
                self.sections
                    .get(section)
                    .and_then(|values| values.span.clone())
            })
            .unwrap_or(0..0)
    }

    /// Where the spec gives `[SECTION] KEY` (its element at `position`, for a list);
    /// `None` where it does not (the key has its default). The spec is parsed again,
    /// which only an error pays for.
    pub fn given_setting_span(
        &self,
        section: &str,
        key: &str,
        position: Option<usize>,
    ) -> Option<Range<usize>> {
        let document = crate::toml_reader::parse_document(&self.source).ok()?;
        let toml::de::DeValue::Table(table) = document.get_ref().get(section)?.get_ref() else {
            return None;
        };
        let item = table.get(key)?;
        Some(match (item.get_ref(), position) {
            (toml::de::DeValue::Array(items), Some(position)) => items
                .get(position)
                .map_or_else(|| item.span(), |element| element.span()),
            _ => item.span(),
        })
    }
}
