//! The `host_priorities` setting type: a table of host name to VRRP priority, such as
//! keepalived's `priorities = { lb1 = 150, lb2 = 100 }`. Each priority is from 1 to 254
//! (255 is VRRP's owner of the address, which a floating VIP has none of) and distinct:
//! VRRP breaks a tie by the hosts' addresses, which is nobody's choice. That every name is
//! a host of the spec with the setting's role is checked with the other host settings.

use std::collections::BTreeMap;

use toml::de::DeTable;

use crate::diagnostic::Diagnostic;
use crate::module::setting::{SettingSchema, SettingValue};
use crate::source_file::SourceFile;
use crate::toml_reader::{integer_of, type_name};

/// The lowest and highest priority a host may have.
const PRIORITIES: std::ops::RangeInclusive<i64> = 1..=254;

pub fn check(
    schema: &SettingSchema,
    table: &DeTable<'_>,
    source: &SourceFile,
) -> Result<SettingValue, Diagnostic> {
    let mut priorities: BTreeMap<String, i64> = BTreeMap::new();
    for (host, priority) in table.iter() {
        let host = host.get_ref().to_string();
        let number = match integer_of(priority.get_ref()) {
            Some(number) if PRIORITIES.contains(&number) => number,
            found => {
                let found = found.map_or_else(
                    || type_name(priority.get_ref()).to_string(),
                    |number| number.to_string(),
                );
                return Err(Diagnostic::new(format!(
                    "the priority of `{host}` in `{}` of [{}] must be an integer from 1 to 254, found {found}",
                    schema.key, schema.section
                ))
                .at(source, &priority.span())
                .hint("the host with the highest priority holds the address; 255 is reserved by VRRP"));
            }
        };
        if let Some((other, _)) = priorities.iter().find(|(_, other)| **other == number) {
            return Err(Diagnostic::new(format!(
                "`{other}` and `{host}` both have priority {number} in `{}` of [{}]",
                schema.key, schema.section
            ))
            .at(source, &priority.span())
            .hint(format!(
                "give each host its own priority, such as {} for `{host}`: with equal priorities VRRP picks the holder by address",
                number - 1
            )));
        }
        priorities.insert(host, number);
    }
    Ok(SettingValue::HostIntegers(priorities))
}
