//! Real OpenSSH servers for the tests: one `sshd` per host, each on its own loopback
//! address (127.0.0.2, 127.0.0.3, ...), with a host key the tests trust through a
//! known_hosts file of their own and a client key in authorized_keys.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_ports::free_port;

const SSHD: &str = "/usr/sbin/sshd";

pub struct SshServer {
    pub address: String,
    pub port: u16,
    process: Child,
    /// How it was started, to start it again.
    command: Vec<String>,
    namespace: Option<String>,
}

impl SshServer {
    /// The process ids of its connections (sshd serves each in a child process).
    pub fn connections(&self) -> Vec<u32> {
        let output = Command::new("pgrep")
            .args(["-P", &self.process.id().to_string()])
            .output()
            .expect("pgrep runs");
        let mut pids: Vec<u32> = String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
            .collect();
        pids.sort();
        pids
    }

    /// Stops the server and every connection it serves, as a reboot would, and starts it
    /// again with the same address, port and host key.
    pub fn restart(&mut self) {
        for pid in self.connections() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
        self.process = Command::new(&self.command[0])
            .args(&self.command[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd starts again");
        wait_for_listener(&self.address, self.port, self.namespace.as_deref());
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Servers, the client key that logs into them and a known_hosts file that trusts them.
pub struct SshFixture {
    pub directory: tempfile::TempDir,
    pub servers: Vec<SshServer>,
}

/// Where one server of a fixture listens, and how it is set up.
#[derive(Clone, Debug)]
pub struct ServerPlace {
    pub address: String,
    /// A free port of the address when `None`.
    pub port: Option<u16>,
    /// The network namespace it runs in (`ip netns exec`), when not this process's.
    pub namespace: Option<String>,
    /// sshd's `MaxStartups`: the fixture's 200 unless given (`10:30:100` is sshd's own).
    pub max_startups: Option<String>,
    /// Where sshd logs, at level INFO (connections dropped past `MaxStartups` among
    /// them); nowhere, and errors only, when `None`.
    pub log: Option<PathBuf>,
}

impl ServerPlace {
    /// On `address`, in this process's network.
    pub fn at(address: &str) -> Self {
        Self {
            address: address.to_string(),
            port: None,
            namespace: None,
            max_startups: None,
            log: None,
        }
    }

    /// On `address:port` inside `namespace`.
    pub fn in_namespace(address: &str, port: u16, namespace: &str) -> Self {
        Self {
            address: address.to_string(),
            port: Some(port),
            namespace: Some(namespace.to_string()),
            max_startups: None,
            log: None,
        }
    }
}

impl SshFixture {
    /// Starts one sshd on each address.
    pub fn start(addresses: &[&str]) -> Self {
        let places: Vec<ServerPlace> = addresses
            .iter()
            .map(|address| ServerPlace::at(address))
            .collect();
        Self::start_at(&places)
    }

    /// Starts one sshd inside a network namespace, on `address:port`.
    pub fn start_in_namespace(address: &str, port: u16, namespace: &str) -> Self {
        Self::start_at(&[ServerPlace::in_namespace(address, port, namespace)])
    }

    /// Starts one sshd at each place, all trusting the same client key and trusted through
    /// one known_hosts file.
    pub fn start_at(places: &[ServerPlace]) -> Self {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install Debian's openssh-server (.ci/run does)"
        );
        std::fs::create_dir_all("/run/sshd").expect("sshd's privilege separation folder");
        let directory = tempfile::tempdir().expect("a temporary folder");
        let folder = directory.path();
        keygen(&folder.join("client_key"));
        // Sessions get a HOME of their own: a developer's ~/.bashrc (which Debian's bash
        // reads for commands run by sshd) must not slow or change what the tests measure.
        std::fs::create_dir_all(folder.join("home")).expect("a home folder");
        std::fs::copy(
            folder.join("client_key.pub"),
            folder.join("authorized_keys"),
        )
        .expect("authorized_keys");
        let mut servers = Vec::new();
        let mut known_hosts = String::new();
        for (index, place) in places.iter().enumerate() {
            let (server, known_host) = start_server(folder, index, place);
            known_hosts.push_str(&known_host);
            servers.push(server);
        }
        std::fs::write(folder.join("known_hosts"), known_hosts).expect("known_hosts");
        Self { directory, servers }
    }

    pub fn identity(&self) -> PathBuf {
        self.directory.path().join("client_key")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.directory.path().join("known_hosts")
    }

    /// The arguments that make `cairn apply` use this fixture's key and known_hosts.
    pub fn arguments(&self) -> Vec<String> {
        vec![
            "--identity".to_string(),
            self.identity().display().to_string(),
            "--known-hosts".to_string(),
            self.known_hosts().display().to_string(),
        ]
    }
}

/// One sshd at `place`, and its known_hosts line.
fn start_server(folder: &Path, index: usize, place: &ServerPlace) -> (SshServer, String) {
    let address = place.address.as_str();
    let host_key = folder.join(format!("host_key_{index}"));
    keygen(&host_key);
    let port = place.port.unwrap_or_else(|| free_port(address));
    let config = folder.join(format!("sshd_config_{index}"));
    std::fs::write(
        &config,
        format!(
            "ListenAddress {address}:{port}\nHostKey {host_key}\nAuthorizedKeysFile {keys}\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
             PermitRootLogin prohibit-password\nPidFile none\nMaxSessions 200\nMaxStartups {max_startups}\n\
             LogLevel {log_level}\nSetEnv HOME={home}\nSubsystem sftp /usr/lib/openssh/sftp-server\n",
            home = folder.join("home").display(),
            host_key = host_key.display(),
            keys = folder.join("authorized_keys").display(),
            max_startups = place.max_startups.as_deref().unwrap_or("200"),
            log_level = if place.log.is_some() { "INFO" } else { "ERROR" },
        ),
    )
    .expect("sshd_config");
    let mut command_line: Vec<String> = match &place.namespace {
        Some(namespace) => ["ip", "netns", "exec", namespace.as_str(), SSHD]
            .map(String::from)
            .to_vec(),
        None => vec![SSHD.to_string()],
    };
    command_line.extend(["-D", "-e", "-f"].map(String::from));
    command_line.push(config.display().to_string());
    if let Some(log) = &place.log {
        command_line.extend(["-E".to_string(), log.display().to_string()]);
    }
    let process = Command::new(&command_line[0])
        .args(&command_line[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sshd starts");
    wait_for_listener(address, port, place.namespace.as_deref());
    let public_key =
        std::fs::read_to_string(host_key.with_extension("pub")).expect("host public key");
    let public_key: Vec<&str> = public_key.split_whitespace().take(2).collect();
    let known_host = format!("[{address}]:{port} {}\n", public_key.join(" "));
    let server = SshServer {
        address: address.to_string(),
        port,
        process,
        command: command_line,
        namespace: place.namespace.clone(),
    };
    (server, known_host)
}

/// Waits until something listens on `address:port`, seen from `namespace` (this
/// process's network when `None`): a server in a namespace the tests cannot reach is
/// asked from inside it.
pub fn wait_for_listener(address: &str, port: u16, namespace: Option<&str>) {
    let Some(namespace) = namespace else {
        return wait_for_port(address, port);
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let listening = Command::new("ip")
            .args(["netns", "exec", namespace, "ss", "-Hltn"])
            .arg(format!("src {address} and sport = :{port}"))
            .output()
            .expect("ss runs (Debian's iproute2)");
        if !String::from_utf8_lossy(&listening.stdout).trim().is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("sshd did not listen on {address}:{port} in namespace {namespace}");
}

pub fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed");
}

pub fn wait_for_port(address: &str, port: u16) {
    let target: SocketAddr = format!("{address}:{port}")
        .parse()
        .expect("a socket address");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&target, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("sshd did not listen on {target}");
}
