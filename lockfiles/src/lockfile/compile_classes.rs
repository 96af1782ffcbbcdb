//! The classes of the nodes a compiler hands over: which share a spec, so that
//! [`super::Lockfile::from_sorted`] builds, checks and encodes their inputs once.
//!
//! The reader knows the nodes it read from the same text; a compiler's nodes are compared
//! here, but only where that pays and costs nothing: host package nodes. Every host making
//! the same request has the same pin set, shared in memory (`PinSet`), and its inputs (a
//! hundred pins and more) dominate the node's cost; equal pin sets are found by their hash
//! and confirmed by comparing the whole spec. Every other node is a class of its own.

use foldhash::{HashMap, HashMapExt};

use super::{ModelCopies, SpecClasses};
use crate::nodes::{NodeSpec, PinSetHash};
use crate::sorted_node::SortedNode;

/// What package nodes of one class have in common: their key, request and pin set.
type PackageKey<'n> = (&'n str, &'n [String], PinSetHash);

/// The classes of `nodes`: package nodes of the same key and spec together, every other
/// node alone.
pub(super) fn package_classes(nodes: &[SortedNode]) -> SpecClasses {
    // By key, request and pin set: the classes found so far, each with its first node.
    let mut found: HashMap<PackageKey<'_>, Vec<(usize, usize)>> = HashMap::new();
    let mut of = Vec::with_capacity(nodes.len());
    let mut count = 0;
    for node in nodes {
        let new_class = |count: &mut usize| {
            *count += 1;
            *count - 1
        };
        let NodeSpec::Package(package) = &*node.spec else {
            of.push(new_class(&mut count));
            continue;
        };
        let Some(pins) = &package.pins else {
            of.push(new_class(&mut count));
            continue;
        };
        let key = (
            node.name.key.as_ref(),
            package.packages.as_slice(),
            pins.hash(),
        );
        let classes = found.entry(key).or_default();
        let same = classes
            .iter()
            .find(|(_, first)| nodes[*first].spec == node.spec)
            .map(|(class, _)| *class);
        let class = same.unwrap_or_else(|| {
            let class = new_class(&mut count);
            classes.push((class, of.len()));
            class
        });
        of.push(class);
    }
    SpecClasses {
        of,
        count,
        copies: ModelCopies::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodes::{FieldReader, TextSource};
    use crate::value::Value;

    fn package(name: &str, request: &[&str], pinned: &str) -> SortedNode {
        let pins = Value::List(vec![Value::Table(
            [
                ("architecture", "amd64"),
                ("name", pinned),
                ("sha256", &"ab".repeat(32)),
                ("url", "http://deb.example/pool/x.deb"),
                ("version", "1.0"),
            ]
            .into_iter()
            .map(|(field, value)| (field.to_string(), Value::String(value.to_string())))
            .chain([("size".to_string(), Value::Integer(1))])
            .collect(),
        )]);
        let fields = [
            (
                "name",
                Value::String(name.rsplit(':').next().unwrap().to_string()),
            ),
            (
                "packages",
                Value::strings(&request.iter().map(|p| p.to_string()).collect::<Vec<_>>()),
            ),
            ("architecture", "amd64".into()),
            ("release", "bookworm".into()),
            (
                "sources",
                Value::strings(&["http://deb.example/debian bookworm main".to_string()]),
            ),
            ("base", "required".into()),
            ("pins", pins),
        ]
        .into_iter()
        .map(|(field, value)| (field.to_string(), value))
        .collect();
        let name: crate::NodeName = name.parse().unwrap();
        SortedNode {
            spec: std::sync::Arc::new(
                NodeSpec::from_fields(name.kind, FieldReader::new(fields, TextSource::Inline))
                    .unwrap(),
            ),
            name,
            deps: Default::default(),
            ordered_after: Default::default(),
        }
    }

    #[test]
    fn hosts_making_the_same_request_share_a_class_and_any_other_node_is_alone() {
        let nodes = [
            package("a:package:tools", &["curl"], "curl"),
            package("b:package:tools", &["curl"], "curl"),
            package("c:package:tools", &["curl"], "wget"),
            package("c:package:more", &["curl"], "curl"),
        ];
        let classes = package_classes(&nodes);
        assert_eq!(classes.of[0], classes.of[1], "the same request and pins");
        assert_ne!(classes.of[0], classes.of[2], "other pins");
        assert_ne!(classes.of[0], classes.of[3], "another key");
        assert_eq!(classes.count, 3);
    }
}
