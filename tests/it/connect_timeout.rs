//! A host that drops every packet fails after the connect timeout, named, while the others
//! converge: `--connect-timeout`, else the SSH configuration's `ConnectTimeout`, else 10 s.

use std::time::{Duration, Instant};

use crate::support::app_cluster::{AppCluster, TestHost};
use crate::support::silent_network::SilentNetwork;
use crate::support::ssh_fixture::SshFixture;

/// One host on the fixture's sshd and `host2` on a silent address.
fn cluster_with_a_silent_host(fixture: &SshFixture, silent: &SilentNetwork) -> AppCluster {
    let mut cluster = AppCluster::over_ssh(fixture, &[]);
    cluster.hosts.push(TestHost {
        name: "host2".to_string(),
        transport: "ssh",
        address: silent.address(0),
        port: Some(22),
    });
    cluster.write_spec();
    cluster
}

#[test]
fn a_silent_host_fails_after_the_connect_timeout_naming_it_while_the_others_converge() {
    let silent = SilentNetwork::create("ctm");
    let fixture = SshFixture::start(&["127.0.32.2"]);
    let cluster = cluster_with_a_silent_host(&fixture, &silent);
    cluster.compile();
    let started = Instant::now();
    let (outcome, report) = cluster.apply_with(&["--connect-timeout", "1.5", "--persist", "0"]);
    let took = started.elapsed();
    outcome.code(1).stderr_has(&format!(
        "cannot connect to ssh://root@{}:22: no answer within 1.5 s (--connect-timeout, or ConnectTimeout in the SSH configuration)",
        silent.address(0)
    ));
    assert_eq!(report["hosts"]["host1"]["succeeded"], true);
    assert_eq!(report["hosts"]["host2"]["succeeded"], false);
    assert!(took < Duration::from_secs(9), "the apply took {took:?}");

    // Without the option, the configuration's ConnectTimeout.
    cluster
        .sandbox
        .write("ssh_config", "Host 10.251.*\n    ConnectTimeout 1\n");
    let (outcome, _) = cluster.apply_with(&["--persist", "0", "--ssh-config", "ssh_config"]);
    outcome.code(1).stderr_has("no answer within 1 s");
}
