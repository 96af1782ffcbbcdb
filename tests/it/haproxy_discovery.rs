//! HAProxy finds its backends through Consul's DNS while it runs: the rendered haproxy.cfg
//! asks the local agent's DNS interface for each service's SRV records and asks again
//! every second, so a service that moves is followed without a reload. Debian's HAProxy
//! runs the load balancer's rendered config in a network namespace; Debian's dnsmasq, on
//! the namespace's 127.0.0.1:53, stands in for the Consul agent's DNS (Consul is not
//! packaged by Debian), answering the SRV and A records Consul would; two backends are
//! busybox's httpd in namespaces of their own.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::namespace_container::{NamespaceContainer, run_in, wait_for};
use crate::support::network_namespaces::{NetworkHost, PrivateNetwork};
use crate::support::{Sandbox, file_content};

fn environment() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "PATH".to_string(),
        "/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
    )])
}

/// A web server answering `name` on port 8080 of `network_host`.
fn start_backend(network_host: &NetworkHost, name: &str) -> NamespaceContainer {
    let work = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir_all(work.path().join("www")).unwrap();
    std::fs::write(work.path().join("www/index.html"), format!("{name}\n")).unwrap();
    let script = format!(
        "exec busybox httpd -f -p {address}:8080 -h {www}\n",
        address = network_host.address,
        www = work.path().join("www").display(),
    );
    NamespaceContainer::run(network_host, &script, &environment(), work)
}

/// Consul's DNS as the load balancer's agent would answer it: service `marathon` is one
/// instance on `node` at `address`, port 8080, at priority 1 and weight 1 as Consul gives a
/// passing instance (HAProxy sends nothing to a server whose SRV weight is 0, dnsmasq's
/// default).
fn start_consul_dns(load_balancer: &NetworkHost, node: &str, address: &str) -> NamespaceContainer {
    let target = format!("{node}.node.dc1.consul");
    let script = format!(
        "exec dnsmasq --keep-in-foreground --log-facility=- --log-queries --user=root \
         --pid-file= --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.1 \
         --port=53 --srv-host=_marathon._tcp.service.consul,{target},8080,1,1 \
         --host-record={target},{address}\n"
    );
    let work = tempfile::tempdir().expect("a temporary folder");
    NamespaceContainer::run(load_balancer, &script, &environment(), work)
}

/// A GET of `url` from `network_host`'s namespace: whether it answered, and the body.
fn get(network_host: &NetworkHost, url: &str) -> (bool, String) {
    run_in(network_host, "curl", &["--silent", "--max-time", "2", url])
}

/// What the load balancer's `marathon` frontend answers, asked from its own namespace.
fn through_haproxy(load_balancer: &NetworkHost) -> Result<String, String> {
    let (answered, body) = get(
        load_balancer,
        &format!("http://{}:8080/", load_balancer.address),
    );
    if answered && !body.is_empty() {
        Ok(body.trim().to_string())
    } else {
        let (_, stats) = get(
            load_balancer,
            &format!("http://{}:8404/;csv", load_balancer.address),
        );
        Err(format!(
            "no answer through HAProxy ({body:?}); its servers:\n{stats}"
        ))
    }
}

#[test]
fn haproxy_balances_over_the_instances_consul_dns_names_and_follows_them_without_a_reload() {
    let network = PrivateNetwork::create("hadn", 3);
    let (load_balancer, first, second) = (&network.hosts[0], &network.hosts[1], &network.hosts[2]);
    let sandbox = Sandbox::new();
    sandbox.write("fingerprint.key", "a-test-fingerprint-key\n");
    sandbox.write(
        "cluster.toml",
        &format!(
            "[cluster]\nname = \"discovered\"\ndomain = \"discovered.example\"\n\
             exclude_modules = [\"host-base\", \"keepalived\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\
             fingerprint_key = {{ file = \"fingerprint.key\" }}\n\n\
             [hosts.lb1]\naddress = \"{address}\"\nroles = [\"loadbalancer\"]\n\n\
             [haproxy]\nservices = [\"marathon:8080\"]\n\
             # This machine's open-file limit (20,000) is below what 20,000 connections take.\n\
             max_connections = 2000\n",
            address = load_balancer.address,
        ),
    );
    sandbox.compile().success();
    let nodes = sandbox.show_json();
    let configuration = file_content(&nodes, "lb1:file:/etc/cairn/haproxy/haproxy.cfg");
    assert!(
        configuration.contains("nameserver consul 127.0.0.1:53")
            && configuration.contains("_marathon._tcp.service.consul resolvers consul"),
        "{configuration}"
    );

    let mut first_backend = start_backend(first, "first backend");
    let mut second_backend = start_backend(second, "second backend");
    for (backend, name) in [(first, "first backend"), (second, "second backend")] {
        wait_for(
            "the backends answering the load balancer",
            Duration::from_secs(10),
            &mut [&mut first_backend, &mut second_backend],
            || {
                let (answered, body) =
                    get(load_balancer, &format!("http://{}:8080/", backend.address));
                (answered && body.trim() == name)
                    .then_some(())
                    .ok_or(format!("{} answered {body:?}", backend.address))
            },
        );
    }
    let mut dns = start_consul_dns(load_balancer, "agent1", &first.address);
    let work = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(work.path().join("haproxy.cfg"), &configuration).unwrap();
    let script = format!(
        "exec haproxy -W -db -f {}\n",
        work.path().join("haproxy.cfg").display()
    );
    let mut haproxy = NamespaceContainer::run(load_balancer, &script, &environment(), work);

    let answer = wait_for(
        "HAProxy answering from the backend Consul's DNS names",
        Duration::from_secs(30),
        &mut [&mut haproxy, &mut dns, &mut first_backend],
        || match through_haproxy(load_balancer)? {
            body if body == "first backend" => Ok(body),
            other => Err(format!("answered {other:?}")),
        },
    );
    assert_eq!(answer, "first backend");

    // The service moves: the agent's DNS now names the other host. HAProxy is not touched.
    drop(dns);
    let mut dns = start_consul_dns(load_balancer, "agent2", &second.address);
    let answer = wait_for(
        "HAProxy following the service to the host Consul's DNS names now",
        Duration::from_secs(30),
        &mut [&mut haproxy, &mut dns, &mut second_backend],
        || match through_haproxy(load_balancer) {
            Ok(body) if body == "second backend" => Ok(body),
            Ok(other) => Err(format!("answered {other:?}")),
            Err(error) => Err(error),
        },
    );
    assert_eq!(answer, "second backend");
    assert!(
        haproxy.running(),
        "the same HAProxy process, never reloaded:\n{}",
        haproxy.output()
    );
}
