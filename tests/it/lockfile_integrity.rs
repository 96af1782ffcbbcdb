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

#[test]
fn a_syntax_error_in_a_lockfile_names_line_and_column() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", |text| {
        text.replacen("version = 1", "version = ", 1)
    });
    show(&sandbox).code(2).stderr_has("cluster.lock:3:");
}

#[test]
fn a_lockfile_of_a_newer_format_is_refused_with_a_hint() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", |text| {
        text.replacen("version = 1", "version = 2\nnew_field = true", 1)
    });
    show(&sandbox)
        .code(2)
        .stderr_has("format version 2 is not supported");
}
