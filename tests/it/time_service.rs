//! The cluster's time, run for real: host-base's chrony.conf makes the host with role
//! `control` the cluster's time server (its own clock at a local stratum when no upstream
//! server answers, as in an offline cluster) and every other host its client. Debian's
//! chronyd runs each host's rendered configuration in a network namespace per host, and
//! the client must select the control host as its source.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::support::namespace_container::{NamespaceContainer, run_in};
use crate::support::network_namespaces::{NetworkHost, PrivateNetwork};
use crate::support::{Sandbox, file_content};

/// A chronyd of this machine running one host's rendered chrony.conf in the host's
/// namespace, without touching the machine's clock (`-x`) or its files (fresh `/run`, and
/// a drift file folder of its own); stopped when dropped.
pub(crate) fn start_time_daemon(
    network_host: &NetworkHost,
    configuration: &str,
) -> NamespaceContainer {
    let work = tempfile::tempdir().expect("a temporary folder");
    let folder = work.path();
    std::fs::write(folder.join("chrony.conf"), configuration).expect("the configuration");
    std::fs::create_dir_all(folder.join("state")).expect("a state folder");
    let script = format!(
        "set -eu\nmount -t tmpfs tmpfs /run\nmkdir -p /run/chrony\n\
         mount --bind {state} /var/lib/chrony\n\
         exec chronyd -d -x -u root -f {configuration}\n",
        state = folder.join("state").display(),
        configuration = folder.join("chrony.conf").display(),
    );
    let environment = BTreeMap::from([(
        "PATH".to_string(),
        "/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
    )]);
    NamespaceContainer::run(network_host, &script, &environment, work)
}

#[test]
fn every_host_takes_its_time_from_the_control_host_which_serves_its_own_clock_offline() {
    let network = PrivateNetwork::create("ntp", 2);
    let (control, client) = (&network.hosts[0], &network.hosts[1]);
    let sandbox = Sandbox::new();
    sandbox.write("fingerprint.key", "a-test-fingerprint-key\n");
    sandbox.write(
        "cluster.toml",
        &format!(
            "[cluster]\nname = \"timed\"\ndomain = \"timed.example\"\nexclude_modules = [\"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\
             fingerprint_key = {{ file = \"fingerprint.key\" }}\n\n\
             [hosts.control]\naddress = \"{control}\"\nroles = [\"control\"]\n\n\
             [hosts.node1]\naddress = \"{client}\"\nroles = []\n\n\
             [repository]\nurl = \"http://{control}:8080/debian\"\n\n\
             [registry]\naddress = \"{control}:5000\"\n\n\
             [ntp]\nservers = [\"{control}\"]\n",
            control = control.address,
            client = client.address,
        ),
    );
    sandbox.compile().success();
    let nodes = sandbox.show_json();
    let server_configuration = file_content(&nodes, "control:file:/etc/chrony/chrony.conf");
    let client_configuration = file_content(&nodes, "node1:file:/etc/chrony/chrony.conf");
    assert!(
        server_configuration.contains("local stratum 10")
            && server_configuration.contains(&format!("allow {}", client.address)),
        "{server_configuration}"
    );

    let server = start_time_daemon(control, &server_configuration);
    let client_daemon = start_time_daemon(client, &client_configuration);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut tracking = String::new();
    while Instant::now() < deadline {
        let (answered, text) = run_in(client, "chronyc", &["-h", "127.0.0.1", "-n", "tracking"]);
        tracking = text;
        if answered && tracking.contains(&format!("({})", control.address)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        tracking.contains(&format!("({})", control.address))
            && tracking.contains("Stratum         : 11"),
        "the client does not follow the control host:\n{tracking}\n--- server\n{}\n--- client\n{}",
        server.output(),
        client_daemon.output()
    );
}
