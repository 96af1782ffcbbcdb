//! Rollout policies: what a module states of how its container's replicas are replaced
//! (`[node.rollout]`), what the spec changes of it (`[rollouts.NAME]`), what the lockfile
//! records (`[rollouts.NAME]`, outside every id) and what `cairn diff` says of it.

use crate::support::{MINIMAL_SPEC, Sandbox, with_spec_modules};

/// `MINIMAL_SPEC` with `extra` appended.
fn spec_with(extra: &str) -> String {
    format!("{MINIMAL_SPEC}\n{extra}")
}

/// The `[rollouts.NAME]` table of the sandbox's lockfile, its digest left out.
fn rollout_table(sandbox: &Sandbox, name: &str) -> String {
    let lock = sandbox.read("cluster.lock");
    let header = format!("[rollouts.{name}]\n");
    let start = lock.find(&header).expect("the rollout table") + header.len();
    lock[start..]
        .lines()
        .take_while(|line| !line.starts_with("digest = "))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn a_module_states_its_rollout_and_the_spec_changes_its_pace_without_changing_an_id() {
    let sandbox = Sandbox::new();
    sandbox.write("cluster.toml", MINIMAL_SPEC);
    sandbox.compile().success();
    let stated = rollout_table(&sandbox, "zookeeper");
    assert!(stated.starts_with("max_parallel = 1\n"), "{stated}");
    assert!(
        stated.contains("last_are = \"the ZooKeeper leader\"\n"),
        "{stated}"
    );
    assert!(
        stated.contains("gates = [\"health:zookeeper-quorum\", \"health:zookeeper-ruok\"]\n"),
        "the module's health nodes of the container are its gates: {stated}"
    );
    let ids_before = sandbox.nodes();

    sandbox.write(
        "cluster.toml",
        &spec_with("[rollouts.zookeeper]\nmax_parallel = \"50%\"\nmin_healthy_seconds = 30\n"),
    );
    sandbox.compile().success();
    let changed = rollout_table(&sandbox, "zookeeper");
    assert!(changed.starts_with("max_parallel = \"50%\"\n"), "{changed}");
    assert!(changed.contains("min_healthy_seconds = 30\n"), "{changed}");
    assert!(
        changed.contains("last_are = \"the ZooKeeper leader\"\n"),
        "the order stays the module's: {changed}"
    );
    assert_eq!(sandbox.nodes(), ids_before, "a policy is in no node's id");
}

#[test]
fn a_container_without_a_stated_rollout_gets_the_default_one() {
    let sandbox = Sandbox::new();
    sandbox.write("cluster.toml", &with_spec_modules(MINIMAL_SPEC));
    sandbox.write(
        "modules/web/module.toml",
        &module_with_rollout("").replacen("[node.rollout]\n", "", 1),
    );
    sandbox.compile().success();
    assert_eq!(
        rollout_table(&sandbox, "web"),
        "max_parallel = \"25%\"\ngates = [\"health:web-http\"]\nmin_healthy_seconds = 5\ndeadline_seconds = 300\nkeep_releases = 2\n",
        "a quarter of the hosts at a time, gated by the container's own health nodes"
    );
}

#[test]
fn the_spec_changing_the_rollout_of_a_container_no_host_runs_is_refused_at_its_name() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "cluster.toml",
        &spec_with("[rollouts.zookeper]\nmax_parallel = 2\n"),
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("cluster.toml:20:11")
        .stderr_has("no host runs a container named `zookeper`")
        .stderr_has("did you mean `zookeeper`?");
}

#[test]
fn a_share_beyond_the_whole_and_a_key_the_spec_cannot_set_are_refused_at_their_lines() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "cluster.toml",
        &spec_with("[rollouts.zookeeper]\nmax_parallel = \"150%\"\n"),
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("cluster.toml:21:16")
        .stderr_has("a count of at least 1 or a share from \"1%\" to \"100%\", found \"150%\"");
    sandbox.write(
        "cluster.toml",
        &spec_with("[rollouts.zookeeper]\ngates = []\n"),
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("cluster.toml:21:1")
        .stderr_has("unknown key `gates` in [rollouts.zookeeper]")
        .stderr_has("a rollout's order and gates are its module's");
}

#[test]
fn the_spec_sets_how_many_releases_hosts_keep_from_1_to_100() {
    let sandbox = Sandbox::new();
    sandbox.write("cluster.toml", MINIMAL_SPEC);
    sandbox.compile().success();
    assert!(
        rollout_table(&sandbox, "zookeeper").ends_with("keep_releases = 2\n"),
        "two by default: the running release and the one a rollback needs"
    );
    let ids_before = sandbox.nodes();
    sandbox.write(
        "cluster.toml",
        &spec_with("[rollouts.zookeeper]\nkeep_releases = 5\n"),
    );
    sandbox.compile().success();
    assert!(rollout_table(&sandbox, "zookeeper").ends_with("keep_releases = 5\n"));
    assert_eq!(sandbox.nodes(), ids_before, "keeping images changes no id");
    sandbox.write(
        "cluster.toml",
        &spec_with("[rollouts.zookeeper]\nkeep_releases = 0\n"),
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("cluster.toml:21:17")
        .stderr_has("`keep_releases` in [rollouts.zookeeper] must be between 1 and 100, found 0");
}

/// A module running one container, `rollout` its `[node.rollout]` table's body.
fn module_with_rollout(rollout: &str) -> String {
    format!(
        r#"[module]
name = "web"
description = "a web server"
roles = ["master"]

[[image]]
name = "web"
base = "{{{{ images.base }}}}"

[[node]]
kind = "container"
name = "web"
image = "web"
deps = ["image:web"]

[node.rollout]
{rollout}
[[node]]
kind = "health"
name = "web-http"
probe = "http"
url = "http://127.0.0.1:8000/"
deps = ["container:web"]
"#
    )
}

#[test]
fn a_module_rollout_names_its_mistakes_at_the_manifest_line() {
    let sandbox = Sandbox::new();
    let spec = with_spec_modules(MINIMAL_SPEC);
    sandbox.write("cluster.toml", &spec);
    for (rollout, place, message) in [
        (
            "max_paralel = 1\n",
            "modules/web/module.toml:17:1",
            "unknown key `max_paralel` in a rollout",
        ),
        (
            "gates = [\"health:web-https\"]\n",
            "modules/web/module.toml:16:1",
            "gate `health:web-https` is a health node of none of its hosts (node1)",
        ),
        (
            "last_where = \"true\"\n",
            "modules/web/module.toml:16:1",
            "add `last_are`",
        ),
        (
            "keep_releases = 0\n",
            "modules/web/module.toml:16:1",
            "`keep_releases`: 0 is not from 1 (the running release alone) to 100",
        ),
    ] {
        sandbox.write("modules/web/module.toml", &module_with_rollout(rollout));
        sandbox
            .compile()
            .code(2)
            .stderr_has(place)
            .stderr_has(message);
    }
    sandbox.write(
        "modules/web/module.toml",
        &module_with_rollout("max_parallel = 1\ngates = [\"health:web-http\"]\n").replacen(
            "[node.rollout]",
            "[node.rollout]\nlast_where = \"test -e /run/web.primary\"\nlast_are = \"the primary\"",
            1,
        ),
    );
    sandbox.compile().success();
    assert_eq!(
        rollout_table(&sandbox, "web"),
        "max_parallel = 1\nlast_where = \"test -e /run/web.primary\"\nlast_are = \"the primary\"\ngates = [\"health:web-http\"]\nmin_healthy_seconds = 5\ndeadline_seconds = 300\nkeep_releases = 2\n"
    );
}

#[test]
fn a_module_states_how_many_releases_it_keeps_and_the_spec_overrides_it() {
    let sandbox = Sandbox::new();
    sandbox.write("cluster.toml", &with_spec_modules(MINIMAL_SPEC));
    sandbox.write(
        "modules/web/module.toml",
        &module_with_rollout("keep_releases = 3\n"),
    );
    sandbox.compile().success();
    assert!(rollout_table(&sandbox, "web").ends_with("keep_releases = 3\n"));
    sandbox.write(
        "cluster.toml",
        &format!(
            "{}\n[rollouts.web]\nkeep_releases = 1\n",
            with_spec_modules(MINIMAL_SPEC)
        ),
    );
    sandbox.compile().success();
    assert!(rollout_table(&sandbox, "web").ends_with("keep_releases = 1\n"));
}

#[test]
fn only_a_container_has_a_rollout() {
    let sandbox = Sandbox::new();
    sandbox.write("cluster.toml", &with_spec_modules(MINIMAL_SPEC));
    sandbox.write(
        "modules/web/module.toml",
        &module_with_rollout("max_parallel = 1\n").replacen(
            "[node.rollout]",
            "[[node]]\nkind = \"file\"\npath = \"/etc/web\"\ncontent = \"x\\n\"\n\n[node.rollout]",
            1,
        ),
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("a file node has no rollout");
}

#[test]
fn diff_shows_how_replaced_containers_roll_and_which_policies_changed() {
    let sandbox = Sandbox::new();
    sandbox.write("cluster.toml", MINIMAL_SPEC);
    sandbox.compile().success();
    std::fs::copy(
        sandbox.path().join("cluster.lock"),
        sandbox.path().join("old.lock"),
    )
    .unwrap();

    sandbox.write(
        "cluster.toml",
        &spec_with("[zookeeper]\ntick_time_ms = 3000\n"),
    );
    sandbox.compile().success();
    let text = sandbox.cairn(&["diff", "old.lock", "cluster.lock"]).code(1);
    assert!(
        text.stdout.contains(
            "rollouts (replacements of running containers, in this order)\n  zookeeper on node1: 1 at a time, the ZooKeeper leader last, gated by health:zookeeper-quorum, health:zookeeper-ruok (healthy 5 s, within 300 s)\n"
        ),
        "{}",
        text.stdout
    );
    let json = sandbox
        .cairn(&["diff", "--json", "old.lock", "cluster.lock"])
        .code(1)
        .json();
    assert_eq!(json["rollouts"][0]["container"], "zookeeper");
    assert_eq!(json["rollouts"][0]["hosts"][0], "node1");
    assert_eq!(json["rollouts"][0]["policy"]["max_parallel"], "1");
    assert_eq!(
        json["rollouts"][0]["policy"]["last_are"],
        "the ZooKeeper leader"
    );

    sandbox.write(
        "cluster.toml",
        &spec_with("[rollouts.zookeeper]\nmax_parallel = 2\n"),
    );
    sandbox.compile().success();
    let text = sandbox.cairn(&["diff", "old.lock", "cluster.lock"]).code(1);
    assert!(
        text.stdout.contains("rollout policies changed (no container is replaced for these)\n  zookeeper:\n    - 1 at a time"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("    + 2 at a time"), "{}", text.stdout);
    assert!(text.stdout.contains("0 nodes changed"), "{}", text.stdout);
}
