//! A small cluster for the apply tests: hosts (local sandboxes or real sshd servers, each
//! with its own root folder) running a test module of files, a command and a health
//! check, with the preflight checks before them (every node waits for its host's checks).

use std::path::PathBuf;

use crate::support::ssh_fixture::SshFixture;
use crate::support::{Cairn, Outcome, Sandbox, cairn};

pub struct TestHost {
    pub name: String,
    pub transport: &'static str,
    pub address: String,
    /// Left out of the spec when `None`: the SSH configuration's, else 22.
    pub port: Option<u16>,
}

pub struct AppCluster {
    pub sandbox: Sandbox,
    pub hosts: Vec<TestHost>,
    /// Arguments every apply and plan gets (the SSH key and known_hosts).
    pub connection: Vec<String>,
    /// Variables every apply and plan gets (an image folder and store of the test's own).
    pub environment: Vec<(String, String)>,
}

const MODULE: &str = r#"[module]
name = "app"
description = "a test application"
roles = ["app"]

[settings.app.greeting]
type = "string"
default = "hello"
doc = "What app.conf says."

[settings.app.token]
type = "secret"
doc = "A token written into app.conf."

[settings.app.fail_marker]
type = "string"
default = "/fail-here"
doc = "A path: on a host where it exists, the marker command fails."

[[node]]
kind = "file"
path = "/etc/app/app.conf"
template = "app.conf.j2"
mode = "0600"

[[node]]
kind = "file"
path = "/etc/app/shared.txt"
content = "the same on every host\n"

[[node]]
kind = "command"
name = "marker"
run = "test ! -e \"$CAIRN_ROOT{{ app.fail_marker }}\" && mkdir -p \"$CAIRN_ROOT/var/app\" && date +%s%N >> \"$CAIRN_ROOT/var/app/runs\""
deps = ["file:/etc/app/app.conf"]

[[node]]
kind = "health"
name = "marker-present"
probe = "command"
run = "test -s \"$CAIRN_ROOT/var/app/runs\""
retries = 3
interval_seconds = 1
deps = ["command:marker"]
"#;

impl AppCluster {
    /// Hosts on this machine, reached with the local transport.
    pub fn local(names: &[&str]) -> Self {
        let hosts = names
            .iter()
            .map(|name| TestHost {
                name: name.to_string(),
                transport: "local",
                address: "127.0.0.1".to_string(),
                port: Some(22),
            })
            .collect();
        Self::new(hosts, Vec::new())
    }

    /// One host per sshd of the fixture, and `down` more whose address nothing listens on.
    pub fn over_ssh(fixture: &SshFixture, down: &[(&str, &str)]) -> Self {
        let mut hosts: Vec<TestHost> = fixture
            .servers
            .iter()
            .enumerate()
            .map(|(index, server)| TestHost {
                name: format!("host{}", index + 1),
                transport: "ssh",
                address: server.address.clone(),
                port: Some(server.port),
            })
            .collect();
        for (name, address) in down {
            hosts.push(TestHost {
                name: name.to_string(),
                transport: "ssh",
                address: address.to_string(),
                port: Some(crate::support::free_ports::free_port(address)),
            });
        }
        Self::new(hosts, fixture.arguments())
    }

    /// Hosts named in the spec by aliases of an SSH configuration (`(name, alias)`),
    /// without a port: `ssh_config` beside the spec says how each is reached. The
    /// fixture's key and known_hosts are passed, its key only through the configuration.
    pub fn through_ssh_config(
        fixture: &SshFixture,
        hosts: &[(&str, &str)],
        ssh_config: &str,
    ) -> Self {
        let hosts = hosts
            .iter()
            .map(|(name, alias)| TestHost {
                name: name.to_string(),
                transport: "ssh",
                address: alias.to_string(),
                port: None,
            })
            .collect();
        let connection = vec![
            "--known-hosts".to_string(),
            fixture.known_hosts().display().to_string(),
            "--ssh-config".to_string(),
            "ssh_config".to_string(),
        ];
        let cluster = Self::new(hosts, connection);
        cluster.sandbox.write("ssh_config", ssh_config);
        cluster
    }

    fn new(hosts: Vec<TestHost>, connection: Vec<String>) -> Self {
        let sandbox = Sandbox::new();
        sandbox
            .write("modules/app/module.toml", MODULE)
            .write(
                "modules/app/app.conf.j2",
                "greeting = {{ app.greeting }} from {{ host.name }}\ntoken = {{ app.token }}\n",
            )
            .write("secrets/token", "the-token-value\n")
            .write("secrets/fingerprint.key", "test-fingerprint-key\n");
        let cluster = Self {
            sandbox,
            hosts,
            connection,
            environment: Vec::new(),
        };
        cluster.write_spec();
        cluster
    }

    pub fn write_spec(&self) {
        let mut spec = String::from(
            "[cluster]\nname = \"apptest\"\ndomain = \"apptest.example\"\nmodules = [\"modules\"]\n\
             exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\nfingerprint_key = { file = \"secrets/fingerprint.key\" }\n\n",
        );
        for host in &self.hosts {
            let port = host
                .port
                .map(|port| format!("port = {port}\n"))
                .unwrap_or_default();
            spec.push_str(&format!(
                "[hosts.{name}]\naddress = \"{address}\"\n{port}transport = \"{transport}\"\nroot = \"{root}\"\nroles = [\"app\"]\n\n",
                name = host.name,
                address = host.address,
                transport = host.transport,
                root = self.root(&host.name).display(),
            ));
        }
        spec.push_str(
            "[preflight]\nfilesystem_paths = []\nmin_free_disk = { \"/\" = \"1MiB\" }\n\n\
             [app]\ntoken = { file = \"secrets/token\" }\n",
        );
        self.sandbox.write("cluster.toml", &spec);
    }

    /// The folder a host's files live under.
    pub fn root(&self, host: &str) -> PathBuf {
        self.sandbox.path().join("hosts").join(host)
    }

    /// A file of a host, by its path on the host.
    pub fn host_file(&self, host: &str, path: &str) -> PathBuf {
        self.root(host).join(path.trim_start_matches('/'))
    }

    pub fn compile(&self) {
        self.sandbox.compile().success();
    }

    /// `cairn apply cluster.lock --json`, and the JSON it printed.
    pub fn apply(&self) -> (Outcome, serde_json::Value) {
        self.apply_with(&[])
    }

    /// `cairn apply cluster.lock --json` with more arguments, and the JSON it printed.
    pub fn apply_with(&self, arguments: &[&str]) -> (Outcome, serde_json::Value) {
        let outcome = self
            .cairn()
            .args(["apply", "cluster.lock", "--json"])
            .args(arguments)
            .args(&self.connection)
            .run();
        let report = serde_json::from_str(&outcome.stdout).unwrap_or(serde_json::Value::Null);
        (outcome, report)
    }

    /// `cairn`, run inside the sandbox with the cluster's environment.
    fn cairn(&self) -> Cairn {
        self.environment.iter().fold(
            cairn().current_dir(self.sandbox.path()),
            |command, (key, value)| command.env(key, value),
        )
    }

    /// `cairn plan cluster.lock --json`.
    pub fn plan(&self) -> serde_json::Value {
        self.cairn()
            .args(["plan", "cluster.lock", "--json"])
            .args(&self.connection)
            .run()
            .success()
            .json()
    }
}

/// The names of a host's nodes in a report's `field` (`ran`, `skipped`), without the host.
pub fn names(report: &serde_json::Value, host: &str, field: &str) -> Vec<String> {
    report["hosts"][host][field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} for {host} in {report}"))
        .iter()
        .map(|name| {
            let name = name.as_str().or_else(|| name["name"].as_str()).unwrap();
            name.split_once(':').unwrap().1.to_string()
        })
        .collect()
}

/// The nodes that ran on a host, checks left out (they run every time).
pub fn ran_besides_checks(report: &serde_json::Value, host: &str) -> Vec<String> {
    names(report, host, "ran")
        .into_iter()
        .filter(|name| !name.starts_with("check:"))
        .collect()
}
