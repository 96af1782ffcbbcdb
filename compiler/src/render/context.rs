use minijinja::Value as TemplateValue;
use minijinja::value::{Enumerator, Object};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::module::setting::SettingValue;
use crate::render::secret_value::SecretValue;
use crate::spec::{ClusterSpec, HostSpec};

/// The values templates see. Cluster-wide values are built once; `for_host` adds `host`.
#[derive(Debug)]
pub struct TemplateContext {
    base: BTreeMap<String, TemplateValue>,
    hosts: BTreeMap<String, TemplateValue>,
}

impl TemplateContext {
    pub fn new(spec: &ClusterSpec, roles: &[&str]) -> Self {
        let mut role_members: BTreeMap<&str, Vec<&HostSpec>> =
            roles.iter().map(|role| (*role, Vec::new())).collect();
        // Each host's place among each of its roles' members, counted from 1, noted as the
        // members are listed: searched for in the lists, it was hosts times members.
        let mut role_indexes: Vec<BTreeMap<String, TemplateValue>> =
            Vec::with_capacity(spec.hosts.len());
        for host in spec.hosts.values() {
            let mut role_index = BTreeMap::new();
            for role in &host.roles {
                let members = role_members.entry(role.as_str()).or_default();
                members.push(host);
                let place = members.len() as i64;
                role_index
                    .entry(role.clone())
                    .or_insert_with(|| TemplateValue::from(place));
            }
            role_indexes.push(role_index);
        }
        let hosts: BTreeMap<String, TemplateValue> = spec
            .hosts
            .values()
            .zip(role_indexes)
            .map(|(host, role_index)| {
                let object: BTreeMap<&str, TemplateValue> = BTreeMap::from([
                    ("name", TemplateValue::from(host.name.as_str())),
                    (
                        "fqdn",
                        TemplateValue::from(format!("{}.{}", host.name, spec.domain)),
                    ),
                    ("address", TemplateValue::from(host.address.as_str())),
                    // The spec's, else cairn's defaults: what the compiler knows (the SSH
                    // configuration is the applying machine's).
                    (
                        "user",
                        TemplateValue::from(host.user.as_deref().unwrap_or("root")),
                    ),
                    (
                        "port",
                        TemplateValue::from(i64::from(host.port.unwrap_or(22))),
                    ),
                    (
                        "roles",
                        TemplateValue::from(
                            host.roles
                                .iter()
                                .map(|role| TemplateValue::from(role.as_str()))
                                .collect::<Vec<_>>(),
                        ),
                    ),
                    ("role_index", TemplateValue::from(role_index)),
                ]);
                let mut object = object;
                if let Some(id) = host.id {
                    object.insert("id", TemplateValue::from(i64::from(id)));
                }
                (host.name.clone(), TemplateValue::from(object))
            })
            .collect();

        let mut base: BTreeMap<String, TemplateValue> = BTreeMap::new();
        base.insert(
            "cluster".into(),
            TemplateValue::from(BTreeMap::from([
                ("name", TemplateValue::from(spec.name.as_str())),
                ("domain", TemplateValue::from(spec.domain.as_str())),
            ])),
        );
        base.insert(
            "hosts".into(),
            TemplateValue::from(hosts.values().cloned().collect::<Vec<_>>()),
        );
        let roles_value: BTreeMap<&str, TemplateValue> = role_members
            .iter()
            .map(|(role, members)| {
                (
                    *role,
                    TemplateValue::from(
                        members
                            .iter()
                            .map(|member| hosts[&member.name].clone())
                            .collect::<Vec<_>>(),
                    ),
                )
            })
            .collect();
        base.insert("roles".into(), TemplateValue::from(roles_value));
        for (section, values) in &spec.sections {
            let table: BTreeMap<&str, TemplateValue> = values
                .values
                .iter()
                .map(|(key, value)| (key.as_str(), setting_value(value)))
                .collect();
            base.insert(section.clone(), TemplateValue::from(table));
        }
        Self { base, hosts }
    }

    /// The context for cluster-wide nodes (images): no `host`.
    pub fn for_cluster(&self) -> TemplateValue {
        TemplateValue::from(self.base.clone())
    }

    /// The context for the nodes of one host.
    pub fn for_host(&self, host: &str) -> TemplateValue {
        let mut map = self.base.clone();
        map.insert("host".into(), self.hosts[host].clone());
        TemplateValue::from(map)
    }

    /// `context` with `item` added, for a `for_each` node: looked up through, not copied
    /// (`ItemContext`).
    pub fn with_item(context: &TemplateValue, item: TemplateValue) -> TemplateValue {
        TemplateValue::from_object(ItemContext {
            context: context.clone(),
            item,
        })
    }
}

/// The name a `for_each` node's item has in its context.
const ITEM: &str = "item";

/// A `for_each` node's context: `item` over its declaration's context, which is shared,
/// not copied. A copy per item cost a map of every settings section per node, and the
/// copies a claim keeps (`EmittedNode::claim_context`) held 180 MB at ten thousand hosts.
#[derive(Debug)]
struct ItemContext {
    context: TemplateValue,
    item: TemplateValue,
}

impl Object for ItemContext {
    fn get_value(self: &Arc<Self>, key: &TemplateValue) -> Option<TemplateValue> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<TemplateValue> {
        if key == ITEM {
            return Some(self.item.clone());
        }
        self.context.as_object()?.get_value_by_str(key)
    }

    /// The context's names and `item`, sorted, as the copy's map had them.
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<TemplateValue> = self
            .context
            .try_iter()
            .map(|keys| keys.collect())
            .unwrap_or_default();
        keys.push(TemplateValue::from(ITEM));
        keys.sort();
        keys.dedup();
        Enumerator::Values(keys)
    }
}

fn setting_value(value: &SettingValue) -> TemplateValue {
    match value {
        SettingValue::String(text) => TemplateValue::from(text.as_str()),
        SettingValue::Integer(number) => TemplateValue::from(*number),
        SettingValue::Boolean(flag) => TemplateValue::from(*flag),
        SettingValue::Strings(items) => TemplateValue::from(
            items
                .iter()
                .map(|item| TemplateValue::from(item.as_str()))
                .collect::<Vec<_>>(),
        ),
        SettingValue::PathSizes(sizes) | SettingValue::HostIntegers(sizes) => TemplateValue::from(
            sizes
                .iter()
                .map(|(path, bytes)| (path.as_str(), TemplateValue::from(*bytes)))
                .collect::<BTreeMap<_, _>>(),
        ),
        SettingValue::Secret(name) => {
            TemplateValue::from_object(SecretValue { name: name.clone() })
        }
    }
}
