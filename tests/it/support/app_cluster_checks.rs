//! What the tests of [`AppCluster`] check after an apply: which of the app module's nodes
//! a host ran, and the configuration a converged host holds.

use crate::support::app_cluster::{AppCluster, ran_besides_checks};

/// The app module's nodes besides its checks, in the order a first apply runs them.
pub const EVERY_APP_NODE: [&str; 4] = [
    "file:/etc/app/app.conf",
    "file:/etc/app/shared.txt",
    "command:marker",
    "health:marker-present",
];

/// The nodes a change of `/etc/app/app.conf` runs again: the file and its dependants.
pub const APP_CONF_AND_DEPENDANTS: [&str; 3] = [
    "file:/etc/app/app.conf",
    "command:marker",
    "health:marker-present",
];

/// The command and the health check that follows it.
pub const MARKER_AND_ITS_HEALTH: [&str; 2] = ["command:marker", "health:marker-present"];

/// The app cluster on sandbox hosts of this machine, `hosts`, compiled and applied once.
pub fn applied_locally(hosts: &[&str]) -> AppCluster {
    let cluster = AppCluster::local(hosts);
    cluster.compile();
    cluster.apply().0.success();
    cluster
}

/// A first apply ran every node of the app module on `host`, which holds its own
/// configuration.
pub fn assert_converged(cluster: &AppCluster, report: &serde_json::Value, host: &str) {
    assert_eq!(ran_besides_checks(report, host), EVERY_APP_NODE, "{host}");
    let conf = std::fs::read_to_string(cluster.host_file(host, "/etc/app/app.conf")).unwrap();
    assert_eq!(
        conf,
        format!("greeting = hello from {host}\ntoken = the-token-value\n"),
        "{host}"
    );
}

/// Applies `cluster` with `arguments`: it succeeds, `host` running exactly `expected`
/// besides the checks. Returns the report.
pub fn assert_apply_runs(
    cluster: &AppCluster,
    arguments: &[&str],
    host: &str,
    expected: &[&str],
) -> serde_json::Value {
    let (outcome, report) = cluster.apply_with(arguments);
    outcome.success();
    assert_eq!(ran_besides_checks(&report, host), expected, "{host}");
    report
}
