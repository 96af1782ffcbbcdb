//! Upgrades of the lab's platform without an outage, each while a user of the service
//! works through it: a zoo.cfg change under a ZooKeeper client, a haproxy.cfg change under
//! requests through the VIP, a MySQL configuration change under a writer, and a bad
//! release that must stop at its first host. For each, what `cairn diff` and `cairn plan`
//! said (which containers, in which order) is what the apply did. The platform test
//! (`lab_platform.rs`) runs them in turn on its lab, after the first install.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::lab_clients::{
    MASTERS, MysqlWriter, QuorumSampler, VipClient, ZookeeperClient, answers_imok, written_rows_on,
};
use crate::lab_platform::{PlatformLab, ran, vip_holder, zookeeper_leader};

/// A spec change compiled, with what `cairn diff` and `cairn plan` say of it.
struct Upgrade {
    /// The lockfile before the change.
    before: PathBuf,
    /// `host:container` of every container the diff's blast radius replaces.
    replaced_in_diff: BTreeSet<String>,
    /// The hosts the plan's rollout of the container replaces, in order.
    planned_order: Vec<String>,
}

impl Upgrade {
    /// Edits the lab's spec with `edit`, compiles it, and reads diff and plan for
    /// `container`'s rollout.
    fn compile(lab: &PlatformLab, edit: impl FnOnce(String) -> String, container: &str) -> Self {
        let before = lab.sandbox.path().join(format!("before-{container}.lock"));
        std::fs::copy(lab.lockfile_path(), &before).expect("a copy of the lockfile");
        lab.sandbox.edit("cluster.toml", edit);
        lab.cairn(&["compile", "cluster.toml"]).success();
        let before_name = before.display().to_string();
        // Exit 1: the lockfiles differ.
        let diff = lab
            .cairn(&["diff", &before_name, "cluster.lock", "--json"])
            .code(1)
            .json();
        let mut arguments = vec!["plan", "cluster.lock", "--json"];
        let connection = lab.connection();
        arguments.extend(connection.iter().map(String::as_str));
        let plan = lab.cairn(&arguments).success().json();
        let planned_order = plan["rollouts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|rollout| rollout["container"] == container)
            .and_then(|rollout| serde_json::from_value(rollout["order"].clone()).ok())
            .unwrap_or_else(|| panic!("no rollout of {container} in the plan: {plan}"));
        Upgrade {
            before,
            replaced_in_diff: replaced_containers_in_diff(&diff),
            planned_order,
        }
    }
}

impl Upgrade {
    /// The apply of `report` replaced exactly the containers the diff named, and
    /// `container` on the hosts in the order the plan gave.
    fn happened_as_said(&self, report: &serde_json::Value, container: &str) {
        assert_eq!(
            replaced_containers_in_report(report),
            self.replaced_in_diff,
            "the containers apply replaced (left) are those diff named (right)"
        );
        assert_eq!(
            replacement_order(report, container),
            self.planned_order,
            "{container} replaced in the order plan said"
        );
    }
}

/// `host:container` of every container the diff's blast radius replaces.
fn replaced_containers_in_diff(diff: &serde_json::Value) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let hosts = diff["impact"]
        .as_object()
        .unwrap_or_else(|| panic!("no blast radius in the diff's JSON: {diff}"));
    for (host, impact) in hosts {
        for container in impact["containers_replaced"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|container| container.as_str())
        {
            named.insert(format!("{host}:{container}"));
        }
    }
    named
}

/// `host:container` of every container the apply recreated.
fn replaced_containers_in_report(report: &serde_json::Value) -> BTreeSet<String> {
    let mut replaced = BTreeSet::new();
    for host in report["hosts"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(host, _)| host)
    {
        for node in ran(report, host) {
            if let Some(container) = node.strip_prefix("container:") {
                replaced.insert(format!("{host}:{container}"));
            }
        }
    }
    replaced
}

/// The hosts whose `container` the apply replaced, in the order their turns started.
fn replacement_order(report: &serde_json::Value, container: &str) -> Vec<String> {
    let mut started: Vec<(u64, String)> = report["hosts"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(host, host_report)| {
            let at = host_report["started_ms"][format!("{host}:container:{container}")].as_u64()?;
            Some((at, host.clone()))
        })
        .collect();
    started.sort();
    started.into_iter().map(|(_, host)| host).collect()
}

/// A haproxy.cfg change (HAProxy's connection limit) rolls over the load balancers one at
/// a time, the VIP's holder last, each drained first (the VIP leaves it before HAProxy
/// stops there), while a client sends a request through the VIP every 50 ms: no request
/// fails. The apply recreates exactly the containers `cairn diff` names (HAProxy's, not
/// keepalived's: keepalived waits for HAProxy's health only to start after it), in the
/// order `cairn plan` said.
pub(crate) fn haproxy_rolls_behind_the_vip_without_a_failed_request(lab: &PlatformLab) {
    wait_for_the_vip_on("lb1", lab);
    let upgrade = Upgrade::compile(
        lab,
        |spec| spec.replace("max_connections = 2000", "max_connections = 2500"),
        "haproxy",
    );
    assert_eq!(
        upgrade.replaced_in_diff,
        BTreeSet::from(["lb1:haproxy".to_string(), "lb2:haproxy".to_string()]),
        "diff names HAProxy on both load balancers, and nothing else"
    );
    assert_eq!(
        upgrade.planned_order,
        ["lb2", "lb1"],
        "the VIP's holder last"
    );

    let client = VipClient::start();
    let (outcome, report) = lab.apply();
    let seen = client.stop();
    outcome.success();
    eprintln!(
        "haproxy rolled over {:?}: {} requests through the VIP, {} failed, the slowest {:?}",
        replacement_order(&report, "haproxy"),
        seen.requests,
        seen.failures.len(),
        seen.slowest
    );
    upgrade.happened_as_said(&report, "haproxy");
    assert!(
        seen.failures.is_empty(),
        "no request through the VIP failed: {:?}",
        seen.failures
    );
    assert!(seen.requests > 20, "{seen:?}");
}

/// Waits until `host` holds the VIP (its priority is the highest: after a failover test it
/// takes the VIP back), so the plan's order and the apply's are read of the same holder.
fn wait_for_the_vip_on(host: &str, lab: &PlatformLab) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while vip_holder(lab).as_deref() != Some(host) {
        assert!(Instant::now() < deadline, "{host} never took the VIP back");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A zoo.cfg change rolls over the masters one at a time, the leader last, in the order
/// `cairn plan` said, while a client writes and reads a znode every 50 ms: no client
/// operation fails, and at every sample two servers at least answer.
pub(crate) fn zookeeper_rolls_without_a_failed_client_operation(lab: &PlatformLab) {
    let leader = zookeeper_leader();
    let upgrade = Upgrade::compile(
        lab,
        |spec| spec.replace("heap = \"256m\"", "heap = \"256m\"\nsync_limit = 6"),
        "zookeeper",
    );
    assert_eq!(
        upgrade.planned_order.last(),
        Some(&leader),
        "the leader last"
    );

    let client = ZookeeperClient::start();
    let sampler = QuorumSampler::start();
    let (outcome, report) = lab.apply();
    let least_answering = sampler.stop();
    let client = client.stop();
    outcome.success();
    let replaced = replacement_order(&report, "zookeeper");
    eprintln!(
        "zookeeper rolled over {replaced:?}: {client}, at least {least_answering} servers answered"
    );
    upgrade.happened_as_said(&report, "zookeeper");
    assert_eq!(client["failed"], 0, "no client operation failed: {client}");
    assert!(client["operations"].as_u64().unwrap_or(0) > 20, "{client}");
    assert!(
        least_answering >= 2,
        "the quorum stayed: {least_answering} servers answered at worst"
    );
}

/// A MySQL configuration change (the buffer pool's size, in both servers' cairn.cnf) rolls
/// over the slave first, then the master, while a writer inserts a row on the master every
/// 50 ms: replication runs at the end, and both servers have every row whose INSERT
/// returned.
pub(crate) fn mysql_rolls_the_slave_first_and_loses_no_committed_row(lab: &PlatformLab) {
    let upgrade = Upgrade::compile(
        lab,
        |spec| spec.replace("[mysql]\n", "[mysql]\nbuffer_pool_size = \"192M\"\n"),
        "mysql",
    );
    assert_eq!(
        upgrade.replaced_in_diff,
        BTreeSet::from(["db1:mysql".to_string(), "db2:mysql".to_string()])
    );
    assert_eq!(upgrade.planned_order, ["db2", "db1"], "the slave first");

    let writer = MysqlWriter::start(lab, "db1");
    let (outcome, report) = lab.apply();
    let committed = writer.stop();
    outcome.success();
    eprintln!(
        "mysql rolled over {:?}: {} rows committed by the writer",
        replacement_order(&report, "mysql"),
        committed.len()
    );
    upgrade.happened_as_said(&report, "mysql");
    assert!(committed.len() > 20, "the writer wrote: {committed:?}");
    replication_catches_up_with(&committed, lab);
}

/// Both servers have every committed row: the master at once, the slave once its
/// replication (running again) caught up.
fn replication_catches_up_with(committed: &[u32], lab: &PlatformLab) {
    let lost = |host: &str| {
        let rows: BTreeSet<u32> = written_rows_on(lab, host).into_iter().collect();
        committed.iter().filter(|id| !rows.contains(id)).count()
    };
    assert_eq!(lost("db1"), 0, "the master lost no committed row");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, status) = lab.shell(
            "db2",
            "docker exec mysql mariadb -e 'SHOW SLAVE STATUS\\G' | grep -E 'Slave_(IO|SQL)_Running:'",
        );
        let running = status.matches(": Yes").count() == 2;
        let missing = lost("db2");
        if running && missing == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the slave did not catch up: {status}; {missing} committed rows missing"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// A bad release (ZooKeeper given a heap too small for the JVM to start) reaches the first
/// master of the plan's order and no other: its new container stops at start, the gate
/// fails at once, the previous container is put back; the other masters' containers are
/// never touched, the ensemble answers a client throughout, the apply exits 1. Applying the
/// previous lockfile afterwards runs nothing: every host already runs it.
pub(crate) fn a_bad_release_stops_at_its_first_host_and_the_previous_lockfile_changes_nothing(
    lab: &PlatformLab,
) {
    let upgrade = Upgrade::compile(
        lab,
        |spec| spec.replace("heap = \"256m\"", "heap = \"1m\""),
        "zookeeper",
    );
    assert_eq!(
        upgrade.replaced_in_diff,
        BTreeSet::from(["master1", "master2", "master3"].map(|host| format!("{host}:zookeeper")))
    );
    let first = upgrade.planned_order[0].clone();
    let started_before = container_start_times(lab);

    let client = ZookeeperClient::start();
    let sampler = QuorumSampler::start();
    let (outcome, report) = lab.apply();
    let least_answering = sampler.stop();
    let client = client.stop();
    let outcome = outcome.code(1);
    eprintln!(
        "a bad release of zookeeper stopped at {first}: {client}, at least {least_answering} servers answered"
    );
    let failure = report["hosts"][&first]["failed"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|failed| failed["name"] == format!("{first}:container:zookeeper"))
        .unwrap_or_else(|| panic!("zookeeper did not fail on {first}: {report}"));
    let error = failure["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("stopped after it started") && error.contains("back in its place"),
        "the gate saw the container stop, and the previous one was put back: {error}"
    );
    assert!(
        outcome.stderr.contains("stopped at"),
        "the progress says where the rollout stopped: {}",
        outcome.stderr
    );
    let started_after = container_start_times(lab);
    for host in &upgrade.planned_order[1..] {
        assert_eq!(
            started_after[host], started_before[host],
            "{host}'s zookeeper was never touched"
        );
    }
    assert!(
        MASTERS.iter().all(|address| answers_imok(address)),
        "every server answers, {first}'s on the previous release"
    );
    assert_eq!(client["failed"], 0, "no client operation failed: {client}");
    assert!(least_answering >= 2, "the quorum stayed");

    let previous = upgrade.before.display().to_string();
    let (outcome, report) = lab.apply_lockfile(&previous);
    outcome.success();
    eprintln!(
        "applying the previous lockfile took {} ms",
        report["elapsed_ms"]
    );
    for host in report["hosts"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(host, _)| host)
    {
        assert!(
            ran(&report, host).is_empty(),
            "applying the previous lockfile ran {:?} on {host}",
            ran(&report, host)
        );
    }
}

/// When each master's `zookeeper` container last started.
fn container_start_times(lab: &PlatformLab) -> std::collections::BTreeMap<String, String> {
    ["master1", "master2", "master3"]
        .iter()
        .map(|host| {
            let started = lab.run(
                host,
                "docker container inspect --format '{{.State.StartedAt}}' zookeeper",
            );
            (host.to_string(), started)
        })
        .collect()
}
