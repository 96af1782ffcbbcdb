//! The zookeeper module's ensemble, run for real: cairn applies zoo.cfg and myid into
//! three sandboxes, then ZooKeeper (this machine's, from Debian) starts in a network
//! namespace per master with exactly what cairn rendered (the config, the myid, the
//! image's entrypoint, the container's volumes and environment). The three must elect
//! one leader; with the leader gone, the other two (a quorum of 2 of 3) must elect
//! another; and each server's own log must reach the container's output.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::support::Sandbox;
use crate::support::namespace_container::{NamespaceContainer, run_in};
use crate::support::network_namespaces::{NetworkHost, PrivateNetwork};

/// The module's default client port, which the spec leaves as it is.
const CLIENT_PORT: u16 = 2181;

/// The spec: `master1` to `master3` at their namespaces' addresses, each a sandbox
/// reached locally.
fn spec(sandbox: &Sandbox, network: &PrivateNetwork) -> String {
    let mut spec = String::from(
        "[cluster]\nname = \"ensemble\"\ndomain = \"ensemble.example\"\n\
         exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\n",
    );
    for (index, network_host) in network.hosts.iter().enumerate() {
        let name = format!("master{}", index + 1);
        spec.push_str(&format!(
            "[hosts.{name}]\naddress = \"{address}\"\ntransport = \"local\"\n\
             root = \"{root}\"\nroles = [\"master\"]\nid = {id}\n\n",
            id = index + 1,
            address = network_host.address,
            root = sandbox.path().join("hosts").join(&name).display(),
        ));
    }
    spec.push_str("[preflight]\nfilesystem_paths = []\nmin_free_disk = { \"/\" = \"1MiB\" }\n");
    spec
}

/// One master: its namespace and its ZooKeeper container.
struct Server<'a> {
    host: String,
    network_host: &'a NetworkHost,
    container: NamespaceContainer,
}

/// Sends a four-letter word to the server's client port from inside its namespace (as
/// the module's health probe asks it, on 127.0.0.1) and returns the answer.
fn four_letter_word(network_host: &NetworkHost, word: &str) -> Result<String, String> {
    let (answered, answer) = run_in(
        network_host,
        "timeout",
        &[
            "5",
            "bash",
            "-c",
            "exec 3<>\"/dev/tcp/127.0.0.1/$1\" && printf %s \"$2\" >&3 && cat <&3",
            "four-letter-word",
            &CLIENT_PORT.to_string(),
            word,
        ],
    );
    if answered {
        Ok(answer)
    } else {
        Err(format!(
            "`{word}` to 127.0.0.1:{CLIENT_PORT} in {}: no answer",
            network_host.namespace
        ))
    }
}

/// Each server's mode (`leader`, `follower`), by host, as `srvr` reports it.
fn modes(servers: &[Server]) -> Result<BTreeMap<String, String>, String> {
    servers
        .iter()
        .map(|server| {
            let answer = four_letter_word(server.network_host, "srvr")?;
            let mode = answer
                .lines()
                .find_map(|line| line.strip_prefix("Mode: "))
                .ok_or_else(|| {
                    format!("{} answered srvr without a mode: {answer:?}", server.host)
                })?;
            Ok((server.host.clone(), mode.to_string()))
        })
        .collect()
}

/// The modes, once exactly one server leads and every other follows.
fn one_leader(servers: &[Server]) -> Result<BTreeMap<String, String>, String> {
    let modes = modes(servers)?;
    let count = |wanted: &str| modes.values().filter(|mode| *mode == wanted).count();
    if count("leader") == 1 && count("follower") == servers.len() - 1 {
        Ok(modes)
    } else {
        Err(format!("modes {modes:?}"))
    }
}

/// The containers' logs, for a failure's message.
fn logs(servers: &[Server]) -> String {
    servers
        .iter()
        .map(|server| format!("--- {}'s log\n{}", server.host, server.container.output()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Polls `probe` every 200 ms until it succeeds; fails after `limit`, or as soon as a
/// container has exited, with the last error and the containers' logs.
fn wait_for<T>(
    what: &str,
    limit: Duration,
    servers: &mut [Server],
    mut probe: impl FnMut(&[Server]) -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        let last_error = match probe(servers) {
            Ok(value) => return value,
            Err(error) => error,
        };
        let exited: Vec<String> = servers
            .iter_mut()
            .filter_map(|server| (!server.container.running()).then(|| server.host.clone()))
            .collect();
        if !exited.is_empty() || start.elapsed() > limit {
            panic!(
                "{what}: not after {:.1} s (exited: {exited:?}); last: {last_error}\n{}",
                start.elapsed().as_secs_f64(),
                logs(servers)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn three_masters_elect_one_leader_and_two_of_them_elect_another_when_it_stops() {
    let network = PrivateNetwork::create("zk", 3);
    let sandbox = Sandbox::new();
    sandbox.write("cluster.toml", &spec(&sandbox, &network));
    sandbox.apply_files();
    let nodes = sandbox.show_json();

    let started = Instant::now();
    let mut servers: Vec<Server> = network
        .hosts
        .iter()
        .enumerate()
        .map(|(index, network_host)| {
            let host = format!("master{}", index + 1);
            let root = sandbox.path().join("hosts").join(&host);
            assert!(
                root.join("etc/cairn/zookeeper/zoo.cfg").is_file(),
                "apply wrote {host}'s zoo.cfg"
            );
            assert_eq!(
                std::fs::read_to_string(root.join("var/lib/zookeeper/myid")).ok(),
                Some(format!("{}\n", index + 1)),
                "apply wrote {host}'s myid, its position among the masters"
            );
            let container = NamespaceContainer::start(
                &nodes,
                &host,
                "zookeeper",
                &root,
                network_host,
                &BTreeMap::new(),
            );
            Server {
                host,
                network_host,
                container,
            }
        })
        .collect();

    let modes = wait_for(
        "one server leads and the two others follow",
        Duration::from_secs(60),
        &mut servers,
        one_leader,
    );
    eprintln!(
        "the ensemble has a leader after {:?}: {modes:?}",
        started.elapsed()
    );
    for server in &servers {
        let data = sandbox
            .path()
            .join("hosts")
            .join(&server.host)
            .join("var/lib/zookeeper/version-2");
        assert!(
            data.is_dir(),
            "{}'s ZooKeeper keeps its data in the host's data_dir, through the container's volume",
            server.host
        );
        assert_eq!(
            four_letter_word(server.network_host, "ruok"),
            Ok("imok".to_string()),
            "{} answers the module's health probe\n{}",
            server.host,
            logs(&servers)
        );
    }

    // The leader stops: the two others are a quorum (2 of 3) and elect one of them.
    let leader = servers
        .iter()
        .position(|server| modes[&server.host] == "leader")
        .expect("a leader");
    let stopped = servers.remove(leader);
    let stopped_host = stopped.host.clone();
    let stopped_log = stopped.container.output();
    drop(stopped);
    let failed_over = Instant::now();
    let modes = wait_for(
        &format!("with {stopped_host} stopped, one of the two others leads"),
        Duration::from_secs(30),
        &mut servers,
        one_leader,
    );
    eprintln!(
        "{stopped_host} stopped; a new leader after {:?}: {modes:?}",
        failed_over.elapsed()
    );

    // ZooKeeper's own log reaches the container's output (what `docker logs` shows),
    // through exactly one SLF4J binding: the one the entrypoint puts on the classpath,
    // not whichever of Debian's several comes first in /usr/share/java.
    let mut outputs: Vec<(String, String)> = vec![(stopped_host, stopped_log)];
    outputs.extend(
        servers
            .iter()
            .map(|server| (server.host.clone(), server.container.output())),
    );
    for (host, output) in outputs {
        assert!(
            !output.contains("multiple SLF4J bindings")
                && (output.contains("LEADING") || output.contains("FOLLOWING")),
            "{host}'s ZooKeeper logs its role (LEADING or FOLLOWING) to the container's \
             output, through one SLF4J binding\n--- {host}'s log\n{output}"
        );
    }
}
