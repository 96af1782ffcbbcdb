//! What the end-to-end tests share: the fluent harness of this file (a `cairn` run and
//! its outcome, a sandbox to compile in), and a module per fixture: real sshd servers,
//! network namespaces, whole systemd machines, Debian repositories, HTTP servers, base
//! images, this machine's apt and users.

pub mod app_cluster;
pub mod app_cluster_checks;
pub mod busybox_image;
pub mod debian_repository;
pub mod download_server;
pub mod free_ports;
pub mod mid_command_cut;
pub mod namespace_container;
pub mod network_namespaces;
pub mod private_apt;
pub mod silent_network;
pub mod ssh_fixture;
pub mod sudo_users;
pub mod systemd_host;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root.
pub fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `command`, which must start and succeed (`what` names it in the failure: the
/// program and its arguments, say); its output.
pub fn run_successfully(command: &mut Command, what: &str) -> std::process::Output {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{what} does not run: {error}"));
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The images the platform's modules build, by name.
pub const PLATFORM_IMAGES: [&str; 7] = [
    "console",
    "haproxy",
    "keepalived",
    "mysql",
    "registry",
    "repository",
    "zookeeper",
];

/// A `cairn` invocation being built.
pub struct Cairn {
    command: Command,
    description: String,
}

pub fn cairn() -> Cairn {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cairn"));
    command.env_remove("CAIRN_TEST_SECRET");
    Cairn {
        command,
        description: "cairn".to_string(),
    }
}

impl Cairn {
    pub fn arg(mut self, argument: impl AsRef<std::ffi::OsStr>) -> Self {
        self.description.push(' ');
        self.description
            .push_str(&argument.as_ref().to_string_lossy());
        self.command.arg(argument);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(
        mut self,
        arguments: I,
    ) -> Self {
        for argument in arguments {
            self = self.arg(argument);
        }
        self
    }

    pub fn current_dir(mut self, directory: impl AsRef<Path>) -> Self {
        self.command.current_dir(directory);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    /// Starts cairn without waiting, its output captured (`wait_with_output` reads it).
    pub fn spawn_capturing(mut self) -> std::process::Child {
        self.command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("cairn starts")
    }

    /// Starts cairn without waiting, its output dropped.
    pub fn spawn_silenced(mut self) -> std::process::Child {
        self.command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("cairn starts")
    }

    pub fn run(mut self) -> Outcome {
        let output = self.command.output().expect("cairn runs");
        Outcome {
            description: self.description,
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// What a `cairn` run did.
#[derive(Debug)]
pub struct Outcome {
    pub description: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn success(self) -> Self {
        self.code(0)
    }

    pub fn code(self, expected: i32) -> Self {
        assert_eq!(
            self.code,
            Some(expected),
            "`{}` exited with {:?}, expected {expected}\n--- stdout\n{}\n--- stderr\n{}",
            self.description,
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn stderr_has(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "`{}`: stderr lacks {text:?}\n--- stderr\n{}",
            self.description,
            self.stderr
        );
        self
    }

    /// Its stderr does not hold `text` (a secret, say).
    pub fn stderr_lacks(self, text: &str) -> Self {
        assert!(
            !self.stderr.contains(text),
            "`{}`: stderr holds {text:?}\n--- stderr\n{}",
            self.description,
            self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).expect("stdout is JSON")
    }
}

/// A temporary folder to compile in.
pub struct Sandbox {
    /// Removed with the sandbox.
    _directory: tempfile::TempDir,
    /// The folder the sandbox works in: the temporary folder, or an example's within it.
    folder: PathBuf,
}

impl Sandbox {
    pub fn new() -> Self {
        let directory = tempfile::tempdir().expect("a temporary folder");
        let folder = directory.path().to_path_buf();
        Self {
            _directory: directory,
            folder,
        }
    }

    /// A sandbox working in a copy of `examples/<name>`, beside a copy of every other
    /// example's folder (the examples share `examples/modules`), without what applying an
    /// example leaves beside it (a sandbox's hosts, a lab's machines: both ignored by git).
    pub fn with_example(name: &str) -> Self {
        let directory = tempfile::tempdir().expect("a temporary folder");
        for example in std::fs::read_dir(repository().join("examples")).expect("the examples") {
            let example = example.expect("an example").path();
            let target = directory.path().join(example.file_name().expect("a name"));
            for entry in std::fs::read_dir(&example).expect("an example's folder") {
                let entry = entry.expect("an entry");
                let file_name = entry.file_name();
                if file_name == "sandbox" || file_name == "lab" {
                    continue;
                }
                if entry.file_type().expect("a type").is_dir() {
                    copy_tree(&entry.path(), &target.join(&file_name));
                } else {
                    std::fs::create_dir_all(&target).expect("a folder");
                    std::fs::copy(entry.path(), target.join(&file_name)).expect("a copy");
                }
            }
        }
        let folder = directory.path().join(name);
        Self {
            _directory: directory,
            folder,
        }
    }

    pub fn path(&self) -> &Path {
        &self.folder
    }

    pub fn write(&self, relative: &str, text: &str) -> &Self {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
        std::fs::write(path, text).expect("a written file");
        self
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).expect("a readable file")
    }

    /// Replaces every `from` by `to` in the file at `relative`, which must hold `from`.
    pub fn replace(&self, relative: &str, from: &str, to: &str) {
        self.edit(relative, |text| text.replace(from, to));
    }

    pub fn edit(&self, relative: &str, edit: impl FnOnce(String) -> String) {
        let text = self.read(relative);
        let edited = edit(text.clone());
        assert_ne!(text, edited, "the edit of {relative} changed nothing");
        self.write(relative, &edited);
    }

    /// `cairn ARGUMENTS`, run inside the sandbox.
    pub fn cairn(&self, arguments: &[&str]) -> Outcome {
        cairn().current_dir(self.path()).args(arguments).run()
    }

    /// `cairn compile cluster.toml`, run inside the sandbox.
    pub fn compile(&self) -> Outcome {
        self.cairn(&["compile", "cluster.toml"])
    }

    /// `cairn show cluster.lock --json`: every node of the sandbox's lockfile.
    pub fn show_json(&self) -> serde_json::Value {
        cairn()
            .current_dir(self.path())
            .args(["show", "cluster.lock", "--json"])
            .run()
            .success()
            .json()
    }

    /// `cairn apply cluster.toml --skip-kind image,container`, which must succeed: every
    /// file node written under its host's sandbox folder, secrets substituted; images and
    /// containers (even those whose image an earlier test built) held back.
    pub fn apply_files(&self) {
        cairn()
            .current_dir(self.path())
            .args(["apply", "cluster.toml", "--skip-kind", "image,container"])
            .run()
            .success();
    }

    /// What each node of the sandbox's lockfile is ordered after (waits for, outside its
    /// id), by name.
    pub fn ordered_after(&self) -> BTreeMap<String, Vec<String>> {
        self.show_json()
            .as_array()
            .expect("an array")
            .iter()
            .map(|node| {
                let names = node["ordered_after"]
                    .as_array()
                    .expect("ordered_after")
                    .iter()
                    .map(|name| name.as_str().expect("a name").to_string())
                    .collect();
                (node["name"].as_str().expect("a name").to_string(), names)
            })
            .collect()
    }

    /// Every node of the sandbox's lockfile, by name, with its id and dependencies.
    pub fn nodes(&self) -> BTreeMap<String, (String, Vec<String>)> {
        self.show_json()
            .as_array()
            .expect("an array")
            .iter()
            .map(|node| {
                let deps = node["deps"]
                    .as_array()
                    .expect("deps")
                    .iter()
                    .map(|dependency| dependency.as_str().expect("a name").to_string())
                    .collect();
                (
                    node["name"].as_str().expect("a name").to_string(),
                    (node["id"].as_str().expect("an id").to_string(), deps),
                )
            })
            .collect()
    }
}

/// The named nodes and everything that depends on them, directly or not.
pub fn with_dependants(
    nodes: &BTreeMap<String, (String, Vec<String>)>,
    roots: &[&str],
) -> BTreeSet<String> {
    let mut found: BTreeSet<String> = roots.iter().map(|root| root.to_string()).collect();
    loop {
        let before = found.len();
        for (name, (_, deps)) in nodes {
            if deps.iter().any(|dependency| found.contains(dependency)) {
                found.insert(name.clone());
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

/// The names whose ids differ between two lockfiles (nodes in both).
pub fn changed_ids(
    before: &BTreeMap<String, (String, Vec<String>)>,
    after: &BTreeMap<String, (String, Vec<String>)>,
) -> BTreeSet<String> {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "the same nodes before and after"
    );
    before
        .iter()
        .filter(|(name, (id, _))| after[*name].0 != *id)
        .map(|(name, _)| name.clone())
        .collect()
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a readable folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("a copy");
        }
    }
}

/// A small valid spec: one master, the required sections.
pub const MINIMAL_SPEC: &str = r#"[cluster]
name = "test"
domain = "test.example"
exclude_modules = ["consul", "mesos", "marathon", "cadvisor"]
[hosts.node1]
address = "127.0.0.1"
port = 22
roles = ["master"]
id = 1

[repository]
url = "http://127.0.0.1:8080/debian"

[registry]
address = "127.0.0.1:5000"

[ntp]
servers = ["127.0.0.1"]
"#;

/// The node `name` among `nodes` (`cairn show --json`).
pub fn node_named<'a>(nodes: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    nodes
        .as_array()
        .expect("an array of nodes")
        .iter()
        .find(|node| node["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in the lockfile"))
}

/// The rendered content of the file node `name` among `nodes` (`cairn show --json`).
pub fn file_content(nodes: &serde_json::Value, name: &str) -> String {
    node_named(nodes, name)["content"]
        .as_str()
        .expect("a file's content")
        .to_string()
}

/// `spec` with the operator's own modules folder, `modules/` beside it, in [cluster].
pub fn with_spec_modules(spec: &str) -> String {
    spec.replace(
        "domain = \"test.example\"\n",
        "domain = \"test.example\"\nmodules = [\"modules\"]\n",
    )
}
