//! The preflight probes that look at the network, run for real. `port_free` on a port
//! nothing holds, on one a foreign process listens on (busybox's httpd), on one the
//! module's own container holds (a container of the machine's Docker engine, on the host's
//! network: the re-apply), and on one a process of a named unit's cgroup holds. Then the
//! control host's checks of what it relies on outside the cluster: an NTP server (Debian's
//! chronyd, in a network namespace of the test's own) and one where nothing answers, the
//! package repository and the registry (busybox's httpd) before and after they serve.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::support::app_cluster::{AppCluster, names, ran_besides_checks};
use crate::support::busybox_image::{BusyboxImage, add_web_module};
use crate::support::free_ports::free_port;
use crate::support::namespace_container::{NamespaceContainer, run_in};
use crate::support::network_namespaces::{NetworkHost, PrivateNetwork};
use crate::support::{Outcome, Sandbox, cairn};
use crate::time_service::start_time_daemon;

/// The base of the test's image: Debian's static busybox, imported (nothing is pulled).
const BASE_IMAGE: &str = "cairn-test/port-base:1";

fn ensure_base_image() {
    BusyboxImage {
        applets: &["sh", "httpd"],
        ..BusyboxImage::default()
    }
    .ensure(BASE_IMAGE);
}

/// Removes the test's container however the test ends.
struct Container(&'static str);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "--force", self.0])
            .output();
    }
}

/// Busybox's httpd serving `folder` on loopback: a process that is no container's and no
/// unit's; stopped when dropped.
struct WebServer {
    child: Child,
}

impl WebServer {
    fn serve(folder: &Path, port: u16) -> Self {
        Self {
            child: crate::support::debian_repository::serve_folder(folder, "127.0.0.1", port),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The error of the failed node `name` of `host` in an apply's report.
fn failure<'a>(report: &'a serde_json::Value, host: &str, name: &str) -> &'a str {
    report["hosts"][host]["failed"]
        .as_array()
        .unwrap_or_else(|| panic!("no failures for {host} in {report}"))
        .iter()
        .find(|failed| failed["name"] == format!("{host}:{name}"))
        .unwrap_or_else(|| panic!("{host}:{name} did not fail: {report}"))["error"]
        .as_str()
        .expect("an error")
}

const WEB_MODULE: &str = r#"[module]
name = "web"
description = "a web server in a container, which checks its port first"
roles = ["app"]

[settings.web.port]
type = "port"
doc = "The port the server listens on."

[[image]]
name = "port-web"
base = "cairn-test/port-base:1"
files = [
    { path = "/usr/local/bin/serve", template = "serve.sh", mode = "0755" },
    { path = "/www/index.html", template = "index.html" },
]
entrypoint = ["/usr/local/bin/serve"]

[[node]]
kind = "check"
name = "port-free:{{ web.port }}:web"
probe = "port_free"
port = "{{ web.port }}"
held_by = "container:web"

[[node]]
kind = "container"
name = "web"
image = "port-web"
network = "host"
env = { PORT = "{{ web.port }}" }
deps = ["check:*"]

[[node]]
kind = "health"
name = "web-http"
probe = "http"
url = "http://127.0.0.1:{{ web.port }}/index.html"
retries = 20
interval_seconds = 1
deps = ["container:web"]
"#;

#[test]
fn a_port_check_names_a_foreign_listener_and_passes_for_its_own_container_on_every_apply() {
    ensure_base_image();
    let host = "portone";
    let _container = Container("portone-web");
    let cluster = AppCluster::local(&[host]);
    let port = free_port("127.0.0.1");
    add_web_module(&cluster.sandbox, WEB_MODULE, port);
    cluster
        .sandbox
        .write("modules/web/index.html", "served by the container\n");
    cluster.compile();
    let check = format!("check:port-free:{port}:web");

    // A process that is not the container listens on the port: the check fails, naming
    // it, and the container does not start.
    let folder = tempfile::tempdir().unwrap();
    let foreign = WebServer::serve(folder.path(), port);
    let (outcome, report) = cluster.apply();
    outcome.code(1);
    assert_eq!(
        failure(&report, host, &check),
        format!(
            "TCP port {port} is held by pid {} (busybox), not by container portone-web, which does not exist",
            foreign.pid()
        )
    );
    assert!(names(&report, host, "not_run").contains(&"container:web".to_string()));
    drop(foreign);

    // The port is free: the check passes and the container starts.
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert!(names(&report, host, "ran").contains(&check));
    assert!(ran_besides_checks(&report, host).contains(&"container:web".to_string()));
    let page = Command::new("curl")
        .args(["-sf", &format!("http://127.0.0.1:{port}/index.html")])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&page.stdout),
        "served by the container\n"
    );

    // Re-applied, the container holds the port, and that is what the check wants.
    for _ in 0..2 {
        let (outcome, report) = cluster.apply();
        outcome.success();
        assert!(names(&report, host, "ran").contains(&check), "{report}");
        assert_eq!(ran_besides_checks(&report, host), Vec::<String>::new());
    }
}

/// A cgroup of the test's own, named as a systemd unit's would be (the leaf of its path),
/// in the `pids` hierarchy (cgroup v1) or the unified one (v2); removed when dropped, once
/// its processes have ended.
struct UnitCgroup {
    path: PathBuf,
}

impl UnitCgroup {
    fn create(unit: &str) -> Self {
        let root = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            Path::new("/sys/fs/cgroup")
        } else {
            Path::new("/sys/fs/cgroup/pids")
        };
        let path = root.join(unit);
        std::fs::create_dir(&path)
            .unwrap_or_else(|error| panic!("cannot create the cgroup {}: {error}", path.display()));
        Self { path }
    }

    fn add(&self, pid: u32) {
        std::fs::write(self.path.join("cgroup.procs"), pid.to_string()).unwrap_or_else(|error| {
            panic!("cannot move {pid} into {}: {error}", self.path.display())
        });
    }
}

impl Drop for UnitCgroup {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::remove_dir(&self.path).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn a_port_held_by_the_named_units_process_passes_and_another_unit_is_told_who_holds_it() {
    let host = "porttwo";
    let cluster = AppCluster::local(&[host]);
    let port = free_port("127.0.0.1");
    let udp_port = free_port("127.0.0.1");
    let unit = format!("cairn-test-{}.scope", std::process::id());
    cluster.sandbox.write(
        "modules/ports/module.toml",
        &format!(
            "[module]\nname = \"ports\"\ndescription = \"checks of ports\"\nroles = [\"app\"]\n\n\
             [[node]]\nkind = \"check\"\nname = \"port-free:{port}:ours\"\nprobe = \"port_free\"\n\
             port = {port}\nheld_by = \"service:{unit}\"\n\n\
             [[node]]\nkind = \"check\"\nname = \"port-free:{port}:theirs\"\nprobe = \"port_free\"\n\
             port = {port}\nheld_by = \"service:another.service\"\n\n\
             [[node]]\nkind = \"check\"\nname = \"port-free:{port}/udp\"\nprobe = \"port_free\"\n\
             port = {port}\nprotocol = \"udp\"\n\n\
             [[node]]\nkind = \"check\"\nname = \"port-free:{udp_port}/udp:bound\"\nprobe = \"port_free\"\n\
             port = {udp_port}\nprotocol = \"udp\"\n"
        ),
    );
    cluster.compile();

    let cgroup = UnitCgroup::create(&unit);
    let folder = tempfile::tempdir().unwrap();
    let server = WebServer::serve(folder.path(), port);
    cgroup.add(server.pid());
    let socket = std::net::UdpSocket::bind(("127.0.0.1", udp_port)).unwrap();

    let (outcome, report) = cluster.apply();
    outcome.code(1);
    let ran = names(&report, host, "ran");
    assert!(
        ran.contains(&format!("check:port-free:{port}:ours")),
        "{report}"
    );
    // UDP's port of the same number is another port, free.
    assert!(
        ran.contains(&format!("check:port-free:{port}/udp")),
        "{report}"
    );
    assert_eq!(
        failure(&report, host, &format!("check:port-free:{port}:theirs")),
        format!(
            "TCP port {port} is held by pid {} (busybox), not by service another.service",
            server.pid()
        )
    );
    assert_eq!(
        failure(
            &report,
            host,
            &format!("check:port-free:{udp_port}/udp:bound")
        ),
        format!(
            "UDP port {udp_port} is in use by pid {} ({})",
            std::process::id(),
            std::fs::read_to_string("/proc/self/comm").unwrap().trim()
        )
    );
    drop(socket);
    drop(server);
}

#[test]
fn a_holder_that_is_neither_a_container_nor_a_unit_is_refused_at_compile_with_its_line() {
    let cluster = AppCluster::local(&["portthree"]);
    cluster.sandbox.write(
        "modules/ports/module.toml",
        "[module]\nname = \"ports\"\ndescription = \"checks of ports\"\nroles = [\"app\"]\n\n\
         [[node]]\nkind = \"check\"\nname = \"port-free:80\"\nprobe = \"port_free\"\n\
         port = 80\nheld_by = \"nginx\"\n",
    );
    cluster
        .sandbox
        .compile()
        .code(2)
        .stderr_has("modules/ports/module.toml:11:1")
        .stderr_has(
            "field `held_by`: `nginx` names no holder; write \"container:NAME\" (a container node of the host) or \"service:UNIT\"",
        );
}

/// Debian's chronyd serving its own clock at stratum 10 to every address, in
/// `network_host`'s namespace, without touching the machine's clock (`-x`) or its files;
/// stopped when dropped.
fn start_time_server(network_host: &NetworkHost) -> NamespaceContainer {
    let mut server = start_time_daemon(
        network_host,
        "local stratum 10\nallow all\ncmdport 0\ndriftfile /var/lib/chrony/chrony.drift\n",
    );
    // Bound to UDP port 123 (007B), the server answers.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, sockets) = run_in(network_host, "cat", &["/proc/net/udp"]);
        if sockets.contains(":007B ") {
            return server;
        }
        assert!(
            server.running() && Instant::now() < deadline,
            "chronyd does not listen: {}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The control host, a sandbox on this machine with the built-in modules a control host
/// gets, save the servers of the cluster's own repository and registry (so the spec's
/// repository and registry are outside the cluster; a module of the test's own, with no
/// nodes, is what makes `control` a role), and the time service's upstream servers.
fn control_spec(repository: u16, registry: u16, upstream: &[&str]) -> String {
    format!(
        "[cluster]\nname = \"outside\"\ndomain = \"outside.example\"\nmodules = [\"modules\"]\n\
         exclude_modules = [\"repository-server\", \"registry-server\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\
         fingerprint_key = {{ file = \"fingerprint.key\" }}\n\n\
         [hosts.control]\naddress = \"127.0.0.1\"\ntransport = \"local\"\nroot = \"hosts/control\"\n\
         roles = [\"control\"]\n\n\
         [preflight]\nfilesystem_paths = []\nmin_free_disk = {{ \"/\" = \"1MiB\" }}\n\n\
         [repository]\nurl = \"http://127.0.0.1:{repository}/debian\"\n\n\
         [registry]\naddress = \"127.0.0.1:{registry}\"\n\n\
         [ntp]\nservers = [\"127.0.0.1\"]\nupstream = {upstream:?}\n"
    )
}

/// `cairn apply` of the control host, images and containers left for later. It never succeeds whole: a
/// sandbox installs no packages and manages no services (they are the machine's), which
/// it reports as not run.
fn apply_control(sandbox: &Sandbox) -> (Outcome, serde_json::Value) {
    let outcome = cairn()
        .current_dir(sandbox.path())
        .args([
            "apply",
            "cluster.toml",
            "--json",
            "--skip-kind",
            "image,container",
        ])
        .run();
    let report = serde_json::from_str(&outcome.stdout).unwrap_or(serde_json::Value::Null);
    (outcome, report)
}

#[test]
fn the_control_host_checks_that_the_repository_registry_and_ntp_servers_outside_answer() {
    let network = PrivateNetwork::create("prob", 2);
    let (time_server, silent) = (&network.hosts[0], &network.hosts[1]);
    let _chronyd = start_time_server(time_server);
    let (repository_port, registry_port) = (free_port("127.0.0.1"), free_port("127.0.0.1"));
    let sandbox = Sandbox::new();
    sandbox.write("fingerprint.key", "a-test-fingerprint-key\n");
    sandbox.write(
        "modules/control/module.toml",
        "[module]\nname = \"control\"\ndescription = \"the role of the control host\"\nroles = [\"control\"]\n",
    );
    sandbox.write(
        "cluster.toml",
        &control_spec(
            repository_port,
            registry_port,
            &[&time_server.address, &silent.address],
        ),
    );

    // Nothing serves the repository or the registry, and nothing answers NTP queries at
    // the second server: each check says so, and nothing is installed.
    let (outcome, report) = apply_control(&sandbox);
    outcome.code(1);
    let repository = failure(&report, "control", "check:repository-reachable");
    assert!(
        repository.starts_with(&format!(
            "GET http://127.0.0.1:{repository_port}/debian/dists/bookworm/Release failed: Failed to connect to 127.0.0.1 port {repository_port}"
        )),
        "{repository}"
    );
    let registry = failure(&report, "control", "check:registry-reachable");
    assert!(
        registry.starts_with(&format!(
            "the cluster's registry 127.0.0.1:{registry_port} does not answer GET /v2/ with 200 or 401 (https: Failed to connect to 127.0.0.1 port {registry_port}"
        )) && registry.contains("; http: Failed to connect"),
        "{registry}"
    );
    assert_eq!(
        failure(
            &report,
            "control",
            &format!("check:ntp-reachable:{}", silent.address)
        ),
        format!(
            "the NTP server {} (UDP port 123) did not answer: Connection refused",
            silent.address
        )
    );
    assert!(
        names(&report, "control", "ran")
            .contains(&format!("check:ntp-reachable:{}", time_server.address)),
        "{report}"
    );
    assert!(
        names(&report, "control", "not_run").contains(&"file:/etc/hosts".to_string()),
        "{report}"
    );

    // The repository and the registry serve, and the upstream server that does not
    // answer is gone from the spec: every check passes and the host's files are written.
    let served = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(served.path().join("debian/dists/bookworm")).unwrap();
    std::fs::write(
        served.path().join("debian/dists/bookworm/Release"),
        "Suite: bookworm\n",
    )
    .unwrap();
    std::fs::create_dir_all(served.path().join("v2")).unwrap();
    std::fs::write(served.path().join("v2/index.html"), "{}\n").unwrap();
    let _repository = WebServer::serve(served.path(), repository_port);
    let _registry = WebServer::serve(served.path(), registry_port);
    sandbox.write(
        "cluster.toml",
        &control_spec(repository_port, registry_port, &[&time_server.address]),
    );
    let (_, report) = apply_control(&sandbox);
    assert_eq!(
        report["hosts"]["control"]["failed"],
        serde_json::json!([]),
        "{report}"
    );
    let ran = names(&report, "control", "ran");
    for check in [
        "check:repository-reachable".to_string(),
        "check:registry-reachable".to_string(),
        format!("check:ntp-reachable:{}", time_server.address),
        "file:/etc/hosts".to_string(),
    ] {
        assert!(ran.contains(&check), "{check} did not run: {report}");
    }
}
