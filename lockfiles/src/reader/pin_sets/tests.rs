//! The `[package_pins]` tables of format 6, as a reviewer and the reader see them.

use std::collections::BTreeMap;

use crate::integrity::LockfileDigests;
use crate::lockfile::{FORMAT_VERSION, Lockfile, UnhashedNode};
use crate::node_name::NodeName;
use crate::nodes::{HostPackagePins, NodeSpec, PackageNode, PackagePin, PinSet};
use crate::test_fixtures::{host, lockfile};

/// What `apt-get install curl` pins on bookworm's required base.
fn curl_pins() -> HostPackagePins {
    let pin = |name: &str, version: &str| PackagePin {
        name: name.into(),
        version: version.into(),
        architecture: "amd64".into(),
        url: format!("http://deb.example/debian/pool/main/{name}_{version}_amd64.deb"),
        sha256: "ab".repeat(32),
        size: 4096,
    };
    HostPackagePins {
        architecture: "amd64".into(),
        release: "bookworm".into(),
        sources: vec!["http://deb.example/debian bookworm main".into()],
        base: "required".into(),
        assumed: vec!["libc6=2.36-9+deb12u14".into()],
        packages: vec![
            pin("curl", "7.88.1-10+deb12u8"),
            pin("libcurl4", "7.88.1-10+deb12u8"),
        ],
    }
}

/// A package node `HOST:package:tools` asking for curl, pinned to `pins`.
fn tools_on(host: &str, pins: &PinSet) -> UnhashedNode {
    let mut package = PackageNode {
        name: "tools".into(),
        packages: vec!["curl".into()],
        pins: None,
    };
    package.set_pins(Some(pins.clone()));
    UnhashedNode {
        name: format!("{host}:package:tools").parse().unwrap(),
        deps: Vec::new(),
        ordered_after: Vec::new(),
        spec: NodeSpec::Package(package),
    }
}

/// Two hosts making the same request, as compile pins them: one set, shared.
fn two_hosts_with_tools() -> Lockfile {
    let pins = PinSet::new(curl_pins());
    lockfile(
        BTreeMap::from([
            ("h1".to_string(), host("10.0.0.1", "app")),
            ("h2".to_string(), host("10.0.0.2", "app")),
        ]),
        vec![tools_on("h1", &pins), tools_on("h2", &pins)],
    )
}

fn pin_set_of<'a>(lockfile: &'a Lockfile, node: &str) -> &'a PinSet {
    let name: NodeName = node.parse().unwrap();
    let node = lockfile
        .nodes()
        .iter()
        .find(|node| node.name == name)
        .unwrap();
    node.spec.pin_set().expect("the node is pinned")
}

/// The `[package_pins.HASH]` table of a lockfile's text with the comment above it, and
/// what it holds (its fields, as format 5 wrote them in each node).
fn the_pin_table(text: &str) -> (std::ops::Range<usize>, String) {
    let header = text.find("\n[package_pins.").expect("a pin table");
    let comment = text[..header].rfind("\n#").unwrap();
    let fields_start = header + 1 + text[header + 1..].find('\n').unwrap() + 1;
    // Up to the blank line before the next table, or the end of the text.
    let end = text[fields_start..]
        .find("\n\n")
        .map_or(text.len(), |blank| fields_start + blank + 1);
    (comment..end, text[fields_start..end].to_string())
}

/// `lockfile`'s text as format 5 wrote it: each host whole, each node's pins inline, no
/// `[package_pins]` table, version 5 and its digests (the top-level one covers the
/// version; a host's `nodes_digest` covers its nodes' dependencies from format 7).
fn in_format_5(lockfile: &Lockfile) -> String {
    let text = crate::writer::write_every_host_whole(lockfile);
    let (table, fields) = the_pin_table(&text);
    let hash = pin_set_of(lockfile, "h1:package:tools").hash();
    let without_table = format!("{}{}", &text[..table.start], &text[table.end..]);
    let (now, then) = (
        LockfileDigests::of(lockfile),
        LockfileDigests::of_format(lockfile, 5),
    );
    let mut text = without_table
        .replace(&format!("pins = \"{hash}\"\n"), &fields)
        .replacen(&format!("version = {FORMAT_VERSION}"), "version = 5", 1)
        .replacen(&now.whole.to_string(), &then.whole.to_string(), 1);
    for (host, (_, nodes)) in &now.hosts {
        text = text.replacen(&nodes.to_string(), &then.hosts[host].1.to_string(), 1);
    }
    text
}

/// The error reading `text` gives, through the subset parser and through the general one
/// alike.
fn refusal(text: &str) -> String {
    let fast = Lockfile::parse(text, "test.lock").unwrap_err().to_string();
    let general = crate::reader::parse_toml(text, "test.lock")
        .and_then(|document| crate::reader::read_document(document, "test.lock"))
        .unwrap_err()
        .to_string();
    assert_eq!(fast, general, "both parsers refuse it alike");
    fast
}

#[test]
fn two_hosts_with_the_same_request_share_one_table_entry() {
    let lockfile = two_hosts_with_tools();
    let hash = pin_set_of(&lockfile, "h1:package:tools").hash();
    let text = lockfile.to_toml();

    // h1's node names the set (h2, written like h1, has h1's node); the set is written
    // once, after a comment naming its users.
    assert!(text.contains("like = \"h1\"\n"), "{text}");
    assert_eq!(
        text.matches(&format!("pins = \"{hash}\"\n")).count(),
        1,
        "{text}"
    );
    assert_eq!(text.matches("[package_pins.").count(), 1, "{text}");
    assert!(
        text.contains(&format!(
            "# h1:package:tools, h2:package:tools\n[package_pins.{hash}]\narchitecture = \"amd64\"\n"
        )),
        "{text}"
    );
    assert_eq!(text.matches("release = \"bookworm\"").count(), 1, "{text}");

    // Read back the fast way: the same nodes and ids, and one set in memory, shared by
    // both nodes.
    assert!(
        crate::reader::subset_parser::parse(text.as_bytes())
            .unwrap()
            .is_some()
    );
    let read = Lockfile::parse(&text, "test.lock").unwrap();
    assert_eq!(read.nodes(), lockfile.nodes());
    assert!(std::ptr::eq(
        pin_set_of(&read, "h1:package:tools").pins(),
        pin_set_of(&read, "h2:package:tools").pins()
    ));
    assert_eq!(read.to_toml(), text);
}

#[test]
fn a_node_naming_a_pin_set_the_table_does_not_hold_is_refused_naming_the_node() {
    let text = two_hosts_with_tools().to_toml();
    let (table, _) = the_pin_table(&text);
    let without_table = format!("{}{}", &text[..table.start], &text[table.end..]);
    let error = refusal(&without_table);
    assert!(
        error.contains("node `h1:package:tools`: field `pins`: pin set ")
            && error.contains("is not in the lockfile's [package_pins] tables"),
        "{error}"
    );
}

#[test]
fn a_tampered_pin_set_is_refused_naming_its_table() {
    let lockfile = two_hosts_with_tools();
    let hash = pin_set_of(&lockfile, "h1:package:tools").hash();
    let text = lockfile.to_toml();
    let (table, _) = the_pin_table(&text);
    let tampered = format!(
        "{}{}{}",
        &text[..table.start],
        text[table.clone()].replacen("size = 4096", "size = 4097", 1),
        &text[table.end..]
    );
    let error = refusal(&tampered);
    assert!(
        error.contains(&format!("[package_pins.{hash}] holds pins whose hash is ")),
        "{error}"
    );
}

#[test]
fn a_pin_set_no_node_names_is_refused() {
    let text = two_hosts_with_tools().to_toml();
    let mut other = curl_pins();
    other.packages.truncate(1);
    let other = PinSet::new(other);
    let (_, fields) = the_pin_table(&text);
    let unused = format!(
        "[package_pins.{}]\n{}",
        other.hash(),
        fields
            .lines()
            .filter(|line| !line.contains("libcurl4"))
            .map(|line| format!("{line}\n"))
            .collect::<String>()
    );
    let content = text.find("\n[content]").unwrap_or(text.len());
    let with_unused = format!("{}\n{unused}{}", &text[..content], &text[content..]);
    let error = refusal(&with_unused);
    assert!(
        error.contains(&format!(
            "[package_pins.{}] is used by no node",
            other.hash()
        )),
        "{error}"
    );
}

#[test]
fn a_format_5_lockfile_with_inline_pins_reads_to_the_same_nodes_and_ids() {
    let lockfile = two_hosts_with_tools();
    let old = in_format_5(&lockfile);
    assert!(!old.contains("[package_pins."), "{old}");
    assert_eq!(old.matches("release = \"bookworm\"").count(), 2, "{old}");

    let read = Lockfile::parse(&old, "old.lock").unwrap();
    assert_eq!(read.nodes(), lockfile.nodes());
    // Written again, it is format 6, the ids unchanged: applying it restarts nothing.
    assert_eq!(read.to_toml(), lockfile.to_toml());
}

#[test]
fn a_format_5_lockfile_holds_no_pin_tables() {
    let lockfile = two_hosts_with_tools();
    let (table, _) = the_pin_table(&lockfile.to_toml());
    let old = in_format_5(&lockfile);
    let table_text = &lockfile.to_toml()[table];
    let content = old.find("\n[content]").unwrap_or(old.len());
    let with_table = format!("{}{table_text}{}", &old[..content], &old[content..]);
    let error = refusal(&with_table);
    assert!(
        error.contains("format 5 has no [package_pins] tables; version 6 added them"),
        "{error}"
    );
}
