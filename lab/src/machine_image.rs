//! The image every lab machine (and the tests' systemd hosts) starts from: a fresh Debian
//! server, as Debian's installer leaves one, and nothing of the platform.
//!
//! Nothing can be pulled where the lab is meant to run, so the image is made here, once per
//! engine: `debootstrap` from the mirror this computer's apt uses, then `docker import`.
//! The recipe, which the host-package pinning counts as what a fresh machine has:
//! - suite `bookworm`, debootstrap's default variant: every package of Priority `required`
//!   and `important` (what the installer gives a server: apt, iproute2, procps, ifupdown,
//!   nftables, cron, less, nano, ...);
//! - plus `systemd-sysv` (systemd as init) and `openssh-server`, as a server has;
//! - then: the SSH host keys, `/etc/machine-id`, `/etc/hostname` and `/etc/resolv.conf`
//!   emptied or removed (each machine gets its own before its first boot; debootstrap
//!   copied this computer's name and resolver), and the downloaded `.deb`s removed (apt's
//!   lists stay, as on an installed server);
//! - image config: `CMD /lib/systemd/systemd`, `ENV container=docker` (systemd's sign that
//!   it runs in a container). (`docker import` takes no `STOPSIGNAL`: the lab gives its
//!   containers systemd's halt signal itself.)
//!
//! No Docker, chrony or other platform package: the machines are what cairn installs onto.
//! The tag names the recipe; change the recipe, and bump `REVISION` where the tag does not
//! already change, and a new image is made.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::debian_mirror::debian_mirror;
use crate::docker_cli::DockerCli;
use crate::lab_error::LabError;

/// The Debian release.
pub const SUITE: &str = "bookworm";

/// debootstrap's variant: its default (Priority required and important), so no
/// `--variant`. Named in the tag.
pub const VARIANT: &str = "default";

/// The packages added to the variant's.
pub const INCLUDED_PACKAGES: [&str; 2] = ["systemd-sysv", "openssh-server"];

/// The revision of the steps after debootstrap.
const REVISION: u32 = 1;

/// Where debootstrap is.
const DEBOOTSTRAP: &str = "/usr/sbin/debootstrap";

/// A machine image present in the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineImage {
    pub tag: String,
    /// How long making it took, where this call made it.
    pub built_in: Option<Duration>,
}

impl MachineImage {
    /// The image's tag: it names the recipe.
    pub fn tag() -> String {
        format!(
            "cairn-lab/debian:{SUITE}-{VARIANT}-{}-r{REVISION}",
            INCLUDED_PACKAGES.join("-")
        )
    }

    /// The recipe in words, recorded on the image (`cairn.lab.recipe` label).
    pub fn recipe() -> String {
        format!(
            "debootstrap {SUITE}, variant {VARIANT} (Priority required and important), with {}; host keys, machine-id, hostname and resolv.conf emptied; downloaded .debs removed (revision {REVISION})",
            INCLUDED_PACKAGES.join(", ")
        )
    }

    /// The image, made unless the engine has it. Commands of one or several processes
    /// that want it at once wait on one lock: it is made once. `progress` hears what takes
    /// minutes before it starts.
    pub fn ensure(docker: &DockerCli, progress: &dyn Fn(&str)) -> Result<Self, LabError> {
        let tag = Self::tag();
        let lock_path = std::env::temp_dir().join("cairn-lab-machine-image.lock");
        let lock = File::create(&lock_path).map_err(|error| LabError::Write {
            path: lock_path.clone(),
            error,
        })?;
        lock.lock().map_err(|error| LabError::Write {
            path: lock_path,
            error,
        })?;
        if docker.succeeds(&["image", "inspect", "--format", ".", &tag])? {
            return Ok(Self {
                tag,
                built_in: None,
            });
        }
        if !Path::new(DEBOOTSTRAP).exists() {
            return Err(LabError::ToolMissing {
                tool: "debootstrap".to_string(),
                install: "Debian's debootstrap".to_string(),
            });
        }
        let started = Instant::now();
        let mirror = debian_mirror();
        progress(&format!(
            "making the machine image {tag} with debootstrap from {mirror} (once per engine; a few minutes)"
        ));
        let root = tempfile::tempdir().map_err(|error| LabError::Write {
            path: std::env::temp_dir(),
            error,
        })?;
        bootstrap(root.path(), &mirror)?;
        empty_machine_identity(root.path())?;
        import(root.path(), &tag)?;
        Ok(Self {
            tag,
            built_in: Some(started.elapsed()),
        })
    }
}

/// `debootstrap` of the recipe into `root`.
fn bootstrap(root: &Path, mirror: &str) -> Result<(), LabError> {
    let output = Command::new(DEBOOTSTRAP)
        .arg(format!("--include={}", INCLUDED_PACKAGES.join(",")))
        .arg(SUITE)
        .arg(root)
        .arg(mirror)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| LabError::ImageBuild {
            step: "debootstrap".to_string(),
            message: error.to_string(),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let log = std::fs::read_to_string(root.join("debootstrap/debootstrap.log")).unwrap_or_default();
    let text = format!(
        "{}{}{log}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let tail: Vec<&str> = text.lines().rev().take(15).collect();
    Err(LabError::ImageBuild {
        step: format!("debootstrap {SUITE} from {mirror}"),
        message: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    })
}

/// Removes what would make every machine the same one, or this computer: the SSH host
/// keys, the machine id, the name and resolver debootstrap copied; and the downloaded
/// packages.
fn empty_machine_identity(root: &Path) -> Result<(), LabError> {
    let remove_matching = |folder: &Path, keep: &dyn Fn(&str) -> bool| -> std::io::Result<()> {
        for entry in std::fs::read_dir(folder)? {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if !keep(&name) {
                std::fs::remove_file(&path)?;
            }
        }
        Ok(())
    };
    let step = |message: std::io::Error| LabError::ImageBuild {
        step: "emptying the machine's identity".to_string(),
        message: message.to_string(),
    };
    remove_matching(&root.join("etc/ssh"), &|name| {
        !name.starts_with("ssh_host_")
    })
    .map_err(step)?;
    remove_matching(&root.join("var/cache/apt/archives"), &|name| {
        !name.ends_with(".deb")
    })
    .map_err(step)?;
    for emptied in ["etc/machine-id", "etc/hostname", "etc/resolv.conf"] {
        std::fs::write(root.join(emptied), "").map_err(step)?;
    }
    Ok(())
}

/// `tar -c` of `root` into `docker import`, with the image's config.
fn import(root: &Path, tag: &str) -> Result<(), LabError> {
    let failure = |step: &str, message: String| LabError::ImageBuild {
        step: step.to_string(),
        message,
    };
    let errors = tempfile::tempfile().map_err(|error| failure("tar", error.to_string()))?;
    let tar_errors = errors
        .try_clone()
        .map_err(|error| failure("tar", error.to_string()))?;
    let mut tar = Command::new("tar")
        .args(["--numeric-owner", "-C"])
        .arg(root)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .stderr(Stdio::from(tar_errors))
        .spawn()
        .map_err(|error| failure("tar", error.to_string()))?;
    let archive = tar.stdout.take().expect("tar's standard output is piped");
    let label = format!("LABEL cairn.lab.recipe=\"{}\"", MachineImage::recipe());
    let imported = Command::new("docker")
        .args(["import", "--change", "CMD [\"/lib/systemd/systemd\"]"])
        .args(["--change", "ENV container=docker"])
        .args(["--change", &label, "-", tag])
        .stdin(Stdio::from(archive))
        .output()
        .map_err(|error| failure("docker import", error.to_string()))?;
    let tar_status = tar
        .wait()
        .map_err(|error| failure("tar", error.to_string()))?;
    // docker import first: where it fails, tar dies of the closed pipe, silently.
    if !imported.status.success() {
        return Err(failure(
            "docker import",
            String::from_utf8_lossy(&imported.stderr).trim().to_string(),
        ));
    }
    if !tar_status.success() {
        let mut errors = errors;
        let message = errors
            .seek(SeekFrom::Start(0))
            .and_then(|_| std::io::read_to_string(&errors))
            .unwrap_or_default();
        return Err(failure("tar", message));
    }
    Ok(())
}
