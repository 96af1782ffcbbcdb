//! The whole platform installed from nothing onto fresh machines: the lab example
//! (`examples/lab`: a control host, three ZooKeeper masters, two load balancers sharing a
//! VIP, a MariaDB pair, an agent running the console) brought up with `cairn lab` and
//! installed by one `cairn apply`, every package from the control host's repository, every
//! image through its registry; then checked from outside, as an operator would, and
//! upgraded. Real machines (systemd, sshd, their own Docker engines), real programs;
//! nothing stands in for anything.
//!
//! The lab tests take the lab lock in turn: each lab is nine or three machines with Docker
//! engines of their own, more than two cores run side by side.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::lab_clients::{HAPROXY_STATS_PORT, MASTERS, VIP};
use crate::lab_rollouts;
use crate::support::{Outcome, Sandbox, cairn, run_successfully};

/// A lab of a spec in a sandbox: brought up on creation, down when dropped.
pub(crate) struct PlatformLab {
    pub(crate) sandbox: Sandbox,
    /// The cluster's name: its machines are the containers `<name>-<host>`.
    name: String,
    _turn: LabTurn,
}

/// One lab at a time, across the test threads of a process and across processes.
struct LabTurn {
    _thread: std::sync::MutexGuard<'static, ()>,
    _process: std::fs::File,
}

fn take_turn() -> LabTurn {
    static TURN: Mutex<()> = Mutex::new(());
    let thread = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let file = std::fs::File::create(std::env::temp_dir().join("cairn-test-lab-platform.lock"))
        .expect("the lab lock file");
    file.lock().expect("the lab lock");
    LabTurn {
        _thread: thread,
        _process: file,
    }
}

impl Drop for PlatformLab {
    fn drop(&mut self) {
        let _ = cairn()
            .current_dir(self.sandbox.path())
            .args(["lab", "down", "--dir", "lab"])
            .run();
    }
}

impl PlatformLab {
    /// `examples/lab` as it is committed, or with `edit` applied to its spec, its lab up.
    pub(crate) fn up(edit: impl FnOnce(String) -> String) -> PlatformLab {
        for tool in ["docker", "curl", "debootstrap"] {
            assert!(
                Command::new("sh")
                    .args(["-c", &format!("command -v {tool}")])
                    .stdout(Stdio::null())
                    .status()
                    .is_ok_and(|status| status.success()),
                "{tool} is missing: .ci/run installs it (Debian's docker.io, curl, debootstrap)"
            );
        }
        let turn = take_turn();
        let sandbox = Sandbox::with_example("lab");
        let spec = edit(sandbox.read("cluster.toml"));
        sandbox.write("cluster.toml", &spec);
        let name = spec
            .lines()
            .find_map(|line| line.strip_prefix("name = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .expect("the cluster's name")
            .to_string();
        let lab = PlatformLab {
            sandbox,
            name,
            _turn: turn,
        };
        // What an earlier run left (a test killed before its fixture dropped).
        let _ = lab.cairn(&["lab", "down", "--dir", "lab"]);
        lab.cairn(&["compile", "cluster.toml"]).success();
        lab.cairn(&["lab", "up", "cluster.toml"]).success();
        lab
    }

    /// `cairn ARGUMENTS` in the sandbox, with the sandbox's own image folder: a first
    /// install builds and pushes its images as on a fresh control machine.
    pub(crate) fn cairn(&self, arguments: &[&str]) -> Outcome {
        self.command(arguments).run()
    }

    fn command(&self, arguments: &[&str]) -> crate::support::Cairn {
        cairn()
            .current_dir(self.sandbox.path())
            .env("CAIRN_IMAGES", &self.images().display().to_string())
            .args(arguments)
    }

    pub(crate) fn images(&self) -> PathBuf {
        self.sandbox.path().join("images")
    }

    /// The arguments reaching the lab's machines.
    pub(crate) fn connection(&self) -> Vec<String> {
        vec![
            "--identity".to_string(),
            self.lab_file("id_ed25519"),
            "--known-hosts".to_string(),
            self.lab_file("known_hosts"),
        ]
    }

    fn lab_file(&self, name: &str) -> String {
        self.sandbox
            .path()
            .join("lab")
            .join(name)
            .display()
            .to_string()
    }

    /// `cairn apply cluster.lock --json`: the outcome and its report.
    pub(crate) fn apply(&self) -> (Outcome, serde_json::Value) {
        self.apply_lockfile("cluster.lock")
    }

    /// `cairn apply LOCKFILE --json`: the outcome and its report.
    pub(crate) fn apply_lockfile(&self, lockfile: &str) -> (Outcome, serde_json::Value) {
        let mut arguments = vec!["apply", lockfile, "--json"];
        let connection = self.connection();
        arguments.extend(connection.iter().map(String::as_str));
        let outcome = self.cairn(&arguments);
        let report = serde_json::from_str(&outcome.stdout).unwrap_or(serde_json::Value::Null);
        (outcome, report)
    }

    /// The container of machine `host`.
    pub(crate) fn machine(&self, host: &str) -> String {
        format!("{}-{host}", self.name)
    }

    /// `sh -c SCRIPT` on machine `host` (as root, beside cairn): whether it succeeded,
    /// and what it printed.
    pub(crate) fn shell(&self, host: &str, script: &str) -> (bool, String) {
        let output = Command::new("docker")
            .args(["exec", &self.machine(host), "sh", "-c", script])
            .stdin(Stdio::null())
            .output()
            .expect("docker exec runs");
        (
            output.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
            .trim()
            .to_string(),
        )
    }

    /// [`PlatformLab::shell`], which must succeed.
    pub(crate) fn run(&self, host: &str, script: &str) -> String {
        let (succeeded, output) = self.shell(host, script);
        assert!(succeeded, "on {host}: `{script}` failed: {output}");
        output
    }

    pub(crate) fn lockfile_path(&self) -> PathBuf {
        self.sandbox.path().join("cluster.lock")
    }
}

/// What a report says ran on `host`, by node (`kind:key`), checks left out.
pub(crate) fn ran(report: &serde_json::Value, host: &str) -> BTreeSet<String> {
    crate::support::app_cluster::ran_besides_checks(report, host)
        .into_iter()
        .collect()
}

/// The lab's hosts.
const HOSTS: [&str; 9] = [
    "agent1", "control", "db1", "db2", "lb1", "lb2", "master1", "master2", "master3",
];
/// The hosts that pull images from the control host's registry.
const PULLING_HOSTS: [(&str, &[&str]); 8] = [
    ("agent1", &["console"]),
    ("db1", &["mysql"]),
    ("db2", &["mysql"]),
    ("lb1", &["haproxy", "keepalived"]),
    ("lb2", &["haproxy", "keepalived"]),
    ("master1", &["zookeeper"]),
    ("master2", &["zookeeper"]),
    ("master3", &["zookeeper"]),
];
const CONTROL: &str = "10.77.0.5";

#[test]
fn the_whole_platform_installs_from_nothing_serves_across_machines_and_upgrades_exactly() {
    let lab = PlatformLab::up(|spec| spec);
    let started = Instant::now();
    let (outcome, report) = lab.apply();
    let install = started.elapsed();
    outcome.success();
    eprintln!("the first install took {install:?}");
    for host in HOSTS {
        assert!(
            ran(&report, host).len() > 10,
            "{host} was installed: {:?}",
            ran(&report, host)
        );
    }

    packages_came_from_the_control_hosts_repository_alone(&lab);
    images_went_through_the_registry(&lab);
    zookeeper_is_one_quorum_across_the_masters();
    mariadb_replicates_a_row_from_db1_to_db2(&lab);
    every_clock_follows_the_control_host(&lab);
    haproxy_answers_through_the_vip_which_moves_when_its_holder_fails(&lab);

    // Nothing changed: only the checks run.
    let (outcome, report) = lab.apply();
    outcome.success();
    for host in HOSTS.iter().chain(&["cluster"]) {
        assert!(
            ran(&report, host).is_empty(),
            "a second apply ran {:?} on {host}",
            ran(&report, host)
        );
    }

    lab_rollouts::haproxy_rolls_behind_the_vip_without_a_failed_request(&lab);
    lab_rollouts::zookeeper_rolls_without_a_failed_client_operation(&lab);
    lab_rollouts::mysql_rolls_the_slave_first_and_loses_no_committed_row(&lab);
    lab_rollouts::a_bad_release_stops_at_its_first_host_and_the_previous_lockfile_changes_nothing(
        &lab,
    );
}

/// Every machine's apt read the control host's repository alone, which the control host
/// reads from its own disk, and no package is half installed.
fn packages_came_from_the_control_hosts_repository_alone(lab: &PlatformLab) {
    for host in HOSTS {
        let lists = lab.run(
            host,
            "ls /var/lib/apt/lists | grep -v -e '^lock$' -e '^partial$' -e '^auxfiles$'",
        );
        let expected_prefix = if host == "control" {
            "_srv_cairn_repository_dists_bookworm"
        } else {
            "10.77.0.5:8080_dists_bookworm"
        };
        for list in lists.lines() {
            assert!(
                list.starts_with(expected_prefix),
                "{host} read {list}, not only the control host's repository:\n{lists}"
            );
        }
        assert_eq!(
            lab.run(host, "dpkg --audit"),
            "",
            "{host} has half-installed packages"
        );
        let docker = lab.run(host, "dpkg-query -W -f='${Version}' docker.io");
        assert!(
            docker.starts_with("20.10"),
            "{host} runs docker.io {docker}"
        );
        // No route outward: Debian's archive is out of reach.
        let (reached, _) = lab.shell(
            host,
            "timeout 5 bash -c 'exec 3<>/dev/tcp/151.101.2.132/80' 2>/dev/null",
        );
        assert!(!reached, "{host} reached the outside");
    }
}

/// Each image is in the registry, and each host that runs it pulled it by digest from
/// there (an image `docker load` received has no repository digest): none was sent over
/// SSH.
fn images_went_through_the_registry(lab: &PlatformLab) {
    let catalog = http_get(&format!("http://{CONTROL}:5000/v2/_catalog"));
    for image in crate::support::PLATFORM_IMAGES {
        assert!(
            catalog.contains(&format!("\"cairn/{image}\"")),
            "the registry lacks cairn/{image}: {catalog}"
        );
    }
    for (host, images) in PULLING_HOSTS {
        for image in images {
            let digests = lab.run(
                host,
                &format!(
                    "docker image inspect --format '{{{{range .RepoDigests}}}}{{{{.}}}} {{{{end}}}}' \
                     $(docker inspect --format '{{{{.Image}}}}' {image})"
                ),
            );
            assert!(
                digests.contains(&format!("{CONTROL}:5000/cairn/{image}@sha256:")),
                "{host} did not pull {image} from the registry (its digests: `{digests}`)"
            );
        }
    }
}

/// `srvr` asked of each master from outside: one leader, two followers.
fn zookeeper_is_one_quorum_across_the_masters() {
    let mut modes: Vec<String> = MASTERS
        .iter()
        .map(|address| {
            let reply = four_letter_word(address, 2181, "srvr");
            reply
                .lines()
                .find_map(|line| line.strip_prefix("Mode: "))
                .unwrap_or_else(|| panic!("{address} answered srvr with {reply}"))
                .to_string()
        })
        .collect();
    modes.sort();
    assert_eq!(modes, ["follower", "follower", "leader"]);
}

fn mariadb_replicates_a_row_from_db1_to_db2(lab: &PlatformLab) {
    let sql = |host: &str, statement: &str| {
        lab.run(
            host,
            &format!("docker exec mysql mariadb --batch --skip-column-names -e \"{statement}\""),
        )
    };
    sql(
        "db1",
        "CREATE DATABASE IF NOT EXISTS lab; CREATE TABLE IF NOT EXISTS lab.rows (id INT PRIMARY KEY, text VARCHAR(40)); REPLACE INTO lab.rows VALUES (1, 'written on db1');",
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (read, row) = lab.shell(
            "db2",
            "docker exec mysql mariadb --batch --skip-column-names -e \"SELECT text FROM lab.rows WHERE id = 1\"",
        );
        if read && row == "written on db1" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "db2 never replicated the row: {row}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let read_only = sql("db2", "SELECT @@read_only");
    assert_eq!(read_only, "1", "the slave is read-only");
}

/// chrony on every machine follows the control host's, which serves its own clock; all of
/// them synchronised.
fn every_clock_follows_the_control_host(lab: &PlatformLab) {
    for host in HOSTS {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (_, tracking) = lab.shell(host, "chronyc -n tracking");
            let reference = tracking
                .lines()
                .find_map(|line| line.strip_prefix("Reference ID    : "))
                .unwrap_or_default()
                .to_string();
            let normal = tracking.contains("Leap status     : Normal");
            let follows = if host == "control" {
                reference.contains("LOCL") || reference.contains("7F7F0101")
            } else {
                reference.contains(&format!("({CONTROL})"))
            };
            if normal && follows {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{host}'s clock does not follow the control host's:\n{tracking}"
            );
            std::thread::sleep(Duration::from_secs(2));
        }
    }
}

/// HAProxy's health endpoint through the VIP; the VIP's holder loses HAProxy, the other
/// load balancer takes the VIP, and HAProxy answers through it again.
fn haproxy_answers_through_the_vip_which_moves_when_its_holder_fails(lab: &PlatformLab) {
    let healthz = format!("http://{VIP}:{HAPROXY_STATS_PORT}/healthz");
    assert_eq!(http_get(&healthz), "ok\n");
    let holder = vip_holder(lab).expect("a load balancer holds the VIP");
    let other = if holder == "lb1" { "lb2" } else { "lb1" };
    lab.run(&holder, "docker stop haproxy >/dev/null");
    let deadline = Instant::now() + Duration::from_secs(30);
    while vip_holder(lab).as_deref() != Some(other) {
        assert!(
            Instant::now() < deadline,
            "the VIP did not move from {holder} to {other}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        http_get(&healthz),
        "ok\n",
        "HAProxy answers through the VIP on {other}"
    );
    lab.run(&holder, "docker start haproxy >/dev/null");
}

/// The load balancer whose `eth0` holds the VIP.
pub(crate) fn vip_holder(lab: &PlatformLab) -> Option<String> {
    ["lb1", "lb2"].into_iter().find_map(|host| {
        let (_, addresses) = lab.shell(host, "ip -o -4 addr show dev eth0");
        addresses
            .contains(&format!("inet {VIP}/"))
            .then(|| host.to_string())
    })
}

/// The master whose server leads the ensemble.
pub(crate) fn zookeeper_leader() -> String {
    let position = MASTERS
        .iter()
        .position(|address| four_letter_word(address, 2181, "srvr").contains("Mode: leader"))
        .expect("a leader");
    format!("master{}", position + 1)
}

/// A ZooKeeper four-letter word's reply.
fn four_letter_word(address: &str, port: u16, word: &str) -> String {
    let mut stream = TcpStream::connect_timeout(
        &format!("{address}:{port}").parse().expect("an address"),
        Duration::from_secs(5),
    )
    .unwrap_or_else(|error| panic!("ZooKeeper at {address}:{port}: {error}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a timeout");
    stream.write_all(word.as_bytes()).expect("the word sent");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
}

/// `curl` of `url` from this computer: its body (a failure panics, saying why).
pub(crate) fn http_get(url: &str) -> String {
    let output = run_successfully(
        Command::new("curl").args([
            "--silent",
            "--show-error",
            "--fail",
            "--max-time",
            "10",
            url,
        ]),
        &format!("GET {url}"),
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The lab example cut to three machines (the control host, one ZooKeeper master, the
/// agent running the console): every kind of work of a first install (the repository,
/// packages, the registry, images pulled, containers, health checks) in less time.
fn small_lab(spec: String) -> String {
    const DROPPED: [&str; 9] = [
        "[hosts.master2]",
        "[hosts.master3]",
        "[hosts.lb1]",
        "[hosts.lb2]",
        "[hosts.db1]",
        "[hosts.db2]",
        "[haproxy]",
        "[keepalived]",
        "[mysql]",
    ];
    let mut kept = String::new();
    let mut dropping = false;
    for line in spec.lines() {
        if line.starts_with('[') {
            dropping = DROPPED.contains(&line.trim());
        }
        if !dropping {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

const SMALL_LAB_HOSTS: [&str; 3] = ["agent1", "control", "master1"];

/// What no interrupted install may leave behind on any machine: a package dpkg did not
/// finish, or a file cairn was writing (its temporary name).
fn assert_nothing_half_done(lab: &PlatformLab, hosts: &[&str]) {
    for host in hosts {
        assert_eq!(
            lab.run(host, "dpkg --audit"),
            "",
            "{host} has half-installed packages"
        );
        let leftovers = lab.run(
            host,
            "find /etc /var/lib/cairn /srv -name '.cairn.*.tmp' -o -name '.cairn-incoming' 2>/dev/null",
        );
        assert_eq!(leftovers, "", "{host} kept files cairn was writing");
    }
}

/// How many rounds of kill and resume: `CAIRN_FAULT_ROUNDS` (scripts/lab-faults runs one
/// round on each of 50 fresh labs), else 2.
fn fault_rounds() -> usize {
    std::env::var("CAIRN_FAULT_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(2)
}

#[test]
fn an_install_killed_at_random_moments_converges_when_applied_again() {
    let lab = PlatformLab::up(small_lab);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    eprintln!("fault rounds seeded with {seed}");
    let mut connection = vec!["apply", "cluster.lock"];
    let arguments = lab.connection();
    connection.extend(arguments.iter().map(String::as_str));
    for round in 0..fault_rounds() {
        // xorshift: a kill anywhere in the first two minutes of an apply.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let after = Duration::from_millis(2_000 + seed % 118_000);
        let mut apply = lab.command(&connection).spawn_silenced();
        let finished = wait_at_most(&mut apply, after);
        if finished.is_none() {
            apply.kill().expect("SIGKILL");
            let _ = apply.wait();
        }
        eprintln!(
            "round {round}: killed after {after:?} (finished before: {})",
            finished.is_some()
        );
    }
    let (outcome, _) = lab.apply();
    if outcome.code != Some(0) {
        for host in SMALL_LAB_HOSTS {
            eprintln!("{host}: {}", lock_holders(&lab, host));
        }
    }
    outcome.success();
    let (outcome, report) = lab.apply();
    outcome.success();
    for host in SMALL_LAB_HOSTS {
        assert!(
            ran(&report, host).is_empty(),
            "after the kills, the install converged, yet another apply ran {:?} on {host}",
            ran(&report, host)
        );
    }
    assert_nothing_half_done(&lab, &SMALL_LAB_HOSTS);
    assert_eq!(
        four_letter_word("10.77.0.11", 2181, "ruok"),
        "imok",
        "ZooKeeper runs on master1"
    );
}

/// The processes of machine `host` that have its cairn lock file open (what a re-apply
/// refused as busy waited for), with their age: a failed round explains itself.
fn lock_holders(lab: &PlatformLab, host: &str) -> String {
    let script = "for process in /proc/[0-9]*; do \
        if ls -l \"$process/fd\" 2>/dev/null | grep -q ' /var/lib/cairn/lock$'; then \
        echo \"pid ${process#/proc/}, parent $(awk '/^PPid/ {print $2}' \"$process/status\"): $(tr '\\0' ' ' < \"$process/cmdline\" | cut -c1-200)\"; \
        fi; done";
    let (_, holders) = lab.shell(host, script);
    if holders.trim().is_empty() {
        "nothing holds /var/lib/cairn/lock".to_string()
    } else {
        format!("/var/lib/cairn/lock held by\n{holders}")
    }
}

#[test]
fn a_machine_stopped_in_the_middle_of_an_apply_is_named_and_the_next_apply_finishes_it() {
    let lab = PlatformLab::up(small_lab);
    let mut connection = vec!["apply", "cluster.lock", "--json"];
    let arguments = lab.connection();
    connection.extend(arguments.iter().map(String::as_str));
    let mut apply = lab.command(&connection).spawn_capturing();
    // Once master1 installs its packages, it goes down. Other labs and builds may share
    // the machine: the control host's repository and images come first, however slowly.
    let deadline = Instant::now() + Duration::from_secs(480);
    while !lab.shell("master1", "pgrep -x dpkg || pgrep -x apt-get").0 {
        if apply.try_wait().expect("the apply is there").is_some() {
            let output = apply.wait_with_output().expect("the apply's output");
            panic!(
                "the apply ended before master1 installed anything:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert!(
            Instant::now() < deadline,
            "master1 never started installing"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    lab.cairn(&["lab", "stop", "master1", "--dir", "lab"])
        .success();
    let output = apply.wait_with_output().expect("the apply ends");
    assert_eq!(output.status.code(), Some(1), "the apply fails");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the apply's JSON report");
    assert_eq!(report["hosts"]["master1"]["succeeded"], false);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("master1"),
        "the failure names master1:\n{stderr}"
    );
    // The others converge as far as master1 allows: the control host whole; on agent1,
    // everything but the console, which waits for ZooKeeper's quorum on master1.
    for host in ["control", "cluster"] {
        assert_eq!(
            report["hosts"][host]["succeeded"], true,
            "{host} converged without master1: {}",
            report["hosts"][host]
        );
    }
    assert_eq!(
        report["hosts"]["agent1"]["failed"],
        serde_json::json!([]),
        "nothing failed on agent1"
    );
    let waiting: BTreeSet<String> = report["hosts"]["agent1"]["not_run"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|node| node["name"].as_str())
        .map(|name| name.trim_start_matches("agent1:").to_string())
        .collect();
    assert_eq!(
        waiting,
        BTreeSet::from([
            "container:console".to_string(),
            "health:console-http".to_string()
        ]),
        "on agent1, only what needs master1 waits"
    );

    lab.cairn(&["lab", "start", "master1", "--dir", "lab"])
        .success();
    let (outcome, report) = lab.apply();
    outcome.success();
    assert!(
        ran(&report, "control").is_empty(),
        "the next apply ran {:?} on the control host, which had converged",
        ran(&report, "control")
    );
    assert_eq!(
        ran(&report, "agent1"),
        waiting,
        "on agent1, the next apply runs what was left, and nothing else"
    );
    let finished = ran(&report, "master1");
    assert!(
        finished.contains("container:zookeeper"),
        "master1's unfinished work ran: {finished:?}"
    );
    assert!(
        !finished.contains("file:/etc/hostname"),
        "what master1 had finished before it stopped did not run again: {finished:?}"
    );
    assert_nothing_half_done(&lab, &SMALL_LAB_HOSTS);
}

/// Waits for `child` to end, at most `limit`: its status, or `None` if it still runs.
fn wait_at_most(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("the apply's status") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
