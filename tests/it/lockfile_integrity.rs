//! A lockfile is read back through validation: ids are recomputed, content hashes checked,
//! and a file edited by hand or damaged is refused with the place named.

use crate::support::{Sandbox, cairn};

fn show(sandbox: &Sandbox) -> crate::support::Outcome {
    cairn()
        .current_dir(sandbox.path())
        .args(["show", "cluster.lock"])
        .run()
}

#[test]
fn an_edited_node_field_is_refused_naming_the_node() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", |text| {
        text.replace("max_offset_ms = 500", "max_offset_ms = 5000")
    });
    show(&sandbox)
        .code(2)
        .stderr_has("node `node1:check:clock-sync` records id")
        .stderr_has("hint: the lockfile was edited by hand or damaged");
}

#[test]
fn edited_content_is_refused() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", |text| {
        text.replace("stats refresh 10s", "stats refresh 99s")
    });
    show(&sandbox)
        .code(2)
        .stderr_has("holds text whose hash is");
}

#[test]
fn an_edited_dependency_list_is_refused() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", |text| {
        text.replacen(
            "    \"node1:file:/etc/cairn/haproxy/haproxy.cfg\",\n",
            "",
            1,
        )
    });
    show(&sandbox)
        .code(2)
        .stderr_has("node `node1:container:haproxy` records id");
}

/// A host package node's pins are written once per pin set (format 6), in a
/// `[package_pins.HASH]` table checked against its hash: a pin edited there is refused,
/// the table named.
#[test]
fn an_edited_package_pin_set_is_refused_naming_its_table() {
    let sandbox = Sandbox::with_example("dcos-ha");
    sandbox.edit("cluster.lock", |text| {
        let table = text.find("\n[package_pins.").expect("a pin set");
        let size = table + text[table..].find("size = ").unwrap() + "size = ".len();
        format!("{}1{}", &text[..size], &text[size..])
    });
    show(&sandbox)
        .code(2)
        .stderr_has("[package_pins.")
        .stderr_has("holds pins whose hash is");
}

#[test]
fn a_syntax_error_in_a_lockfile_names_line_and_column() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", |text| {
        text.replacen("version = 7", "version = ", 1)
    });
    show(&sandbox).code(2).stderr_has("cluster.lock:3:");
}

#[test]
fn a_lockfile_of_a_newer_format_is_refused_with_a_hint() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", |text| {
        text.replacen("version = 7", "version = 8\nnew_field = true", 1)
    });
    show(&sandbox)
        .code(2)
        .stderr_has("format version 8 is not supported");
}

/// A lockfile of an older format is refused by name, and compile makes it again.
#[test]
fn a_lockfile_of_format_1_is_refused_with_a_hint_to_recompile() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", |text| {
        text.replacen("version = 7", "version = 1", 1)
    });
    show(&sandbox)
        .code(2)
        .stderr_has("format version 1 is not supported")
        .stderr_has("recompile the spec");
}

/// Format 2 listed every check of a host in each of its nodes' dependencies; format 3 has
/// the host's barrier instead. A format-2 lockfile is refused by name, with the same hint.
#[test]
fn a_lockfile_of_format_2_is_refused_with_a_hint_to_recompile() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", |text| {
        text.replacen("version = 7", "version = 2", 1)
    });
    show(&sandbox)
        .code(2)
        .stderr_has("format version 2 is not supported (this cairn reads versions 3 to 7)")
        .stderr_has("recompile the spec");
}

/// Every edit of what no node id covers: the cluster's table, a host's, a secret's, a node
/// deleted that nothing depends on, a table added. Each changes what apply would do (where
/// it writes, whom it reaches, which file it reads as a secret).
const EDITS: &[(&str, &str, &str, &str)] = &[
    (
        "the cluster's name",
        "name = \"quickstart\"",
        "name = \"elsewhere\"",
        "[cluster] (the cluster's name, domain or fingerprint key) was edited",
    ),
    (
        "the cluster's domain",
        "domain = \"quickstart.cairn.test\"",
        "domain = \"other.test\"",
        "[cluster] (the cluster's name, domain or fingerprint key) was edited",
    ),
    (
        "the fingerprint key's file",
        "fingerprint_key = { file = \"secrets/fingerprint.key\" }",
        "fingerprint_key = { file = \"/etc/other.key\" }",
        "[cluster] (the cluster's name, domain or fingerprint key) was edited",
    ),
    (
        "a host's root, to the machine's own /",
        "root = \"sandbox/node1\"",
        "root = \"/\"",
        "[hosts.node1] was edited",
    ),
    (
        "a host's address",
        "address = \"127.0.0.1\"",
        "address = \"10.9.9.9\"",
        "[hosts.node1] was edited",
    ),
    (
        "a host's roles",
        "roles = [\"console\", \"loadbalancer\", \"master\"]",
        "roles = [\"console\"]",
        "[hosts.node1] was edited",
    ),
    (
        "a host's user and port",
        "transport = \"local\"\n",
        "transport = \"local\"\nuser = \"admin\"\nport = 2222\n",
        "[hosts.node1] was edited",
    ),
    (
        "a host's way to become root",
        "transport = \"local\"\n",
        "transport = \"local\"\nbecome = \"sudo\"\n",
        "[hosts.node1] was edited",
    ),
    (
        "a secret's file",
        "file = \"secrets/console-session-key\"",
        "file = \"/etc/shadow\"",
        "[secrets.\"console.session_key\"] was edited",
    ),
    (
        "a host table added",
        "\n[secrets.",
        "\n[hosts.intruder]\naddress = \"10.0.0.66\"\nroles = []\ndigest = \"00000000000000000000000000000000\"\nnodes_digest = \"00000000000000000000000000000000\"\n\n[secrets.",
        "[hosts.intruder] was edited",
    ),
];

fn deleted_leaf_node(text: String) -> String {
    let start = text
        .find("[[node]]\nname = \"node1:health:console-http\"")
        .expect("the console's health check");
    let end = start + text[start..].find("\n\n").expect("a blank line after it") + 2;
    format!("{}{}", &text[..start], &text[end..])
}

/// `show`, `plan` and `apply` of the sandbox's lockfile.
fn every_reader(sandbox: &Sandbox) -> Vec<(&'static str, crate::support::Outcome)> {
    ["show", "plan", "apply"]
        .into_iter()
        .map(|command| {
            let outcome = cairn()
                .current_dir(sandbox.path())
                .args([command, "cluster.lock"])
                .run();
            (command, outcome)
        })
        .collect()
}

fn assert_refused_by_every_reader(sandbox: &Sandbox, label: &str, message: &str) {
    for (command, outcome) in every_reader(sandbox) {
        outcome
            .code(2)
            .stderr_has(message)
            .stderr_has("hint: the lockfile was edited by hand or damaged");
        assert!(
            !sandbox.path().join("sandbox").exists(),
            "{label}: `{command}` touched the host"
        );
    }
}

#[test]
fn an_edit_of_any_table_is_refused_by_show_plan_and_apply_naming_the_table() {
    for (label, before, after, message) in EDITS {
        let sandbox = Sandbox::with_example("quickstart");
        sandbox.edit("cluster.lock", |text| {
            assert!(
                text.contains(before),
                "{label}: `{before}` is in the lockfile"
            );
            text.replacen(before, after, 1)
        });
        assert_refused_by_every_reader(&sandbox, label, message);
    }
}

#[test]
fn a_deleted_leaf_node_is_refused_by_show_plan_and_apply_naming_its_host() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", deleted_leaf_node);
    assert_refused_by_every_reader(
        &sandbox,
        "a deleted health check",
        "the set of host `node1`'s nodes ([hosts.node1]'s `nodes_digest`: a node added or removed, or what one depends on or is ordered after)",
    );
}

/// `ordered_after` is in no id: the host's `nodes_digest` covers it, so keepalived's wait
/// for HAProxy removed by hand is refused, naming the host.
#[test]
fn an_edited_ordered_after_is_refused_by_show_plan_and_apply_naming_its_host() {
    let sandbox = Sandbox::with_example("dcos-ha");
    sandbox.edit("cluster.lock", |text| {
        text.replacen(
            "ordered_after = [\n    \"lb1:health:haproxy-http\",\n    \"lb2:health:haproxy-http\",\n]\n",
            "",
            1,
        )
    });
    assert_refused_by_every_reader(
        &sandbox,
        "an order-only dependency removed",
        "the set of host `lb1`'s nodes ([hosts.lb1]'s `nodes_digest`: a node added or removed, or what one depends on or is ordered after)",
    );
}

#[test]
fn an_added_secret_table_is_refused_by_the_top_level_digest() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", |text| {
        let entry = "[secrets.extra]\nenv = \"EXTRA\"\nfingerprint = \"00000000000000000000000000000000\"\n";
        text.replacen(
            "\n[[node]]",
            &format!("\n{entry}digest = \"00000000000000000000000000000000\"\n\n[[node]]"),
            1,
        )
    });
    // Its own digest is wrong, so it is named first. With the digest its table hashes to
    // (cairn's message gives it), only the top-level digest notices the table.
    let message = show(&sandbox).code(2).stderr;
    let computed = message
        .split("but it hashes to ")
        .nth(1)
        .and_then(|rest| rest.get(..32))
        .expect("the digest it hashes to")
        .to_string();
    sandbox.edit("cluster.lock", |text| {
        text.replacen(
            "digest = \"00000000000000000000000000000000\"\n\n[[node]]",
            &format!("digest = \"{computed}\"\n\n[[node]]"),
            1,
        )
    });
    assert_refused_by_every_reader(
        &sandbox,
        "an added secret",
        "the set of [hosts], [secrets] and [rollouts] tables (the top-level `digest`: a table added or removed)",
    );
}

#[test]
fn a_node_moved_to_cluster_scope_in_a_lockfile_is_refused() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", |text| {
        text.replace(
            "name = \"node1:file:/var/lib/zookeeper/myid\"",
            "name = \"cluster:file:/var/lib/zookeeper/myid\"",
        )
    });
    cairn()
        .current_dir(sandbox.path())
        .args(["show", "cluster.lock"])
        .run()
        .code(2)
        .stderr_has("only images are cluster-wide");
}
