//! Hosts reached only through bastions (`ProxyJump` in the SSH configuration), as most
//! datacenters reach their machines: real sshd servers in network namespaces, the host's
//! namespace linked to its bastion's alone, so that this process cannot reach it and the
//! bastion can.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::support::app_cluster::{AppCluster, names, ran_besides_checks};
use crate::support::cairn;
use crate::support::network_namespaces::{HiddenHost, PrivateNetwork};
use crate::support::ssh_fixture::{ServerPlace, SshFixture};

const PORT: u16 = 2222;

/// The `Host` block of one server of the fixture.
fn host_block(alias: &str, address: &str, fixture: &SshFixture, extra: &str) -> String {
    format!(
        "Host {alias}\n    HostName {address}\n    Port {PORT}\n    User root\n    IdentityFile {}\n{extra}",
        fixture.identity().display()
    )
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
    let network = PrivateNetwork::create("jpa", 1);
    let bastion = &network.hosts[0];
    let hidden = HiddenHost::behind(&bastion.namespace, "jpa", 0);
    let fixture = SshFixture::start_at(&[
        ServerPlace::in_namespace(&bastion.address, PORT, &bastion.namespace),
        ServerPlace::in_namespace(&hidden.address, PORT, &hidden.namespace),
    ]);
    assert!(unreachable_from_here(&hidden.address));
    let config = format!(
        "{}{}",
        host_block("bastion", &bastion.address, &fixture, ""),
        host_block(
            "app-*",
            &hidden.address,
            &fixture,
            "    ProxyJump bastion\n"
        ),
    );
    let cluster = AppCluster::through_ssh_config(&fixture, &[("host1", "app-one")], &config);
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
    let network = PrivateNetwork::create("jpc", 1);
    let bastion = &network.hosts[0];
    let hidden = HiddenHost::behind(&bastion.namespace, "jpc", 0);
    let fixture = SshFixture::start_at(&[
        ServerPlace::in_namespace(&bastion.address, PORT, &bastion.namespace),
        ServerPlace::in_namespace(&hidden.address, PORT, &hidden.namespace),
    ]);
    let config = format!(
        "{}{}",
        host_block("bastion", &bastion.address, &fixture, ""),
        host_block(
            "app-*",
            &hidden.address,
            &fixture,
            "    ProxyJump bastion\n"
        ),
    );
    let cluster = AppCluster::through_ssh_config(&fixture, &[("host1", "app-one")], &config);
    cluster.sandbox.edit("modules/app/module.toml", |text| {
        format!(
            "{text}\n[[node]]\nkind = \"command\"\nname = \"slow\"\n\
             run = \"touch \\\"$CAIRN_ROOT/started\\\"; sleep 150\"\n"
        )
    });
    cluster.compile();
    let apply = std::process::Command::new("timeout")
        .arg("120")
        .arg(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(cluster.sandbox.path())
        .args(["apply", "cluster.lock", "--persist", "0"])
        .args(&cluster.connection)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started_at = Instant::now();
    let marker = cluster.host_file("host1", "/started");
    while !marker.exists() {
        assert!(
            started_at.elapsed() < Duration::from_secs(60),
            "the slow command never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let cut_at = Instant::now();
    hidden.cut();
    let output = apply.wait_with_output().unwrap();
    let waited = cut_at.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the apply fails (124 would be the timeout): {stderr}"
    );
    assert!(
        waited < Duration::from_secs(60),
        "it failed after {waited:?}"
    );
    assert!(stderr.contains("host1:command:slow"), "{stderr}");
}

#[test]
fn forty_hosts_behind_one_bastion_with_sshds_default_max_startups_all_converge() {
    let network = PrivateNetwork::create("jpd", 1);
    let bastion = &network.hosts[0];
    let hidden = HiddenHost::behind(&bastion.namespace, "jpd", 0);
    let mut bastion_place = ServerPlace::in_namespace(&bastion.address, PORT, &bastion.namespace);
    // sshd's own default: past 10 connections being started, it drops some.
    bastion_place.max_startups = Some("10:30:100".to_string());
    let fixture = SshFixture::start_at(&[
        bastion_place,
        ServerPlace::in_namespace(&hidden.address, PORT, &hidden.namespace),
    ]);
    let config = format!(
        "{}{}",
        host_block("bastion", &bastion.address, &fixture, ""),
        host_block(
            "app-*",
            &hidden.address,
            &fixture,
            "    ProxyJump bastion\n"
        ),
    );
    let hosts: Vec<(String, String)> = (1..=40)
        .map(|index| (format!("host{index}"), format!("app-{index:02}")))
        .collect();
    let host_refs: Vec<(&str, &str)> = hosts
        .iter()
        .map(|(name, alias)| (name.as_str(), alias.as_str()))
        .collect();
    let cluster = AppCluster::through_ssh_config(&fixture, &host_refs, &config);
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
