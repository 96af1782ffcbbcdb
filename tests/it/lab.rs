//! `cairn lab`: fresh Debian machines on this computer's Docker engine, reached over SSH
//! with the files the lab writes, applied to by cairn, each able to run a Docker engine of
//! its own. Real containers, real systemd and sshd; nothing is mocked. Each test's lab has
//! a network of its own (10.231.X.0/24, X from the test and the process) and a name with
//! the process id, so concurrent runs do not meet; a lab left by a failed test is brought
//! down when its fixture drops.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::support::app_cluster::ran_besides_checks;
use crate::support::busybox_image::BusyboxImage;
use crate::support::private_apt::PrivateApt;
use crate::support::{Outcome, Sandbox, cairn, run_successfully};

/// A module writing one file on every host: what cairn applies to the lab.
const FILE_MODULE: &str = r#"[module]
name = "labfile"
description = "a file on every lab machine"
roles = ["*"]

[[node]]
kind = "file"
path = "/etc/cairn-lab-test.conf"
content = "written by cairn on {{ host.name }}\n"
deps = ["check:*"]
"#;

/// A spec of the test's own, brought up as a lab in the sandbox's `lab/`.
struct LabTest {
    sandbox: Sandbox,
    name: String,
    /// `10.231.X`
    network: String,
}

impl LabTest {
    /// A lab of `machines` (name, last byte of the address, SSH port) for test `number`.
    fn new(number: u32, machines: &[(&str, u8, u16)]) -> Self {
        for (tool, package) in [("ssh", "openssh-client"), ("docker", "docker.io")] {
            assert!(
                Command::new("sh")
                    .args(["-c", &format!("command -v {tool}")])
                    .output()
                    .expect("sh runs")
                    .status
                    .success(),
                "{tool} is missing: install Debian's {package} (.ci/run does)"
            );
        }
        let id = std::process::id();
        let name = format!("lab{number}-{id}");
        let network = format!("10.231.{}", (id % 50) * 5 + number);
        let mut spec = format!(
            "[cluster]\nname = \"{name}\"\ndomain = \"lab.example\"\nmodules = [\"modules\"]\n\
             exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\n"
        );
        for (machine, last, port) in machines {
            spec.push_str(&format!(
                "[hosts.{machine}]\naddress = \"{network}.{last}\"\nport = {port}\nroles = []\n\n"
            ));
        }
        let sandbox = Sandbox::new();
        sandbox
            .write("cluster.toml", &spec)
            .write("modules/labfile/module.toml", FILE_MODULE);
        Self {
            sandbox,
            name,
            network,
        }
    }

    fn folder(&self) -> PathBuf {
        self.sandbox.path().join("lab")
    }

    fn lab(&self, arguments: &[&str]) -> Outcome {
        cairn()
            .current_dir(self.sandbox.path())
            .arg("lab")
            .args(arguments)
            .run()
    }

    fn up(&self) -> Outcome {
        self.lab(&["up", "cluster.toml"])
    }

    fn down(&self) -> Outcome {
        self.lab(&["down", "--dir", "lab"])
    }

    fn address(&self, last: u8) -> String {
        format!("{}.{last}", self.network)
    }

    fn container(&self, machine: &str) -> String {
        format!("{}-{machine}", self.name)
    }

    /// `ssh -F lab/ssh_config MACHINE SCRIPT`: whether it succeeded, and its output.
    fn ssh(&self, machine: &str, script: &str) -> (bool, String) {
        let output = Command::new("ssh")
            .arg("-F")
            .arg(self.folder().join("ssh_config"))
            .args(["-o", "BatchMode=yes", machine, script])
            .output()
            .expect("ssh runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text.trim().to_string())
    }

    /// `ssh` that must succeed; its output.
    fn run(&self, machine: &str, script: &str) -> String {
        let (succeeded, output) = self.ssh(machine, script);
        assert!(succeeded, "on {machine}, `{script}` failed:\n{output}");
        output
    }

    /// The containers, networks and folders carrying this lab's folder label.
    fn leftovers(&self) -> String {
        let label = format!("label=cairn.lab.folder={}", self.folder().display());
        let containers = docker(&["ps", "--all", "--filter", &label, "--format", "{{.Names}}"]);
        let networks = docker(&["network", "ls", "--filter", &label, "--format", "{{.Name}}"]);
        format!("{containers}{networks}")
    }

    /// `docker inspect` of a machine's container: its id and when it started.
    fn started(&self, machine: &str) -> String {
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{.Id}} {{.State.StartedAt}} {{.State.Running}}",
            &self.container(machine),
        ])
    }
}

impl Drop for LabTest {
    fn drop(&mut self) {
        let _ = self.down();
    }
}

/// `docker ARGUMENTS`, which must succeed; its output.
fn docker(arguments: &[&str]) -> String {
    let output = run_successfully(
        Command::new("docker").args(arguments),
        &format!("docker {arguments:?}"),
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Whether an SSH server greets at `address:port`, from this computer.
fn sshd_greets(address: &str, port: u16) -> bool {
    let target = SocketAddr::new(address.parse().expect("an address"), port);
    let Ok(mut stream) = TcpStream::connect_timeout(&target, Duration::from_secs(3)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    let mut greeting = [0u8; 4];
    stream.read_exact(&mut greeting).is_ok() && &greeting == b"SSH-"
}

/// This computer's default gateway (`/proc/net/route`).
fn default_gateway() -> Ipv4Addr {
    let table = std::fs::read_to_string("/proc/net/route").expect("the routing table");
    table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.get(1) == Some(&"00000000"))
        .and_then(|fields| u32::from_str_radix(fields[2], 16).ok())
        .map(|gateway| Ipv4Addr::from(gateway.to_ne_bytes()))
        .expect("this computer has a default route")
}

/// The machines of the first test: name, last byte of the address, SSH port.
const MASTERS: [(&str, u8, u16); 3] = [
    ("master1", 11, 22),
    ("master2", 12, 2222),
    ("master3", 13, 22),
];

#[test]
fn lab_machines_are_fresh_debian_servers_at_their_addresses_reached_only_over_their_network() {
    let lab = LabTest::new(1, &MASTERS);
    let up = lab.up().success();
    assert!(up.stdout.contains("3 machines"), "{}", up.stdout);
    assert_prints_how_to_use(&lab, &up);
    let mut machine_ids: Vec<String> = MASTERS
        .iter()
        .map(|(machine, last, port)| assert_fresh_machine(&lab, machine, *last, *port))
        .collect();
    machine_ids.sort();
    machine_ids.dedup();
    assert_eq!(machine_ids.len(), 3, "each machine has its own id");
    assert_no_route_outward(&lab, "master1");
    assert_a_second_address_is_reached(&lab);
    assert_up_converges(&lab);
    lab.down().success();
    assert_eq!(lab.leftovers(), "");
    assert!(!lab.folder().exists(), "the lab's folder is left");
    let twice = lab.down().success();
    assert!(twice.stdout.contains("no lab in"), "{}", twice.stdout);
}

/// `up` prints the commands that use the lab, with the lab's own files.
fn assert_prints_how_to_use(lab: &LabTest, up: &Outcome) {
    let folder = lab.folder().display().to_string();
    for printed in [
        format!("ssh -F {folder}/ssh_config master1"),
        format!(
            "cairn apply cluster.toml --identity {folder}/id_ed25519 --known-hosts {folder}/known_hosts"
        ),
        format!("cairn lab down --dir {folder}"),
    ] {
        assert!(
            up.stdout.contains(&printed),
            "`up` does not print {printed:?}:\n{}",
            up.stdout
        );
    }
}

/// `machine` answers over SSH with the lab's config (its host key known beforehand), is
/// named after its host, has exactly its address, runs systemd, has neither Docker nor
/// chrony, and its /etc/hosts is its own file; returns its machine id.
fn assert_fresh_machine(lab: &LabTest, machine: &str, last: u8, port: u16) -> String {
    let known_hosts = std::fs::read_to_string(lab.folder().join("known_hosts")).unwrap();
    let address = lab.address(last);
    let named = if port == 22 {
        address.clone()
    } else {
        format!("[{address}]:{port}")
    };
    assert!(
        known_hosts.contains(&format!("{named} ssh-ed25519 ")),
        "{known_hosts}"
    );
    assert_eq!(lab.run(machine, "hostname"), machine);
    assert_eq!(
        lab.run(machine, "ip -4 -o address show dev eth0 | awk '{print $4}'"),
        format!("{address}/24")
    );
    let state = lab.ssh(machine, "systemctl is-system-running").1;
    assert!(
        state == "running" || state == "degraded",
        "{machine}: {state}"
    );
    let platform = lab.ssh(machine, "dpkg-query -W docker.io chrony containerd 2>&1");
    assert!(
        !platform.0 && platform.1.contains("no packages found matching docker.io"),
        "{}",
        platform.1
    );
    // host-base writes these by rename: they are the machine's files, not Docker's mounts.
    lab.run(
        machine,
        "cp /etc/hosts /etc/hosts.new && mv /etc/hosts.new /etc/hosts",
    );
    lab.run(machine, "cat /etc/machine-id")
}

/// `machine` reaches neither Debian's archive (at the address this computer resolves it
/// to) nor this computer's default gateway, and resolves no name.
fn assert_no_route_outward(lab: &LabTest, machine: &str) {
    let gateway = default_gateway();
    let debian = ("deb.debian.org", 80)
        .to_socket_addrs()
        .expect("this computer resolves deb.debian.org")
        .find(SocketAddr::is_ipv4)
        .expect("an IPv4 address of deb.debian.org")
        .ip();
    for script in [
        "ip route get 1.1.1.1".to_string(),
        format!("timeout 5 bash -c 'exec 3<>/dev/tcp/{gateway}/53'"),
        format!("timeout 5 bash -c 'exec 3<>/dev/tcp/{debian}/80'"),
        "getent hosts deb.debian.org".to_string(),
    ] {
        let (reached, output) = lab.ssh(machine, &script);
        assert!(
            !reached,
            "{machine} reached outside with `{script}`: {output}"
        );
    }
}

/// The machines reach each other, and an address added to master1's eth0 (keepalived's
/// VIP) is reached from another machine and from this computer.
fn assert_a_second_address_is_reached(lab: &LabTest) {
    let peer = format!(
        "timeout 5 bash -c 'exec 3<>/dev/tcp/{}/2222'",
        lab.address(12)
    );
    lab.run("master3", &peer);
    let vip = lab.address(200);
    lab.run("master1", &format!("ip address add {vip}/24 dev eth0"));
    lab.run(
        "master3",
        &format!("timeout 5 bash -c 'exec 3<>/dev/tcp/{vip}/22'"),
    );
    assert!(
        sshd_greets(&vip, 22),
        "the VIP on master1 is not reached from this computer"
    );
    lab.run("master1", &format!("ip address del {vip}/24 dev eth0"));
}

/// `up` again changes nothing; a machine stopped by `cairn lab stop` is started by it.
fn assert_up_converges(lab: &LabTest) {
    let before = lab.started("master1");
    let again = lab.up().success();
    assert_eq!(
        again.stdout.matches("running already").count(),
        3,
        "{}",
        again.stdout
    );
    assert_eq!(lab.started("master1"), before);
    lab.lab(&["stop", "master2", "--dir", "lab"]).success();
    let status = lab.lab(&["status", "--dir", "lab"]).success();
    let line = |name: &str| {
        let found = status.stdout.lines().find(|line| line.starts_with(name));
        found.unwrap_or_default().to_string()
    };
    assert!(
        line("master2").contains("stopped") && line("master2").contains("silent"),
        "{}",
        status.stdout
    );
    assert!(
        line("master1").contains("running") && line("master1").contains("answers"),
        "{}",
        status.stdout
    );
    let restarted = lab.up().success();
    let master2 = restarted
        .stdout
        .lines()
        .find(|line| line.contains("master2"));
    assert!(
        master2.is_some_and(|line| line.ends_with(" started")),
        "{}",
        restarted.stdout
    );
    assert_eq!(lab.run("master2", "hostname"), "master2");
}

#[test]
fn cairn_applies_a_spec_to_lab_machines_and_a_second_apply_runs_nothing_but_checks() {
    let lab = LabTest::new(2, &[("node1", 21, 22), ("node2", 22, 22)]);
    lab.up().success();
    let folder = lab.folder();
    let apply = || {
        let outcome = cairn()
            .current_dir(lab.sandbox.path())
            .args([
                "apply",
                "cluster.toml",
                "--json",
                "--persist",
                "0",
                "--identity",
            ])
            .arg(folder.join("id_ed25519"))
            .arg("--known-hosts")
            .arg(folder.join("known_hosts"))
            .run();
        let report = outcome.json();
        (outcome, report)
    };
    let (first, report) = apply();
    first.success();
    for host in ["node1", "node2"] {
        assert_eq!(
            ran_besides_checks(&report, host),
            ["file:/etc/cairn-lab-test.conf"]
        );
        assert_eq!(
            lab.run(host, "cat /etc/cairn-lab-test.conf"),
            format!("written by cairn on {host}")
        );
    }
    let (second, report) = apply();
    second.success();
    for host in ["node1", "node2"] {
        assert_eq!(ran_besides_checks(&report, host), Vec::<String>::new());
    }
}

#[test]
fn a_lab_machine_runs_its_own_docker_engine_on_overlay2_under_its_own_cgroup() {
    let lab = LabTest::new(3, &[("agent1", 31, 22)]);
    lab.up().success();
    let container = lab.container("agent1");
    install_docker(&lab, "agent1");
    let driver = lab.run(
        "agent1",
        "docker info --format '{{.Driver}} cgroup v{{.CgroupVersion}}'",
    );
    let outer = docker(&["info", "--format", "{{.CgroupVersion}}"]);
    assert_eq!(driver, format!("overlay2 cgroup v{}", outer.trim()));

    let tag = "cairn-test/lab-busybox:1";
    BusyboxImage {
        applets: &["sh", "echo", "sleep"],
        ..BusyboxImage::default()
    }
    .ensure(tag);
    let work = tempfile::tempdir().unwrap();
    let image = work.path().join("busybox.tar");
    docker(&["save", "--output", &image.display().to_string(), tag]);
    docker(&[
        "cp",
        &image.display().to_string(),
        &format!("{container}:/root/busybox.tar"),
    ]);
    lab.run("agent1", "docker load --input /root/busybox.tar");
    let hello = lab.run(
        "agent1",
        &format!("docker run --rm {tag} /bin/sh -c 'echo hello from inside agent1'"),
    );
    assert_eq!(hello, "hello from inside agent1");

    // The inner container's cgroups nest under the machine's, as this computer sees them.
    lab.run(
        "agent1",
        &format!("docker run --detach {tag} /bin/sleep 4242"),
    );
    let machine_pid = docker(&[
        "container",
        "inspect",
        "--format",
        "{{.State.Pid}}",
        &container,
    ]);
    let machine = cgroups(machine_pid.trim());
    let pgrep = Command::new("pgrep")
        .args(["-f", "^/bin/sleep 4242$"])
        .output()
        .expect("pgrep runs");
    let inner_pid = String::from_utf8_lossy(&pgrep.stdout).trim().to_string();
    assert!(
        !inner_pid.is_empty() && !inner_pid.contains('\n'),
        "the inner sleep's pid: {inner_pid:?}"
    );
    let inner = cgroups(&inner_pid);
    let mut nested = 0;
    for (hierarchy, path) in machine.iter().filter(|(_, path)| *path != "/") {
        let machine_cgroup = path.trim_end_matches("/init.scope");
        let inner_path = &inner[hierarchy];
        assert!(
            inner_path.starts_with(&format!("{machine_cgroup}/")),
            "{hierarchy}: {inner_path} is not under {machine_cgroup}"
        );
        nested += 1;
    }
    assert!(
        nested > 0,
        "the machine has no cgroup of its own: {machine:?}"
    );
    // The inner engine's data, root's files and overlay2 layers, goes with the lab.
    lab.down().success();
    assert!(!lab.folder().exists(), "the lab's folder is left");
}

/// Installs docker.io on `machine` as an offline host gets it: its packages (those the
/// machine lacks of docker.io's closure, resolved against the machine's own dpkg status)
/// downloaded where there is a network, here with a private apt reading the machine's own
/// mirror, then copied in and installed with dpkg.
fn install_docker(lab: &LabTest, machine: &str) {
    let work = tempfile::tempdir().unwrap();
    let status = work.path().join("status");
    let container = lab.container(machine);
    docker(&[
        "cp",
        &format!("{container}:/var/lib/dpkg/status"),
        &status.display().to_string(),
    ]);
    let mirror = lab.run(
        machine,
        "awk '/^deb /{print $2; exit}' /etc/apt/sources.list",
    );
    let apt = PrivateApt::new(
        &work.path().join("apt"),
        &format!(
            "Types: deb\nURIs: {mirror}\nSuites: bookworm\nComponents: main\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        ),
    );
    apt.apt_get(&["update"]);
    let status_option = format!("-o=Dir::State::status={}", status.display());
    apt.apt_get(&[
        "install",
        "--download-only",
        "--no-install-recommends",
        "-y",
        &status_option,
        "docker.io",
    ]);
    let archives = apt.folder.join("cache/archives");
    lab.run(machine, "mkdir -p /root/debs");
    docker(&[
        "cp",
        &format!("{}/.", archives.display()),
        &format!("{container}:/root/debs/"),
    ]);
    lab.run(machine, "DEBIAN_FRONTEND=noninteractive dpkg -i /root/debs/*.deb >/root/dpkg.log 2>&1 || { tail -20 /root/dpkg.log; exit 1; }");
    lab.run(machine, "systemctl is-active docker");
}

/// The cgroup of process `pid` in each hierarchy (`4:memory` → path), as /proc shows it.
fn cgroups(pid: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("a process's cgroups");
    text.lines()
        .filter_map(|line| {
            let (hierarchy, path) = line.rsplit_once(':')?;
            Some((hierarchy.to_string(), path.to_string()))
        })
        .collect()
}

#[test]
fn down_removes_what_an_up_that_failed_made() {
    let lab = LabTest::new(4, &[("web1", 41, 22), ("web2", 42, 22)]);
    let failed = lab
        .lab(&["up", "cluster.toml", "--boot-timeout", "0"])
        .code(1);
    assert!(
        failed.stderr.contains("did not answer SSH within 0 s"),
        "{}",
        failed.stderr
    );
    // With no time to boot, a machine whose sshd is up by the first look passes: on a
    // loaded computer that may be one of them, never both, and each that failed is named
    // with the command that shows its logs.
    let named: Vec<&str> = ["web1", "web2"]
        .into_iter()
        .filter(|machine| {
            let container = lab.container(machine);
            failed.stderr.contains(&format!("docker logs {container}"))
        })
        .collect();
    assert!(!named.is_empty(), "{}", failed.stderr);
    assert_ne!(lab.leftovers(), "");
    lab.down().success();
    assert_eq!(lab.leftovers(), "");
    assert!(!lab.folder().exists());
}

#[test]
fn lab_up_refuses_hosts_that_cannot_be_machines_and_networks_this_computer_uses() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "cluster.toml",
        "[cluster]\nname = \"refused\"\ndomain = \"lab.example\"\n\
         exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\n\
         [hosts.here]\naddress = \"127.0.0.1\"\ntransport = \"local\"\nroles = []\n\n\
         [hosts.sandbox]\naddress = \"10.231.250.5\"\nroot = \"/tmp/sandbox\"\nroles = []\n",
    );
    let refused = sandbox.cairn(&["lab", "up", "cluster.toml"]).code(2);
    refused
        .stderr_has("host here is reached locally (`transport = \"local\"`)")
        .stderr_has("host sandbox is a sandbox");
    // Docker's default bridge network is this computer's: a lab cannot take its addresses.
    let bridge = docker(&[
        "network",
        "inspect",
        "--format",
        "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
        "bridge",
    ]);
    let prefix: Vec<&str> = bridge.trim().split('.').take(2).collect();
    sandbox.write(
        "cluster.toml",
        &format!(
            "[cluster]\nname = \"refused\"\ndomain = \"lab.example\"\n\
             exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\n\
             [hosts.one]\naddress = \"{}.200.5\"\nroles = []\n",
            prefix.join(".")
        ),
    );
    sandbox
        .cairn(&["lab", "up", "cluster.toml"])
        .code(2)
        .stderr_has("overlaps Docker network bridge");
    assert!(
        !sandbox.path().join("lab").exists(),
        "a refused up leaves no folder"
    );
}
