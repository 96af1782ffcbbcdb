//! Hosts reached only through bastions (`ProxyJump` in the SSH configuration), as most
//! datacenters reach their machines: real sshd servers in network namespaces, the host's
//! namespace linked to its bastion's alone, so that this process cannot reach it and the
//! bastion can.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::support::app_cluster::{AppCluster, names, ran_besides_checks};
use crate::support::cairn;
use crate::support::mid_command_cut::{
    ALIVE_EVERY_SECOND, add_slow_command, apply_failing_after_a_cut,
};
use crate::support::network_namespaces::{HiddenHost, NetworkHost, PrivateNetwork};
use crate::support::ssh_fixture::{ServerPlace, SshFixture};

const PORT: u16 = 2222;

/// The `Host` block of one server of the fixture.
fn host_block(alias: &str, address: &str, fixture: &SshFixture, extra: &str) -> String {
    format!(
        "Host {alias}\n    HostName {address}\n    Port {PORT}\n    User root\n    IdentityFile {}\n{extra}",
        fixture.identity().display()
    )
}

/// A bastion on a private network and a host behind it that the bastion alone reaches,
/// each running an sshd of the fixture (which goes before the namespaces it runs in).
struct BehindABastion {
    fixture: SshFixture,
    hidden: HiddenHost,
    network: PrivateNetwork,
}

impl BehindABastion {
    /// `tag` keeps the namespaces apart; `max_startups` is the bastion sshd's, if not ours.
    fn start(tag: &str, max_startups: Option<&str>) -> Self {
        let network = PrivateNetwork::create(tag, 1);
        let bastion = &network.hosts[0];
        let hidden = HiddenHost::behind(&bastion.namespace, tag, 0);
        let mut bastion_place =
            ServerPlace::in_namespace(&bastion.address, PORT, &bastion.namespace);
        bastion_place.max_startups = max_startups.map(str::to_string);
        let fixture = SshFixture::start_at(&[
            bastion_place,
            ServerPlace::in_namespace(&hidden.address, PORT, &hidden.namespace),
        ]);
        Self {
            fixture,
            hidden,
            network,
        }
    }

    fn bastion(&self) -> &NetworkHost {
        &self.network.hosts[0]
    }

    /// A cluster of `hosts` (name, alias) whose SSH configuration reaches every `app-*`
    /// alias at the hidden host through the alias `bastion`.
    fn cluster(&self, hosts: &[(&str, &str)]) -> AppCluster {
        let config = format!(
            "{}{}",
            host_block("bastion", &self.bastion().address, &self.fixture, ""),
            host_block(
                "app-*",
                &self.hidden.address,
                &self.fixture,
                "    ProxyJump bastion\n"
            ),
        );
        AppCluster::through_ssh_config(&self.fixture, hosts, &config)
    }
}

/// Whether this process gets no SSH greeting from `address` (a connection may still
/// succeed: some networks' gateways accept any connection and say nothing).
fn unreachable_from_here(address: &str) -> bool {
    let target: SocketAddr = format!("{address}:{PORT}").parse().unwrap();
    let Ok(mut connection) = TcpStream::connect_timeout(&target, Duration::from_millis(500)) else {
        return true;
    };
    let _ = connection.set_read_timeout(Some(Duration::from_millis(1500)));
    let mut greeting = [0u8; 4];
    std::io::Read::read_exact(&mut connection, &mut greeting).is_err() || &greeting != b"SSH-"
}

#[test]
fn a_host_only_a_bastion_reaches_is_applied_through_it_with_both_host_keys_checked() {
    let place = BehindABastion::start("jpa", None);
    let (fixture, bastion, hidden) = (&place.fixture, place.bastion(), &place.hidden);
    assert!(unreachable_from_here(&hidden.address));
    let cluster = place.cluster(&[("host1", "app-one")]);
    cluster.compile();
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(ran_besides_checks(&report, "host1").len(), 4);
    assert!(cluster.host_file("host1", "/etc/app/app.conf").exists());
    // Again, through the connections the keeper kept: nothing to do.
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(ran_besides_checks(&report, "host1"), Vec::<String>::new());

    // The bastion's key is checked as a host's is: unknown, it is refused, named.
    let known_hosts = std::fs::read_to_string(fixture.known_hosts()).unwrap();
    let target_only: String = known_hosts
        .lines()
        .filter(|line| line.contains(&hidden.address))
        .map(|line| format!("{line}\n"))
        .collect();
    cluster
        .sandbox
        .write("target_only_known_hosts", &target_only);
    cairn()
        .current_dir(cluster.sandbox.path())
        .args(["plan", "cluster.lock", "--persist", "0", "--ssh-config", "ssh_config"])
        .args(["--known-hosts", "target_only_known_hosts"])
        .run()
        .code(2)
        .stderr_has(&format!(
            "ssh://root@{}:{PORT} (jump host on the way to ssh://root@{}:{PORT}): the host key is not in",
            bastion.address, hidden.address
        ))
        .stderr_has(&format!("ssh-keyscan -p {PORT} {}", bastion.address));
}

#[test]
fn a_chain_of_two_bastions_reaches_a_host_two_networks_away() {
    let network = PrivateNetwork::create("jpb", 1);
    let outer = &network.hosts[0];
    let inner = HiddenHost::behind(&outer.namespace, "jpb", 0);
    let hidden = HiddenHost::behind(&inner.namespace, "jpb", 1);
    let fixture = SshFixture::start_at(&[
        ServerPlace::in_namespace(&outer.address, PORT, &outer.namespace),
        ServerPlace::in_namespace(&inner.address, PORT, &inner.namespace),
        ServerPlace::in_namespace(&hidden.address, PORT, &hidden.namespace),
    ]);
    assert!(unreachable_from_here(&inner.address));
    assert!(unreachable_from_here(&hidden.address));
    // The chain as `ssh -J outer,inner` would take it; `inner`'s own ProxyJump is the
    // list's to decide, so the wrong one it names is not followed.
    let config = format!(
        "{}{}{}",
        host_block("outer", &outer.address, &fixture, ""),
        host_block("inner", &inner.address, &fixture, "    ProxyJump nowhere\n"),
        host_block(
            "app-*",
            &hidden.address,
            &fixture,
            "    ProxyJump outer,inner\n"
        ),
    );
    let cluster = AppCluster::through_ssh_config(&fixture, &[("host1", "app-one")], &config);
    cluster.compile();
    let (outcome, report) = cluster.apply_with(&["--persist", "0"]);
    outcome.success();
    assert_eq!(ran_besides_checks(&report, "host1").len(), 4);
    assert_eq!(
        std::fs::read_to_string(cluster.host_file("host1", "/etc/app/app.conf")).unwrap(),
        "greeting = hello from host1\ntoken = the-token-value\n"
    );
}

#[test]
fn a_host_behind_a_bastion_whose_network_vanishes_mid_command_fails_instead_of_hanging() {
    let place = BehindABastion::start("jpc", None);
    let cluster = place.cluster(&[("host1", "app-one")]);
    add_slow_command(&cluster, 150);
    cluster.sandbox.edit("ssh_config", |config| {
        format!("{ALIVE_EVERY_SECOND}{config}")
    });
    cluster.compile();
    let stderr = apply_failing_after_a_cut(
        &cluster,
        &["--persist", "0"],
        120,
        Duration::from_secs(15),
        || place.hidden.cut(),
    );
    assert!(stderr.contains("host1:command:slow"), "{stderr}");
}

#[test]
fn forty_hosts_behind_one_bastion_with_sshds_default_max_startups_all_converge() {
    // sshd's own default: past 10 connections being started, it drops some.
    let place = BehindABastion::start("jpd", Some("10:30:100"));
    let hosts: Vec<(String, String)> = (1..=40)
        .map(|index| (format!("host{index}"), format!("app-{index:02}")))
        .collect();
    let host_refs: Vec<(&str, &str)> = hosts
        .iter()
        .map(|(name, alias)| (name.as_str(), alias.as_str()))
        .collect();
    let cluster = place.cluster(&host_refs);
    cluster.compile();
    let (outcome, report) = cluster.apply_with(&["--persist", "0", "--jobs", "40"]);
    outcome.success();
    for (name, _) in &hosts {
        assert_eq!(
            names(&report, name, "failed"),
            Vec::<String>::new(),
            "{name}"
        );
        assert_eq!(ran_besides_checks(&report, name).len(), 4, "{name}");
    }
}
