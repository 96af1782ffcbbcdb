//! Runs a container node of a lockfile the way the Docker engine would, on a host of a
//! [`PrivateNetwork`], before cairn builds its images: the programs are this machine's own
//! (installed from Debian, as the image's packages are), the image's rendered files (its
//! entrypoint script) are laid in place, the node's volumes are bind-mounted from the
//! host's sandbox, its environment is set (secrets resolved by the test), and its
//! entrypoint runs. So the real programs run on exactly what cairn rendered.
//!
//! Isolation: a network namespace of its own (its host's), a mount namespace in which
//! `/etc`, `/var` and `/usr/local` are copy-on-write overlays (nothing lands on this
//! machine) and `/run`, `/tmp`, `/dev/shm` fresh tmpfs, and a PID namespace whose first
//! process dies with the test's handle, taking every process of the container along.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use crate::support::network_namespaces::NetworkHost;

/// A running container; stopped (every process of it) when dropped.
pub struct NamespaceContainer {
    child: Child,
    /// What the container printed (stdout and stderr).
    pub log: PathBuf,
    _work: tempfile::TempDir,
}

impl Drop for NamespaceContainer {
    fn drop(&mut self) {
        // The namespace's first process dies, and with it every other one of its PID
        // namespace. `unshare --kill-child` alone is not enough: the kernel forgets the
        // signal it asked for when the process changes its user (mariadbd --user=mysql).
        // So the first process is killed here; `unshare` reaps it, once the namespace is
        // empty, and ends.
        let unshare = self.child.id();
        let children = format!("/proc/{unshare}/task/{unshare}/children");
        let first: Vec<String> = std::fs::read_to_string(children)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let killed = !first.is_empty()
            && std::process::Command::new("kill")
                .arg("-KILL")
                .args(&first)
                .status()
                .is_ok_and(|status| status.success());
        if !killed {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl NamespaceContainer {
    /// Starts the container node `host:container:name` of `nodes` (`cairn show --json`),
    /// whose host's files cairn applied under `host_root`, inside `network_host`.
    /// `secrets` gives the value of each secret the environment names.
    pub fn start(
        nodes: &serde_json::Value,
        host: &str,
        name: &str,
        host_root: &Path,
        network_host: &NetworkHost,
        secrets: &BTreeMap<String, String>,
    ) -> Self {
        let find = |node_name: &str| {
            nodes
                .as_array()
                .expect("an array of nodes")
                .iter()
                .find(|node| node["name"] == node_name)
                .unwrap_or_else(|| panic!("{node_name} is not in the lockfile"))
                .clone()
        };
        let container = find(&format!("{host}:container:{name}"))["inputs"].clone();
        let image_name = container["image"].as_str().expect("the container's image");
        let image = find(&format!("cluster:image:{image_name}"))["inputs"].clone();

        let work = tempfile::tempdir().expect("a temporary folder");
        let folder = work.path();
        let mut script = String::from("set -eu\n");
        // Copy-on-write views of the machine's folders, and fresh scratch space.
        for (index, lower) in ["/etc", "/var", "/usr/local"].iter().enumerate() {
            let upper = folder.join(format!("upper{index}"));
            let scratch = folder.join(format!("scratch{index}"));
            std::fs::create_dir_all(&upper).expect("an overlay folder");
            std::fs::create_dir_all(&scratch).expect("an overlay folder");
            script.push_str(&format!(
                "mount -t overlay overlay -o lowerdir={lower},upperdir={},workdir={} {lower}\n",
                upper.display(),
                scratch.display()
            ));
        }
        for scratch in ["/run", "/dev/shm"] {
            script.push_str(&format!("mount -t tmpfs tmpfs {scratch}\n"));
        }
        // The image's files, with their modes.
        for (index, file) in image["files"]
            .as_array()
            .expect("the image's files")
            .iter()
            .enumerate()
        {
            let staged = folder.join(format!("image-file-{index}"));
            std::fs::write(&staged, file["content"].as_str().expect("text")).expect("a file");
            script.push_str(&format!(
                "install -D -m {} {} {}\n",
                file["mode"].as_str().expect("a mode"),
                staged.display(),
                file["path"].as_str().expect("a path")
            ));
        }
        // The volumes: the host's side under its sandbox root.
        for volume in container["volumes"].as_array().into_iter().flatten() {
            let volume = volume.as_str().expect("a volume");
            let mut parts = volume.split(':');
            let (source, target) = (parts.next().unwrap(), parts.next().expect("a target"));
            let read_only = parts.next() == Some("ro");
            let source = host_root.join(source.trim_start_matches('/'));
            if !source.exists() {
                // As Docker's `--volume` does: a missing source becomes a folder of root's.
                std::fs::create_dir_all(&source).expect("the volume's folder");
            }
            if source.is_dir() {
                script.push_str(&format!("mkdir -p {target}\n"));
            } else {
                script.push_str(&format!(
                    "mkdir -p \"$(dirname {target})\" && touch {target}\n"
                ));
            }
            script.push_str(&format!("mount --bind {} {target}\n", source.display()));
            if read_only {
                script.push_str(&format!("mount -o remount,bind,ro {target}\n"));
            }
        }
        // Last: the staged files and the sandbox live under this machine's /tmp.
        script.push_str("mount -t tmpfs tmpfs /tmp\n");
        let entrypoint: Vec<String> = image["entrypoint"]
            .as_array()
            .expect("an entrypoint")
            .iter()
            .chain(container["args"].as_array().into_iter().flatten())
            .map(|word| format!("'{}'", word.as_str().expect("a word")))
            .collect();
        script.push_str(&format!("exec {}\n", entrypoint.join(" ")));

        // The environment: the image's, then the container's, secrets resolved; given to
        // the process's environment, never to its arguments.
        let mut environment: BTreeMap<String, String> = BTreeMap::new();
        environment.insert(
            "PATH".to_string(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        );
        for source in [&image["env"], &container["env"]] {
            for (key, value) in source.as_object().into_iter().flatten() {
                let value = match value {
                    serde_json::Value::String(text) => text.clone(),
                    other => {
                        let secret = other["secret"].as_str().expect("a secret reference");
                        secrets
                            .get(secret)
                            .unwrap_or_else(|| panic!("the test gives no value for {secret}"))
                            .clone()
                    }
                };
                environment.insert(key.clone(), value);
            }
        }
        Self::run(network_host, &script, &environment, work)
    }

    /// Runs `script` with `sh` in `network_host`'s namespace, in a mount and PID namespace
    /// of its own, with exactly `environment`; `work` (a folder the script may read, and
    /// where the log goes) lives as long as the container.
    pub fn run(
        network_host: &NetworkHost,
        script: &str,
        environment: &BTreeMap<String, String>,
        work: tempfile::TempDir,
    ) -> Self {
        let log = work.path().join("container.log");
        // Appended to, by every writer: a program that opens /dev/stdout anew (nginx's
        // access log) gets a file position of its own, and would overwrite what stderr wrote.
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("a log file");
        let child = network_host
            .command("unshare")
            .args(["--mount", "--pid", "--fork", "--kill-child", "--mount-proc"])
            .args(["sh", "-c", script])
            .env_clear()
            .envs(environment)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("a log file"))
            .stderr(log_file)
            .spawn()
            .expect("unshare runs (util-linux)");
        Self {
            child,
            log,
            _work: work,
        }
    }

    /// What the container printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether its first process still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// Runs `program` with `arguments` inside `network_host`'s namespace; returns its
/// status and stdout.
pub fn run_in(network_host: &NetworkHost, program: &str, arguments: &[&str]) -> (bool, String) {
    let output = network_host
        .command(program)
        .args(arguments)
        .output()
        .unwrap_or_else(|error| panic!("{program} runs: {error}"));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// Polls `probe` every 200 ms until it succeeds and returns its value; fails after `limit`,
/// or as soon as one of `containers` has exited, with the last error and every container's
/// log.
pub fn wait_for<T>(
    what: &str,
    limit: std::time::Duration,
    containers: &mut [&mut NamespaceContainer],
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let start = std::time::Instant::now();
    loop {
        let last_error = match probe() {
            Ok(value) => return value,
            Err(error) => error,
        };
        let exited = containers.iter_mut().any(|container| !container.running());
        if exited || start.elapsed() > limit {
            let logs: String = containers
                .iter()
                .enumerate()
                .map(|(index, container)| {
                    format!("\n--- container {index}'s log\n{}", container.output())
                })
                .collect();
            panic!(
                "{what}: not after {:.1} s{}; last: {last_error}{logs}",
                start.elapsed().as_secs_f64(),
                if exited { " (a container exited)" } else { "" },
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
