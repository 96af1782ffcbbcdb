//! Hosts written like another (format 7), as a reviewer and the reader see them.

use std::collections::BTreeMap;

use crate::lockfile::{Lockfile, UnhashedNode};
use crate::test_fixtures::{host, lockfile, node};
use crate::value::Value;

/// A host's nodes: a check, its hostname file (the one value of its own), and a command
/// reloading after it (the same fields everywhere, its id differing through the file's).
fn nodes_of(host: &str) -> Vec<UnhashedNode> {
    let name = |rest: &str| format!("{host}:{rest}");
    vec![
        node(
            &name("check:os-release"),
            &[],
            &[
                ("probe", "os_release".into()),
                ("allowed", Value::strings(&["debian 12".into()])),
            ],
        ),
        node(
            &name("file:/etc/hostname"),
            &[&name("check:os-release")],
            &[
                ("content", format!("{host}\n").into()),
                ("mode", "0644".into()),
            ],
        ),
        node(
            &name("command:reload"),
            &[&name("file:/etc/hostname"), "db1:check:os-release"],
            &[("run", "reload --all".into())],
        ),
    ]
}

/// web1 and web2 (role `web`), web2 with a file web1 lacks, and db1 (role `db`): web2 is
/// written like web1.
fn cluster(edit: impl FnOnce(&mut Vec<UnhashedNode>)) -> Lockfile {
    let mut nodes: Vec<UnhashedNode> = ["web1", "web2", "db1"]
        .into_iter()
        .flat_map(nodes_of)
        .collect();
    nodes.push(node(
        "web2:file:/etc/extra",
        &[],
        &[("content", "extra\n".into())],
    ));
    edit(&mut nodes);
    lockfile(
        BTreeMap::from([
            ("db1".to_string(), host("10.0.0.3", "db")),
            ("web1".to_string(), host("10.0.0.1", "web")),
            ("web2".to_string(), host("10.0.0.2", "web")),
        ]),
        nodes,
    )
}

/// `text` read by the subset parser and by the general one: the same outcome from both.
fn read_both(text: &str) -> Result<Lockfile, String> {
    let fast = Lockfile::parse(text, "test.lock").map_err(|error| error.to_string());
    let general = crate::reader::parse_toml(text, "test.lock")
        .and_then(|document| crate::reader::read_document(document, "test.lock"))
        .map_err(|error| error.to_string());
    match (&fast, &general) {
        (Ok(fast), Ok(general)) => assert_eq!(fast.nodes(), general.nodes()),
        _ => assert_eq!(
            fast.as_ref().err(),
            general.as_ref().err(),
            "both parsers alike"
        ),
    }
    fast
}

/// The `[[node]]` tables of `host` in `text`, each as written.
fn tables_of<'a>(text: &'a str, host: &str) -> Vec<&'a str> {
    text.split("\n[[node]]\n")
        .filter(|table| table.starts_with(&format!("name = \"{host}:")))
        .map(|table| table.split("\n\n").next().unwrap().trim_end())
        .collect()
}

/// The hash of the text of `node`'s `content`.
fn content_of(lockfile: &Lockfile, node: &str) -> String {
    let node = lockfile.node(&node.parse().unwrap()).unwrap();
    node.spec.texts()[0].hash().to_string()
}

#[test]
fn a_host_of_a_models_roles_is_written_as_what_differs_and_reads_back_the_same() {
    let lockfile = cluster(|_| {});
    let text = lockfile.to_toml();
    assert!(
        text.contains("roles = [\"web\"]\nlike = \"web1\"\n"),
        "{text}"
    );
    assert!(
        !text.contains("like = \"db1\""),
        "the only host of its roles"
    );
    let extra = content_of(&lockfile, "web2:file:/etc/extra");
    let hostname = content_of(&lockfile, "web2:file:/etc/hostname");
    assert_eq!(
        tables_of(&text, "web2"),
        [
            format!(
                "name = \"web2:file:/etc/extra\"\nmode = \"0644\"\nowner = \"root\"\ngroup = \"root\"\ncontent = \"{extra}\""
            ),
            format!("name = \"web2:file:/etc/hostname\"\ncontent = \"{hostname}\""),
        ],
        "the check and the command are web1's, renamed, so neither is written; a node web1 \
         lacks is written whole, without an id"
    );
    let read = read_both(&text).unwrap();
    assert_eq!(read.nodes(), lockfile.nodes());
    assert_eq!(read.to_toml(), text);
}

#[test]
fn a_node_the_host_does_not_change_has_its_models_id_unless_it_depends_on_one_it_does() {
    let text = cluster(|_| {}).to_toml();
    let read = read_both(&text).unwrap();
    let id = |name: &str| read.node(&name.parse().unwrap()).unwrap().id;
    assert_eq!(
        id("web2:check:os-release"),
        id("web1:check:os-release"),
        "the same inputs and no dependency"
    );
    assert_ne!(
        id("web2:command:reload"),
        id("web1:command:reload"),
        "the same inputs, but it depends on web2's own hostname file"
    );
}

#[test]
fn a_model_depending_on_a_node_of_the_host_written_like_it_reads_back_the_same() {
    let lockfile = cluster(|nodes| {
        for host in ["web1", "web2"] {
            let reload = nodes
                .iter_mut()
                .find(|node| node.name.to_string() == format!("{host}:command:reload"))
                .unwrap();
            reload.deps.push("web2:check:os-release".parse().unwrap());
            reload.deps.sort_unstable();
            reload.deps.dedup();
        }
    });
    let text = lockfile.to_toml();
    assert!(text.contains("like = \"web1\""), "{text}");
    assert!(
        !tables_of(&text, "web2")
            .iter()
            .any(|table| table.contains("command:reload")),
        "web1's reload, renamed, is web2's: {text}"
    );
    let read = read_both(&text).unwrap();
    assert_eq!(read.nodes(), lockfile.nodes());
}

#[test]
fn a_list_that_differs_from_the_models_is_written_and_an_empty_one_as_such() {
    let lockfile = cluster(|nodes| {
        let reload = nodes
            .iter_mut()
            .find(|node| node.name.to_string() == "web2:command:reload")
            .unwrap();
        reload.deps.clear();
    });
    let text = lockfile.to_toml();
    assert!(
        tables_of(&text, "web2").contains(&"name = \"web2:command:reload\"\ndeps = []"),
        "{text}"
    );
    let read = read_both(&text).unwrap();
    assert_eq!(read.nodes(), lockfile.nodes());
}

#[test]
fn a_host_that_lacks_a_node_or_a_field_of_its_models_is_written_whole() {
    let without_a_node = cluster(|nodes| {
        nodes.retain(|node| node.name.to_string() != "web2:check:os-release");
        for node in nodes.iter_mut() {
            node.deps
                .retain(|dependency| dependency.to_string() != "web2:check:os-release");
        }
    });
    let without_a_field = cluster(|nodes| {
        let position = nodes
            .iter()
            .position(|node| node.name.to_string() == "web1:command:reload")
            .unwrap();
        let deps = ["web1:file:/etc/hostname", "db1:check:os-release"];
        let fields = [
            ("run", "reload --all".into()),
            ("unless", "reloaded".into()),
        ];
        nodes[position] = node("web1:command:reload", &deps, &fields);
    });
    for lockfile in [without_a_node, without_a_field] {
        let text = lockfile.to_toml();
        assert!(!text.contains("like = "), "{text}");
        assert!(
            tables_of(&text, "web2")
                .iter()
                .all(|table| table.contains("\nid = \"")),
            "{text}"
        );
        assert_eq!(read_both(&text).unwrap().nodes(), lockfile.nodes());
    }
}

#[test]
fn an_edit_of_a_host_written_like_another_is_refused_naming_it() {
    let lockfile = cluster(|_| {});
    let text = lockfile.to_toml();
    let hostname = content_of(&lockfile, "web2:file:/etc/hostname");
    let web1_hostname = content_of(&lockfile, "web1:file:/etc/hostname");
    let edits = [
        (
            "a field",
            text.replacen(
                &format!("name = \"web2:file:/etc/hostname\"\ncontent = \"{hostname}\""),
                &format!("name = \"web2:file:/etc/hostname\"\ncontent = \"{hostname}\"\nmode = \"0600\""),
                1,
            ),
        ),
        (
            "a table taken out (the model's node then stands)",
            text.replacen(
                &format!("\n[[node]]\nname = \"web2:file:/etc/hostname\"\ncontent = \"{hostname}\"\n"),
                "",
                1,
            )
            .replacen(&format!("# web2:file:/etc/hostname\n{hostname} = '''\nweb2\n'''\n"), "", 1),
        ),
        (
            "a dependency added",
            text.replacen(
                "name = \"web2:file:/etc/hostname\"\n",
                "name = \"web2:file:/etc/hostname\"\ndeps = [\"web2:check:os-release\", \"web2:file:/etc/extra\"]\n",
                1,
            ),
        ),
        ("its model", text.replacen("like = \"web1\"", "like = \"db1\"", 1)),
    ];
    for (label, edited) in edits {
        assert_ne!(edited, text, "{label}: the edit applies");
        let error = read_both(&edited).unwrap_err();
        assert!(
            error.contains("host `web2`'s nodes, written like `") && error.contains("nodes_digest"),
            "{label}: {error}"
        );
    }
    assert_ne!(hostname, web1_hostname);
}

#[test]
fn a_like_that_cannot_be_followed_is_refused() {
    let text = cluster(|_| {}).to_toml();
    let refusals = [
        (
            text.replacen("like = \"web1\"", "like = \"web9\"", 1),
            "[hosts.web2]: `like = \"web9\"` names no host of [hosts]",
        ),
        (
            text.replacen("like = \"web1\"", "like = \"web2\"", 1),
            "[hosts.web2]: a host is not written like itself",
        ),
        (
            text.replacen(
                "roles = [\"db\"]\n",
                "roles = [\"db\"]\nlike = \"web2\"\n",
                1,
            ),
            "[hosts.db1]: `like = \"web2\"` names a host written like another; a model is written whole",
        ),
        (
            text.replacen("version = 7", "version = 6", 1),
            "[hosts.web2]: format 6 has no `like`; version 7 added it",
        ),
        (
            text.replacen(
                "name = \"web2:file:/etc/hostname\"\n",
                "name = \"web2:file:/etc/hostname\"\nid = \"00000000000000000000000000000000\"\n",
                1,
            ),
            "a node of a host written `like` another records no `id`",
        ),
    ];
    for (edited, expected) in refusals {
        assert_ne!(edited, text, "the edit applies: {expected}");
        let error = read_both(&edited).unwrap_err();
        assert!(error.contains(expected), "{error}");
    }
}
