//! A host's barriers: every node of a host waits for the host's checks through one node,
//! `HOST:barrier:checks`, and a container waits for Docker through `HOST:barrier:docker-ready`.
//! The lockfile lists one dependency where it listed every check; a check that changes
//! still changes every id behind it; a check that fails holds back its host's nodes and no
//! other host's; a barrier is never counted as something that ran.

use crate::support::app_cluster::{AppCluster, names, ran_besides_checks};
use crate::support::{MINIMAL_SPEC, Sandbox, changed_ids, with_dependants};

#[test]
fn a_node_of_a_host_waits_for_the_hosts_barrier_not_for_each_check() {
    let sandbox = Sandbox::with_example("dcos-ha");
    sandbox.compile().success();
    let nodes = sandbox.nodes();
    let checks: Vec<String> = nodes
        .keys()
        .filter(|name| name.starts_with("agent1:check:"))
        .cloned()
        .collect();
    assert!(checks.len() > 10, "{checks:?}");

    assert_eq!(nodes["agent1:barrier:checks"].1, checks);
    assert_eq!(
        nodes["agent1:file:/etc/hosts"].1,
        ["agent1:barrier:checks"],
        "one dependency, not one per check"
    );
    // No node but a barrier lists a check of the cluster as a dependency.
    for (name, (_, dependencies)) in &nodes {
        if name.contains(":barrier:") {
            continue;
        }
        assert!(
            !dependencies
                .iter()
                .any(|dependency| dependency.contains(":check:")),
            "{name} lists a check: {dependencies:?}"
        );
    }
    // A container waits for Docker through its host's other barrier.
    assert_eq!(
        nodes["agent1:barrier:docker-ready"].1,
        ["agent1:health:docker-ready"]
    );
    assert!(
        nodes["agent1:container:mesos-agent"]
            .1
            .contains(&"agent1:barrier:docker-ready".to_string())
    );
}

#[test]
fn a_changed_check_changes_the_ids_of_everything_behind_the_barrier() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.compile().success();
    let before = sandbox.nodes();

    sandbox.edit("cluster.toml", |text| {
        text.replace("\"/\" = \"2GiB\"", "\"/\" = \"3GiB\"")
    });
    sandbox.compile().success();
    let after = sandbox.nodes();

    let changed = changed_ids(&before, &after);
    assert_eq!(
        changed,
        with_dependants(&before, &["node1:check:disk-free:/"])
    );
    for name in [
        "node1:barrier:checks",
        "node1:file:/etc/cairn/haproxy/haproxy.cfg",
        "node1:container:zookeeper",
        "node1:health:zookeeper-quorum",
    ] {
        assert!(changed.contains(name), "{name}: {changed:?}");
    }
    assert!(
        !changed.contains("node1:check:os-release"),
        "the other checks are as they were"
    );
}

/// A check of its own for the app cluster: it fails on a host whose root holds
/// `/close-the-gate`.
const GATE_MODULE: &str = r#"[module]
name = "gate"
description = "a check that fails where a file says so"
roles = ["app"]

[[node]]
kind = "check"
name = "gate"
probe = "command"
run = "test ! -e \"$CAIRN_ROOT/close-the-gate\""
"#;

#[test]
fn a_failed_check_holds_back_everything_behind_the_barrier_on_its_host_only() {
    let cluster = AppCluster::local(&["alpha", "beta"]);
    cluster
        .sandbox
        .write("modules/gate/module.toml", GATE_MODULE);
    cluster.compile();
    std::fs::create_dir_all(cluster.root("beta")).unwrap();
    std::fs::write(cluster.host_file("beta", "/close-the-gate"), "").unwrap();

    let plan = cluster.plan();
    let barrier = plan["hosts"]["beta"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["name"] == "beta:barrier:checks")
        .expect("the barrier is planned");
    assert_eq!(barrier["action"], "wait", "it runs nothing: {barrier}");

    let (outcome, report) = cluster.apply();
    outcome.code(1).stderr_has("beta:check:gate");
    assert_eq!(
        report["hosts"]["beta"]["failed"][0]["name"],
        "beta:check:gate"
    );
    let mut not_run = names(&report, "beta", "not_run");
    not_run.sort();
    assert_eq!(
        not_run,
        [
            "command:marker",
            "file:/etc/app/app.conf",
            "file:/etc/app/shared.txt",
            "health:marker-present",
        ],
        "every node of beta but its checks, and the barrier is not counted"
    );
    for node in report["hosts"]["beta"]["not_run"].as_array().unwrap() {
        assert!(
            node["reason"]
                .as_str()
                .unwrap()
                .contains("beta:check:gate did not succeed"),
            "the reason names the check, not the barrier: {node}"
        );
    }
    assert!(!cluster.host_file("beta", "/etc/app/app.conf").exists());
    assert_eq!(report["hosts"]["alpha"]["succeeded"], true);
    assert!(cluster.host_file("alpha", "/etc/app/app.conf").exists());
    for host in ["alpha", "beta"] {
        for field in ["ran", "skipped"] {
            assert!(
                !names(&report, host, field)
                    .iter()
                    .any(|name| name.starts_with("barrier:")),
                "{host} {field}: a barrier is no action"
            );
        }
    }

    std::fs::remove_file(cluster.host_file("beta", "/close-the-gate")).unwrap();
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(
        ran_besides_checks(&report, "beta"),
        [
            "file:/etc/app/app.conf",
            "file:/etc/app/shared.txt",
            "command:marker",
            "health:marker-present",
        ]
    );
    assert_eq!(ran_besides_checks(&report, "alpha"), Vec::<String>::new());
}

/// A check that reads a file another node of the module writes: that node must not wait
/// for the checks.
const CHECK_NEEDS_A_FILE: &str = r#"[module]
name = "probe-config"
description = "a check of a file the module writes first"
roles = ["master"]

[[node]]
kind = "file"
path = "/etc/probe-config/limits"
content = "42\n"
after_checks = false

[[node]]
kind = "check"
name = "limits-readable"
probe = "command"
run = "test -r \"$CAIRN_ROOT/etc/probe-config/limits\""
deps = ["file:/etc/probe-config/limits"]
"#;

fn sandbox_with_module(name: &str, manifest: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .write(&format!("modules/{name}/module.toml"), manifest)
        .write(
            "cluster.toml",
            &MINIMAL_SPEC.replace(
                "domain = \"test.example\"\n",
                "domain = \"test.example\"\nmodules = [\"modules\"]\n",
            ),
        );
    sandbox
}

#[test]
fn after_checks_false_leaves_a_node_that_a_check_needs_out_of_the_barrier() {
    let sandbox = sandbox_with_module("probe-config", CHECK_NEEDS_A_FILE);
    sandbox.compile().success();
    let nodes = sandbox.nodes();
    assert!(
        nodes["node1:file:/etc/probe-config/limits"].1.is_empty(),
        "it waits for no check"
    );
    assert!(
        nodes["node1:barrier:checks"]
            .1
            .contains(&"node1:check:limits-readable".to_string())
    );

    // Without it, the file would wait for the check that waits for the file.
    sandbox.edit("modules/probe-config/module.toml", |text| {
        text.replace("after_checks = false\n", "")
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("dependency cycle")
        .stderr_has("node1:barrier:checks")
        .stderr_has("say `after_checks = false`");
}

const WAITS_FOR_DOCKER: &str = r#"[module]
name = "waits"
description = "a file that waits for a barrier"
roles = ["master"]

[[node]]
kind = "file"
path = "/etc/waits"
content = "x\n"
after = ["docker-ready"]
"#;

/// Each mistake in a declaration's barriers, and where the error points: the manifest's
/// line and column of the value at fault.
#[test]
fn a_barrier_mistake_in_a_manifest_names_its_file_line_and_column() {
    let cases: [(&str, &str, &str, &str); 6] = [
        (
            "after = [\"docker-ready\"]",
            "after = [\"docker-redy\"]",
            "modules/waits/module.toml:10:10",
            "unknown barrier `docker-redy`; the barriers are checks, docker-ready",
        ),
        (
            "after = [\"docker-ready\"]",
            "after = [\"checks\"]",
            "modules/waits/module.toml:10:10",
            "every node waits for the host's checks already",
        ),
        (
            "after = [\"docker-ready\"]",
            "member_of = \"docker-ready\"\nafter = [\"docker-ready\"]",
            "modules/waits/module.toml:10:13",
            "a node cannot wait for the barrier `docker-ready` it is a member of",
        ),
        (
            "kind = \"file\"",
            "kind = \"barrier\"",
            "modules/waits/module.toml:7:8",
            "a barrier is made by the compiler, not declared",
        ),
        (
            "after = [\"docker-ready\"]",
            "deps = [\"barrier:checks\"]",
            "modules/waits/module.toml:10:9",
            "`barrier:checks`: a barrier is not a dependency",
        ),
        (
            "after = [\"docker-ready\"]",
            "after_checks = \"no\"",
            "modules/waits/module.toml:10:16",
            "`after_checks` in [[node]] #1 must be a boolean",
        ),
    ];
    for (original, broken, place, message) in cases {
        let sandbox = sandbox_with_module("waits", &WAITS_FOR_DOCKER.replace(original, broken));
        sandbox
            .compile()
            .code(2)
            .stderr_has(place)
            .stderr_has(message);
    }
    let check = sandbox_with_module(
        "waits",
        "[module]\nname = \"waits\"\ndescription = \"x\"\nroles = [\"master\"]\n\n\
         [[node]]\nkind = \"check\"\nname = \"mine\"\nprobe = \"command\"\nrun = \"true\"\nafter_checks = true\n",
    );
    check
        .compile()
        .code(2)
        .stderr_has("modules/waits/module.toml:11:16")
        .stderr_has("a check cannot wait for the host's checks");
}
