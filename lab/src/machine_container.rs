//! A machine: a container of this computer's Docker engine with systemd as PID 1, room for
//! a Docker engine of its own, and its address on the lab's network.
//!
//! `--privileged` is not used (an engine without CAP_SYS_RESOURCE refuses it, and it
//! would hand the machine this computer's devices). Instead: every capability but
//! SYS_RESOURCE and SYS_TIME (so NET_ADMIN, for keepalived's VIP and the inner engine's
//! bridge, and SYS_ADMIN, for its mounts; never the right to set the clock, which is this
//! computer's: a machine's chronyd runs with `-x`, `[ntp] set_clock = false`), no seccomp or AppArmor profile and no masked /proc paths
//! (the inner engine's runc needs them), a cgroup namespace of its own, tmpfs on /run and
//! /run/lock as systemd wants, and /var/lib/docker bound from the lab's folder on this
//! computer's disk, so the inner engine stores images with overlay2.
//!
//! The container's command is a short boot script, then `exec` systemd:
//! - Docker makes /etc/hostname, /etc/hosts and /etc/resolv.conf bind mounts of its own,
//!   which a rename cannot replace (EBUSY), and cairn writes files by rename: the script
//!   unmounts them, so the machine's own files (written before its first boot) are seen.
//! - Docker mounts the machine's cgroup hierarchies read-only; systemd and the inner
//!   engine make cgroups under them, so the script remounts them read-write (a bind
//!   remount: only this mount's flag). They are the machine's own subtree (its cgroup
//!   namespace), so what the inner engine makes nests under the machine's cgroup. The
//!   machine's tmpfs at /sys/fs/cgroup is its own too: systemd remounts it read-only, which
//!   would remount this computer's if the host's hierarchy were bound in instead.
//! - Docker gives the machine a default route through the gateway even on an internal
//!   network (and drops what it forwards there): the script removes it, so the machine has
//!   no route outward at all, and anything outside the lab's network fails at once.

use crate::docker_cli::DockerCli;
use crate::lab_error::LabError;
use crate::lab_folder::LabFolder;
use crate::lab_state::{LabState, MachineRecord};

/// What the container runs: `sh -c` of this, which ends in systemd.
pub const BOOT_SCRIPT: &str = "\
# cairn lab: the machine's own /etc files instead of Docker's bind mounts, which a rename cannot replace.
for file in /etc/hostname /etc/hosts /etc/resolv.conf; do
    if mountpoint -q \"$file\"; then umount \"$file\"; fi
done
# The machine's cgroups, read-write for systemd and the machine's own Docker engine.
mount -o remount,bind,rw /sys/fs/cgroup
for hierarchy in /sys/fs/cgroup/*; do
    if mountpoint -q \"$hierarchy\"; then mount -o remount,bind,rw \"$hierarchy\"; fi
done
# No route outward: Docker gives the machine a default route even on an internal network,
# where what it leads to is dropped; without it, a machine knows at once that it cannot reach.
ip route del default 2>/dev/null || true
exec /lib/systemd/systemd
";

/// Seconds `docker stop` gives systemd to halt the machine (its stop signal is SIGRTMIN+3,
/// systemd's halt; SIGTERM would make it re-execute itself) before it kills it.
const STOP_SECONDS: &str = "30";

/// Where a machine's container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Running,
    Stopped,
    Missing,
}

/// A machine's container, by the lab's record of it.
#[derive(Debug, Clone, Copy)]
pub struct MachineContainer<'a> {
    pub machine: &'a MachineRecord,
    pub state: &'a LabState,
}

impl MachineContainer<'_> {
    /// The container's name for machine `machine` of lab `lab`.
    pub fn name_of(lab: &str, machine: &str) -> String {
        format!("{lab}-{machine}")
    }

    /// Whether the container runs, is stopped or does not exist. A container of that name
    /// that the lab did not make (its labels say another lab's, or none) is an error: the
    /// lab never touches it.
    pub fn state(&self, docker: &DockerCli) -> Result<ContainerState, LabError> {
        let name = &self.machine.container;
        let format = "{{index .Config.Labels \"cairn.lab.folder\"}}\n{{.State.Running}}";
        let Some(inspected) =
            docker.inspect(&["container", "inspect", "--format", format, name])?
        else {
            return Ok(ContainerState::Missing);
        };
        let mut lines = inspected.lines();
        let folder = lines.next().unwrap_or_default();
        if folder != self.state.folder.display().to_string() {
            return Err(LabError::ContainerNotTheLabs {
                container: name.clone(),
                folder: self.state.folder.clone(),
            });
        }
        Ok(match lines.next() {
            Some("true") => ContainerState::Running,
            _ => ContainerState::Stopped,
        })
    }

    /// Creates the container (not started), with the machine's files in it.
    pub fn create(
        &self,
        docker: &DockerCli,
        folder: &LabFolder,
        files: &[u8],
    ) -> Result<(), LabError> {
        let machine = self.machine;
        // A fresh machine's engine has no data: what a removed container of this machine
        // left is not its.
        let docker_data = folder.docker_data(&machine.name);
        if let Err(error) = std::fs::remove_dir_all(&docker_data)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            return Err(LabError::Write {
                path: docker_data,
                error,
            });
        }
        std::fs::create_dir_all(&docker_data).map_err(|error| LabError::Write {
            path: docker_data.clone(),
            error,
        })?;
        let address = machine.address.to_string();
        let mount = format!(
            "type=bind,source={},target=/var/lib/docker",
            docker_data.display()
        );
        let mut arguments = vec![
            "create",
            "--name",
            &machine.container,
            "--hostname",
            &machine.name,
            "--network",
            &self.state.network.name,
            "--ip",
            &address,
            "--cap-add",
            "ALL",
            "--cap-drop",
            "SYS_RESOURCE",
            "--cap-drop",
            "SYS_TIME",
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "apparmor=unconfined",
            "--security-opt",
            "systempaths=unconfined",
            "--cgroupns",
            "private",
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/run/lock",
            "--mount",
            &mount,
            "--stop-signal",
            "SIGRTMIN+3",
            "--stop-timeout",
            STOP_SECONDS,
        ];
        let labels = self.state.labels();
        let machine_label = format!("cairn.lab.machine={}", machine.name);
        for label in labels.iter().chain([&machine_label]) {
            arguments.extend(["--label", label.as_str()]);
        }
        arguments.extend([self.state.image.as_str(), "/bin/sh", "-c", BOOT_SCRIPT]);
        docker.run(&arguments)?;
        let destination = format!("{}:/", machine.container);
        docker
            .run_with_input(&["cp", "-", &destination], files)
            .map(|_| ())
    }

    pub fn start(&self, docker: &DockerCli) -> Result<(), LabError> {
        docker.run(&["start", &self.machine.container]).map(|_| ())
    }

    /// Halts the machine (systemd's shutdown, then the container stops).
    pub fn stop(&self, docker: &DockerCli) -> Result<(), LabError> {
        docker
            .run(&["stop", "--time", STOP_SECONDS, &self.machine.container])
            .map(|_| ())
    }

    /// The last lines of what would tell why the machine's sshd does not answer: the
    /// container's state and output, and, where it runs, the machine's journal of sshd and
    /// its failed units.
    pub fn diagnostics(&self, docker: &DockerCli) -> String {
        let container = &self.machine.container;
        let mut text = String::new();
        let state = docker
            .inspect(&[
                "container",
                "inspect",
                "--format",
                "{{.State.Status}} (exit code {{.State.ExitCode}}) {{.State.Error}}",
                container,
            ])
            .ok()
            .flatten()
            .unwrap_or_else(|| "missing".to_string());
        text.push_str(&format!("container {container}: {state}\n"));
        let logs = std::process::Command::new("docker")
            .args(["logs", "--tail", "15", container])
            .output();
        if let Ok(logs) = logs {
            let output = format!(
                "{}{}",
                String::from_utf8_lossy(&logs.stdout),
                String::from_utf8_lossy(&logs.stderr)
            );
            text.push_str(&format!(
                "docker logs --tail 15 {container}:\n{}\n",
                output.trim_end()
            ));
        }
        let journal = "journalctl -u ssh --no-pager -n 15; systemctl is-system-running; systemctl --failed --no-legend";
        if let Ok(Some(output)) = docker.inspect(&["exec", container, "sh", "-c", journal]) {
            text.push_str(&format!(
                "journalctl -u ssh -n 15, the machine's state and failed units:\n{output}\n"
            ));
        }
        text
    }
}
