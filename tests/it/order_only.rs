//! Order-only dependencies (`{ node = "kind:key", order_only = true }`): apply waits for
//! the node named, as for a dependency, but it is not part of the dependant's id (the
//! lockfile's `ordered_after`), so its changes replace nothing that only waited for it:
//! keepalived after HAProxy's health.

use crate::support::app_cluster::{AppCluster, names, ran_besides_checks};
use crate::support::{Sandbox, cairn, changed_ids, node_named};

/// `second` waits for `first` (which takes a second, then leaves a file; it fails where the
/// host's root holds `/stop-first`) without depending on it: it fails unless `first`
/// finished before it started.
const ORDER_MODULE: &str = r#"[module]
name = "order"
description = "a command that waits for another without depending on it"
roles = ["app"]

[settings.order.first_says]
type = "string"
default = "one"
doc = "What the first command writes."

[[node]]
kind = "command"
name = "first"
run = "test ! -e \"$CAIRN_ROOT/stop-first\" && sleep 1 && mkdir -p \"$CAIRN_ROOT/var/order\" && echo {{ order.first_says | sh_quote }} > \"$CAIRN_ROOT/var/order/first\""

[[node]]
kind = "command"
name = "second"
run = "test -e \"$CAIRN_ROOT/var/order/first\" && date +%s%N >> \"$CAIRN_ROOT/var/order/second\""
deps = [{ node = "command:first", order_only = true }]
"#;

fn cluster_with_order_module() -> AppCluster {
    let cluster = AppCluster::local(&["alpha"]);
    cluster
        .sandbox
        .write("modules/order/module.toml", ORDER_MODULE);
    cluster.compile();
    cluster
}

/// What the plan does with a node of `alpha`: its action and reason.
fn planned(plan: &serde_json::Value, node: &str) -> (String, Option<String>) {
    let planned = plan["hosts"]["alpha"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|planned| planned["name"] == node)
        .unwrap_or_else(|| panic!("{node} is planned: {plan}"));
    (
        planned["action"].as_str().unwrap().to_string(),
        planned["reason"].as_str().map(str::to_string),
    )
}

#[test]
fn a_node_ordered_after_another_runs_after_it_and_its_changes_leave_the_id_alone() {
    let cluster = cluster_with_order_module();
    let sandbox = &cluster.sandbox;
    let shown = sandbox.show_json();
    let second = node_named(&shown, "alpha:command:second");
    assert_eq!(
        second["ordered_after"],
        serde_json::json!(["alpha:command:first"])
    );
    assert!(
        !second["deps"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("alpha:command:first")),
        "{second}"
    );
    assert!(
        sandbox
            .read("cluster.lock")
            .contains("ordered_after = [\n    \"alpha:command:first\",\n]\n")
    );
    let shown_text = sandbox
        .cairn(&["show", "cluster.lock", "alpha:command:second"])
        .success();
    assert!(
        shown_text
            .stdout
            .contains("ordered after (not in the id):\n  alpha:command:first\n"),
        "{}",
        shown_text.stdout
    );

    // A first install: both run, `second` once `first` has finished (else it fails).
    let plan = cluster.plan();
    assert_eq!(planned(&plan, "alpha:command:first").0, "run");
    assert_eq!(planned(&plan, "alpha:command:second").0, "run");
    let (outcome, report) = cluster.apply();
    outcome.success();
    let ran = ran_besides_checks(&report, "alpha");
    assert!(ran.contains(&"command:second".to_string()), "{ran:?}");
    assert!(cluster.host_file("alpha", "/var/order/second").exists());

    // `first` changes: its id does, `second`'s does not, and nothing else's.
    let before = sandbox.nodes();
    std::fs::copy(
        sandbox.path().join("cluster.lock"),
        sandbox.path().join("old.lock"),
    )
    .unwrap();
    sandbox.edit("cluster.toml", |text| {
        format!("{text}\n[order]\nfirst_says = \"two\"\n")
    });
    cluster.compile();
    let after = sandbox.nodes();
    assert_eq!(
        changed_ids(&before, &after),
        ["alpha:command:first".to_string()].into()
    );

    // `cairn diff` names the change and nothing replaced behind it.
    let diff = cairn()
        .current_dir(sandbox.path())
        .args(["diff", "old.lock", "cluster.lock"])
        .run()
        .code(1);
    assert!(diff.stdout.contains("command:first"), "{}", diff.stdout);
    assert!(!diff.stdout.contains("command:second"), "{}", diff.stdout);

    // Apply runs `first` again, and does not follow it into `second`.
    let plan = cluster.plan();
    assert_eq!(planned(&plan, "alpha:command:first").0, "run");
    assert_eq!(
        planned(&plan, "alpha:command:second"),
        ("skip".to_string(), None)
    );
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(ran_besides_checks(&report, "alpha"), ["command:first"]);
    assert!(names(&report, "alpha", "skipped").contains(&"command:second".to_string()));

    // The wait itself is in no id: dropping it changes none, and `cairn diff` says so.
    std::fs::copy(
        sandbox.path().join("cluster.lock"),
        sandbox.path().join("old.lock"),
    )
    .unwrap();
    let before = sandbox.nodes();
    sandbox.replace(
        "modules/order/module.toml",
        "deps = [{ node = \"command:first\", order_only = true }]\n",
        "",
    );
    cluster.compile();
    assert!(changed_ids(&before, &sandbox.nodes()).is_empty());
    let diff = cairn()
        .current_dir(sandbox.path())
        .args(["diff", "old.lock", "cluster.lock"])
        .run()
        .code(1);
    assert!(
        diff.stdout.contains(
            "order-only waits changed (in no id: they replace nothing)\n  alpha:command:second:\n    - waits for alpha:command:first\n"
        ),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("0 nodes changed"), "{}", diff.stdout);
}

/// Waited for as a dependency is: where what a node is ordered after fails, the node is not
/// run, its reason naming it, and the other host goes on.
#[test]
fn a_node_is_not_run_where_what_it_is_ordered_after_failed() {
    let cluster = AppCluster::local(&["alpha", "beta"]);
    cluster
        .sandbox
        .write("modules/order/module.toml", ORDER_MODULE);
    cluster.compile();
    std::fs::create_dir_all(cluster.root("beta")).unwrap();
    std::fs::write(cluster.host_file("beta", "/stop-first"), "").unwrap();
    let (outcome, report) = cluster.apply();
    outcome.code(1);
    assert_eq!(names(&report, "beta", "failed"), ["command:first"]);
    assert!(names(&report, "beta", "not_run").contains(&"command:second".to_string()));
    assert!(
        report["hosts"]["beta"]["not_run"]
            .to_string()
            .contains("beta:command:first"),
        "{report}"
    );
    assert!(ran_besides_checks(&report, "alpha").contains(&"command:second".to_string()));
}

fn sandbox_with_order_module(manifest: &str) -> Sandbox {
    let cluster = AppCluster::local(&["alpha"]);
    cluster.sandbox.write("modules/order/module.toml", manifest);
    cluster.sandbox
}

/// A mistake in an order-only dependency, and where the error points.
#[test]
fn an_order_only_mistake_names_its_manifest_line_and_column() {
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "{ node = \"command:first\", order_only = true }",
            "{ node = \"command:first\", order_onl = true }",
            &[
                "modules/order/module.toml:20:35",
                "unknown key `order_onl`",
                "order_only",
            ],
        ),
        (
            "{ node = \"command:first\", order_only = true }",
            "{ node = \"command:first\", order_only = \"yes\" }",
            &["modules/order/module.toml:20:48", "must be a boolean"],
        ),
        (
            "deps = [{ node = \"command:first\", order_only = true }]",
            "deps = [\"command:*\", { node = \"command:first\", order_only = true }]",
            &[
                "modules/order/module.toml:20:22",
                "`alpha:command:second` depends on `alpha:command:first` and waits for it order-only too",
                "the dependency is declared at modules/order/module.toml:20:9",
            ],
        ),
        (
            "kind = \"command\"\nname = \"first\"\n",
            "kind = \"command\"\nname = \"first\"\ndeps = [{ node = \"command:second\", order_only = true }]\n",
            &[
                "dependency cycle: alpha:command:first -> alpha:command:second -> alpha:command:first",
                "`alpha:command:first` waits (order only) for `alpha:command:second` (modules/order/module.toml:14:9)",
            ],
        ),
    ];
    for (original, broken, expected) in cases {
        assert!(ORDER_MODULE.contains(original), "{original}");
        let sandbox = sandbox_with_order_module(&ORDER_MODULE.replace(original, broken));
        let mut outcome = sandbox.compile().code(2);
        for text in expected {
            outcome = outcome.stderr_has(text);
        }
    }
}

/// The case order-only dependencies were made for: keepalived starts after HAProxy answers
/// (on every load balancer),
/// but a HAProxy change (its connection limit, so haproxy.cfg) replaces HAProxy alone, not
/// keepalived too in a rollout of its own.
#[test]
fn a_haproxy_change_replaces_haproxy_and_leaves_keepalived_alone() {
    let sandbox = Sandbox::with_example("dcos-ha");
    sandbox.compile().success();
    let before = sandbox.nodes();
    let shown = sandbox.show_json();
    for host in ["lb1", "lb2"] {
        // Every load balancer's HAProxy: keepalived's rollout waits for HAProxy's whole.
        let keepalived = node_named(&shown, &format!("{host}:container:keepalived"));
        assert_eq!(
            keepalived["ordered_after"],
            serde_json::json!(["lb1:health:haproxy-http", "lb2:health:haproxy-http"])
        );
    }
    std::fs::copy(
        sandbox.path().join("cluster.lock"),
        sandbox.path().join("old.lock"),
    )
    .unwrap();
    sandbox.replace(
        "cluster.toml",
        "services = [\"marathon:8080\", \"console:8000\"]",
        "services = [\"marathon:8080\", \"console:8000\"]\nmax_connections = 30000",
    );
    sandbox.compile().success();
    let changed = changed_ids(&before, &sandbox.nodes());
    for host in ["lb1", "lb2"] {
        assert!(
            changed.contains(&format!("{host}:container:haproxy")),
            "{changed:?}"
        );
        assert!(
            !changed.contains(&format!("{host}:container:keepalived")),
            "{changed:?}"
        );
    }
    let diff = cairn()
        .current_dir(sandbox.path())
        .args(["diff", "old.lock", "cluster.lock"])
        .run()
        .code(1);
    assert!(
        diff.stdout.contains("lb1: replaces container haproxy"),
        "{}",
        diff.stdout
    );
    assert!(
        !diff.stdout.contains("replaces container keepalived"),
        "{}",
        diff.stdout
    );
}
