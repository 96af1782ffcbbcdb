//! `--limit` and `--skip-kind`: an apply of part of a lockfile. What is outside the
//! selection is held back, neither run nor recorded, so the next full apply runs it; hosts
//! outside `--limit` are not reached at all.

use crate::support::app_cluster::{AppCluster, names, ran_besides_checks};
use crate::support::app_cluster_checks::{MARKER_AND_ITS_HEALTH, assert_apply_runs};
use crate::support::cairn;

#[test]
fn a_skipped_kind_and_what_needs_it_are_held_back_and_the_next_full_apply_runs_them() {
    let cluster = AppCluster::local(&["alpha"]);
    cluster.compile();
    let (outcome, report) = cluster.apply_with(&["--skip-kind", "command"]);
    outcome.success();
    assert_eq!(
        ran_besides_checks(&report, "alpha"),
        ["file:/etc/app/app.conf", "file:/etc/app/shared.txt"]
    );
    assert_eq!(names(&report, "alpha", "held_back"), MARKER_AND_ITS_HEALTH);
    assert!(!cluster.host_file("alpha", "/var/app/runs").exists());

    assert_apply_runs(&cluster, &[], "alpha", &MARKER_AND_ITS_HEALTH);
}

#[test]
fn hosts_outside_the_limit_are_not_reached_and_are_applied_later() {
    let cluster = AppCluster::local(&["alpha", "beta", "gamma"]);
    cluster.compile();
    // beta cannot be reached: its root is a file, where cairn's state folder cannot be.
    std::fs::create_dir_all(cluster.root("beta").parent().unwrap()).unwrap();
    std::fs::write(cluster.root("beta"), "not a folder\n").unwrap();

    let (outcome, report) = cluster.apply_with(&["--limit", "alpha,gam*"]);
    outcome.success();
    for host in ["alpha", "gamma"] {
        assert_eq!(ran_besides_checks(&report, host).len(), 4, "{report}");
    }
    assert!(names(&report, "beta", "ran").is_empty());
    assert_eq!(names(&report, "beta", "held_back").len(), 8, "{report}");
    let plan = cairn()
        .current_dir(cluster.sandbox.path())
        .args(["plan", "cluster.lock", "--limit", "alpha,gam*"])
        .run()
        .success();
    assert!(
        plan.stdout.contains("beta: outside --limit, not reached"),
        "{}",
        plan.stdout
    );

    // Without the limit, beta is reached, and fails alone.
    let (outcome, report) = cluster.apply();
    outcome.code(1);
    assert!(report["hosts"]["beta"]["problem"].is_string(), "{report}");
    assert!(ran_besides_checks(&report, "alpha").is_empty());

    std::fs::remove_file(cluster.root("beta")).unwrap();
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(ran_besides_checks(&report, "beta").len(), 4);
}

#[test]
fn a_limit_that_matches_no_host_is_refused() {
    let cluster = AppCluster::local(&["alpha"]);
    cluster.compile();
    let (outcome, _) = cluster.apply_with(&["--limit", "alhpa"]);
    outcome
        .code(2)
        .stderr_has("--limit `alhpa` matches no host of the lockfile; its hosts are alpha");
}

#[test]
fn an_unknown_kind_to_skip_is_refused_with_the_kinds_there_are() {
    let cluster = AppCluster::local(&["alpha"]);
    cluster.compile();
    let (outcome, _) = cluster.apply_with(&["--skip-kind", "images"]);
    outcome.code(2).stderr_has("unknown node kind `images`");
}
