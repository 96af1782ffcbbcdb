//! The virtual IP follows HAProxy: Debian's keepalived and HAProxy run each load
//! balancer's rendered configs in a network namespace per load balancer. The one with the
//! lowest id holds the VIP; when its HAProxy stops answering, the track script fails and
//! the other takes the VIP; when it answers again, the VIP comes back (it has the higher
//! priority). HAProxy's rollout drains a load balancer through the same track script:
//! its drain hands the VIP to the peer, and fails where no peer takes it.

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

/// Where the drain of HAProxy's rollout leaves its mark on a host, under the host's root.
const DRAIN_MARKER: &str = "/etc/cairn/keepalived/haproxy-drained";

/// The two commands of a rollout's turn.
enum Hook {
    Drain,
    Undrain,
}

/// Two load balancers on a private network, `lb1` (the lowest id) and `lb2`, compiled with
/// HAProxy and keepalived (checking every second) and nothing else.
struct LoadBalancers {
    network: PrivateNetwork,
    /// The VIP, without its prefix length.
    vip: String,
    nodes: serde_json::Value,
    /// The lockfile's rollout of HAProxy (`[rollouts.haproxy]`).
    rollout: cairn_lockfiles::RolloutPolicy,
    /// Each host's root for its drain marker: the load balancers share this machine's
    /// `/etc`, so each keepalived reads the marker under a root of its own.
    roots: [tempfile::TempDir; 2],
    _sandbox: Sandbox,
}

impl LoadBalancers {
    /// On a network of its own, named after `tag`.
    fn compile(tag: &str) -> Self {
        let mut network = PrivateNetwork::create(tag, 2);
        for host in &mut network.hosts {
            host.rename_interface("eth0");
        }
        let (first, second) = (&network.hosts[0], &network.hosts[1]);
        let subnet = first.address.rsplit_once('.').unwrap().0.to_string();
        let vip = format!("{subnet}.100");
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
                 [keepalived]\nvip = \"{vip}/24\"\ninterface = \"eth0\"\n\
                 auth_pass = {{ file = \"vrrp-password\" }}\ncheck_interval_seconds = 1\n",
                first = first.address,
                second = second.address,
            ),
        );
        sandbox.compile().success();
        let lockfile = cairn_lockfiles::Lockfile::read(&sandbox.path().join("cluster.lock"))
            .expect("the lockfile reads");
        Self {
            vip,
            nodes: sandbox.show_json(),
            rollout: lockfile
                .rollout("haproxy")
                .expect("HAProxy's rollout")
                .clone(),
            roots: [(); 2].map(|()| tempfile::tempdir().expect("a temporary folder")),
            network,
            _sandbox: sandbox,
        }
    }

    /// The network host of `lb1` (0) or `lb2` (1).
    fn host(&self, index: usize) -> &NetworkHost {
        &self.network.hosts[index]
    }

    fn start_haproxy(&self, index: usize) -> NamespaceContainer {
        let configuration = file_content(&self.nodes, "lb1:file:/etc/cairn/haproxy/haproxy.cfg");
        run_with_config(self.host(index), &configuration, |path| {
            format!("haproxy -W -db -f {path}")
        })
    }

    /// Starts keepalived on what apply writes on the host (the secret's placeholder
    /// replaced by its value), its drain marker under the host's root.
    fn start_keepalived(&self, index: usize) -> NamespaceContainer {
        let host = format!("lb{}", index + 1);
        let configuration = file_content(
            &self.nodes,
            &format!("{host}:file:/etc/cairn/keepalived/keepalived.conf"),
        )
        .replace("@@CAIRN_SECRET(keepalived.auth_pass)@@", VRRP_PASSWORD)
        .replace(DRAIN_MARKER, &self.marker(index).display().to_string());
        run_with_config(self.host(index), &configuration, |path| {
            format!("keepalived --dont-fork --log-console --no-syslog --use-file {path}")
        })
    }

    fn marker(&self, index: usize) -> std::path::PathBuf {
        self.roots[index]
            .path()
            .join(DRAIN_MARKER.trim_start_matches('/'))
    }

    /// Runs the rollout's `drain` or `undrain` on a host as apply does (`CAIRN_ROOT` set,
    /// at most `seconds`): its success, and the last line it said on stderr.
    fn run_hook(&self, hook: Hook, index: usize, seconds: u64) -> (bool, String) {
        let script = match hook {
            Hook::Drain => &self.rollout.drain,
            Hook::Undrain => &self.rollout.undrain,
        }
        .as_deref()
        .expect("a drain and an undrain");
        let marker_folder = self.marker(index);
        std::fs::create_dir_all(marker_folder.parent().unwrap()).unwrap();
        let output = self
            .host(index)
            .command("timeout")
            .args([&seconds.to_string(), "sh", "-c", script])
            .env("CAIRN_ROOT", self.roots[index].path())
            .output()
            .expect("timeout runs (coreutils)");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or_default().to_string();
        (output.status.success(), last)
    }

    /// Waits until `lb{holder + 1}` has the VIP and the other has not.
    fn wait_for_holder(&self, what: &str, holder: usize, running: &mut [&mut NamespaceContainer]) {
        wait_for_holder(
            what,
            &self.vip,
            self.host(holder),
            self.host(1 - holder),
            running,
        );
    }
}

#[test]
fn the_vip_moves_to_the_other_load_balancer_when_haproxy_dies_and_comes_back_with_it() {
    let balancers = LoadBalancers::compile("vrrp");
    let first_haproxy = balancers.start_haproxy(0);
    let mut second_haproxy = balancers.start_haproxy(1);
    let mut first_keepalived = balancers.start_keepalived(0);
    let mut second_keepalived = balancers.start_keepalived(1);
    balancers.wait_for_holder(
        "lb1 (the lowest id) holding the VIP",
        0,
        &mut [&mut first_keepalived, &mut second_keepalived],
    );

    // lb1's HAProxy dies: its track script fails, lb2 takes the VIP.
    drop(first_haproxy);
    let stopped = Instant::now();
    balancers.wait_for_holder(
        "lb2 holding the VIP once lb1's HAProxy stopped",
        1,
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
        balancers.host(1),
        "curl",
        &[
            "--silent",
            "--fail",
            "--max-time",
            "2",
            &format!("http://{}:8404/healthz", balancers.vip),
        ],
    );
    assert!(answered, "HAProxy answers on the VIP at lb2");

    // HAProxy answers on lb1 again: lb1, the higher priority, takes the VIP back.
    let _first_haproxy = balancers.start_haproxy(0);
    balancers.wait_for_holder(
        "lb1 holding the VIP again once its HAProxy answers",
        0,
        &mut [&mut first_keepalived, &mut second_keepalived],
    );
    eprintln!("the VIP moved {moved_after:?} after lb1's HAProxy stopped");
}

#[test]
fn haproxys_drain_hands_the_vip_to_the_peer_and_fails_where_no_peer_takes_it() {
    let balancers = LoadBalancers::compile("lbdr");
    let _haproxies = [balancers.start_haproxy(0), balancers.start_haproxy(1)];
    let mut first_keepalived = balancers.start_keepalived(0);
    let mut second_keepalived = balancers.start_keepalived(1);
    balancers.wait_for_holder(
        "lb1 (the lowest id) holding the VIP",
        0,
        &mut [&mut first_keepalived, &mut second_keepalived],
    );

    // The drain returns once the VIP has left lb1 and HAProxy answers on it from lb2.
    let (drained, said) = balancers.run_hook(Hook::Drain, 0, 30);
    assert!(drained, "the drain of lb1 failed: {said}");
    assert!(
        holds(balancers.host(1), &balancers.vip),
        "lb2 holds the VIP"
    );
    assert!(!holds(balancers.host(0), &balancers.vip));
    let (undrained, said) = balancers.run_hook(Hook::Undrain, 0, 30);
    assert!(undrained, "the undrain of lb1 failed: {said}");
    balancers.wait_for_holder(
        "lb1 holding the VIP again once undrained",
        0,
        &mut [&mut first_keepalived, &mut second_keepalived],
    );

    // No peer: lb1 lets the VIP go, nobody answers on it, and the drain fails saying so.
    drop(second_keepalived);
    let (drained, said) = balancers.run_hook(Hook::Drain, 0, 15);
    assert!(!drained, "a drain with no peer to take the VIP succeeded");
    assert_eq!(
        said,
        format!(
            "waiting for HAProxy to answer on the VIP {}/24 from another load balancer",
            balancers.vip
        )
    );
    // Undrained (as a failed drain is), lb1 takes the VIP back and serves again.
    let (undrained, said) = balancers.run_hook(Hook::Undrain, 0, 30);
    assert!(undrained, "the undrain of lb1 failed: {said}");
    wait_for(
        "lb1 holding the VIP alone",
        Duration::from_secs(30),
        &mut [&mut first_keepalived],
        || match holds(balancers.host(0), &balancers.vip) {
            true => Ok(()),
            false => Err("lb1 has not taken the VIP back".to_string()),
        },
    );
}
