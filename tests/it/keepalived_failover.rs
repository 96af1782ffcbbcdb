//! The virtual IP follows HAProxy: Debian's keepalived and HAProxy run each load
//! balancer's rendered configs in a network namespace per load balancer. The one with the
//! lowest id holds the VIP; when its HAProxy stops answering, the track script fails and
//! the other takes the VIP; when it answers again, the VIP comes back (it has the higher
//! priority).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::support::namespace_container::{NamespaceContainer, run_in, wait_for};
use crate::support::network_namespaces::{NetworkHost, PrivateNetwork};
use crate::support::{Sandbox, file_content};

const VRRP_PASSWORD: &str = "vrrp-pw8";

fn environment() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "PATH".to_string(),
        "/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
    )])
}

/// Runs `program_line` (given the path of `configuration` written into a folder of its
/// own) in `network_host`'s namespace, with a /run of its own for pid files.
fn run_with_config(
    network_host: &NetworkHost,
    configuration: &str,
    program_line: impl Fn(&str) -> String,
) -> NamespaceContainer {
    let work = tempfile::tempdir().expect("a temporary folder");
    let path = work.path().join("program.conf");
    std::fs::write(&path, configuration).unwrap();
    let script = format!(
        "set -eu\nmount -t tmpfs tmpfs /run\nexec {}\n",
        program_line(&path.display().to_string())
    );
    NamespaceContainer::run(network_host, &script, &environment(), work)
}

fn holds(network_host: &NetworkHost, vip: &str) -> bool {
    let (_, addresses) = run_in(network_host, "ip", &["-o", "addr", "show", "dev", "eth0"]);
    addresses.contains(&format!("inet {vip}/"))
}

/// Waits until `holder` has the VIP and `other` has not (never both: no split brain),
/// while every one of `running` still runs.
fn wait_for_holder(
    what: &str,
    vip: &str,
    holder: &NetworkHost,
    other: &NetworkHost,
    running: &mut [&mut NamespaceContainer],
) {
    wait_for(what, Duration::from_secs(30), running, || {
        match (holds(holder, vip), holds(other, vip)) {
            (true, false) => Ok(()),
            (holder_has, other_has) => Err(format!(
                "the holder has it: {holder_has}, the other: {other_has}"
            )),
        }
    });
}

#[test]
fn the_vip_moves_to_the_other_load_balancer_when_haproxy_dies_and_comes_back_with_it() {
    let mut network = PrivateNetwork::create("vrrp", 2);
    for host in &mut network.hosts {
        host.rename_interface("eth0");
    }
    let (first, second) = (&network.hosts[0], &network.hosts[1]);
    let subnet = first.address.rsplit_once('.').unwrap().0.to_string();
    let vip = format!("{subnet}.100/24");
    let sandbox = Sandbox::new();
    sandbox.write("fingerprint.key", "a-test-fingerprint-key\n");
    sandbox.write("vrrp-password", &format!("{VRRP_PASSWORD}\n"));
    sandbox.write(
        "cluster.toml",
        &format!(
            "[cluster]\nname = \"floating\"\ndomain = \"floating.example\"\n\
             exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\
             fingerprint_key = {{ file = \"fingerprint.key\" }}\n\n\
             [hosts.lb1]\naddress = \"{first}\"\nid = 1\nroles = [\"loadbalancer\"]\n\n\
             [hosts.lb2]\naddress = \"{second}\"\nid = 2\nroles = [\"loadbalancer\"]\n\n\
             [haproxy]\n# This machine's open-file limit is below what 20,000 connections take.\n\
             max_connections = 2000\n\n\
             [keepalived]\nvip = \"{vip}\"\ninterface = \"eth0\"\n\
             auth_pass = {{ file = \"vrrp-password\" }}\ncheck_interval_seconds = 1\n",
            first = first.address,
            second = second.address,
        ),
    );
    sandbox.compile().success();
    let nodes = sandbox.show_json();
    let haproxy_configuration = file_content(&nodes, "lb1:file:/etc/cairn/haproxy/haproxy.cfg");
    // What apply writes on the host: the secret's placeholder replaced by its value.
    let keepalived_configuration = |host: &str| {
        file_content(
            &nodes,
            &format!("{host}:file:/etc/cairn/keepalived/keepalived.conf"),
        )
        .replace("@@CAIRN_SECRET(keepalived.auth_pass)@@", VRRP_PASSWORD)
    };
    let start_haproxy = |network_host: &NetworkHost| {
        run_with_config(network_host, &haproxy_configuration, |path| {
            format!("haproxy -W -db -f {path}")
        })
    };
    let start_keepalived = |network_host: &NetworkHost, host: &str| {
        run_with_config(network_host, &keepalived_configuration(host), |path| {
            format!("keepalived --dont-fork --log-console --no-syslog --use-file {path}")
        })
    };

    let first_haproxy = start_haproxy(first);
    let mut second_haproxy = start_haproxy(second);
    let mut first_keepalived = start_keepalived(first, "lb1");
    let mut second_keepalived = start_keepalived(second, "lb2");
    let vip_address = vip.trim_end_matches("/24").to_string();
    wait_for_holder(
        "lb1 (the lowest id) holding the VIP",
        &vip_address,
        first,
        second,
        &mut [&mut first_keepalived, &mut second_keepalived],
    );

    // lb1's HAProxy dies: its track script fails, lb2 takes the VIP.
    drop(first_haproxy);
    let stopped = Instant::now();
    wait_for_holder(
        "lb2 holding the VIP once lb1's HAProxy stopped",
        &vip_address,
        second,
        first,
        &mut [
            &mut first_keepalived,
            &mut second_keepalived,
            &mut second_haproxy,
        ],
    );
    let moved_after = stopped.elapsed();
    // Two failed checks a second apart, then a VRRP advertisement: a few seconds.
    assert!(
        moved_after < Duration::from_secs(15),
        "the VIP moved after {moved_after:?}"
    );
    // Every address answers from the VIP's holder.
    let (answered, _) = run_in(
        second,
        "curl",
        &[
            "--silent",
            "--fail",
            "--max-time",
            "2",
            &format!("http://{vip_address}:8404/healthz"),
        ],
    );
    assert!(answered, "HAProxy answers on the VIP at lb2");

    // HAProxy answers on lb1 again: lb1, the higher priority, takes the VIP back.
    let _first_haproxy = start_haproxy(first);
    wait_for_holder(
        "lb1 holding the VIP again once its HAProxy answers",
        &vip_address,
        first,
        second,
        &mut [&mut first_keepalived, &mut second_keepalived],
    );
    eprintln!("the VIP moved {moved_after:?} after lb1's HAProxy stopped");
}
