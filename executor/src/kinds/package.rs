//! Package nodes: Debian packages installed with apt from the host's configured sources
//! (the cluster's repository, which host-base makes the only one).

use std::collections::BTreeSet;

use cairn_lockfiles::{HostPackagePins, NodeSpec, PackageNode, Scope};

use crate::host_paths::HostPaths;
use crate::kinds::{NodeContext, NodeError};
use crate::shell::quote;

/// apt's options for every run: no questions, wait for a dpkg lock another program holds
/// (unattended-upgrades) instead of failing, and keep the host's edited configuration
/// files: cairn writes its own configs as file nodes after the package.
const APT_OPTIONS: &str = "-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";

/// The start of every package script: one package action at a time on a host (apt and
/// dpkg take exclusive locks; waiting on cairn's own lock first keeps two nodes of one
/// apply from failing on each other's).
fn package_prelude(paths: &HostPaths) -> String {
    format!(
        "set -eu\n{prelude}export DEBIAN_FRONTEND=noninteractive\nexec 7>>{lock} && flock 7 || {{ echo 'cannot take the packages lock' >&2; exit 1; }}\n",
        prelude = paths.action_prelude(),
        lock = quote(&paths.path("/var/lib/cairn/packages.lock")),
    )
}

/// Installs the node's packages (pinned versions exactly, downgrading if the lockfile
/// says so, as a rollback does). The package lists are refreshed once per apply, the first
/// time a package node runs on the host, and an unreachable repository is an error rather
/// than apt's warning. The entry records which packages this node installed (those the
/// host did not have), so that they are removed when no node wants them; packages this
/// node installed before and no node of the host wants now are removed here.
pub fn apply(package: &PackageNode, context: &mut NodeContext<'_>) -> Result<String, NodeError> {
    let names: BTreeSet<String> = package
        .installed_packages()
        .into_iter()
        .map(|requirement| requirement.name)
        .collect();
    let previously_installed: Vec<String> = context
        .previous
        .map(|entry| entry.installed.clone())
        .unwrap_or_default();
    let kept: Vec<&String> = previously_installed
        .iter()
        .filter(|name| names.contains(*name))
        .collect();
    let dropped: Vec<String> = previously_installed
        .iter()
        .filter(|name| !names.contains(*name))
        .cloned()
        .collect();
    let removable = if dropped.is_empty() {
        Vec::new()
    } else {
        let wanted = wanted_packages(context.lockfile, context.host);
        dropped
            .into_iter()
            .filter(|name| !wanted.contains(name))
            .collect()
    };

    let mut script = package_prelude(context.paths);
    if let Some(pins) = &package.pins {
        script.push_str(&assumed_check(pins));
    }
    script.push_str(&install_script(package, &names, &kept, context));
    if !removable.is_empty() {
        script.push_str(&remove_command(&removable));
    }
    script.push_str(
        &context
            .entry
            .record_script_with(context.paths, &[("installed", "cairn_installed")]),
    );
    let output = context.transport.run(&script, b"")?;
    if !output.success() {
        return Err(NodeError::Failed(format!(
            "installing {}: {}",
            package.packages.join(" "),
            output.failure_text()
        )));
    }
    let mut summary = match &package.pins {
        Some(pins) => format!(
            "installed {} ({} pinned packages)",
            package.packages.join(" "),
            pins.packages.len()
        ),
        None => format!("installed {}", package.packages.join(" ")),
    };
    if !removable.is_empty() {
        summary.push_str(&format!("; removed {}", removable.join(" ")));
    }
    Ok(summary)
}

/// Finishes what an interrupted dpkg left half done (an apply killed in the middle of an
/// install: apt refuses to go on until `dpkg --configure -a` ran), refreshes the package
/// lists (once per apply, the first time a package node runs on the host), notes which of
/// `names` the host lacks (`cairn_installed`, with `kept`: what this
/// node installed before and still wants), and installs the node's packages: the pinned
/// closure at its exact versions (downgrading if the lockfile says so, as a rollback
/// does), else the requested packages. An unreachable repository is an error rather than
/// apt's warning.
fn install_script(
    package: &PackageNode,
    names: &BTreeSet<String>,
    kept: &[&String],
    context: &NodeContext<'_>,
) -> String {
    let marker = quote(&context.paths.path("/var/lib/cairn/packages.refreshed"));
    let arguments = package.install_arguments();
    let install = if arguments.is_empty() {
        String::new()
    } else {
        format!(
            "apt-get {APT_OPTIONS} --no-install-recommends --allow-downgrades install -- {}\n",
            arguments
                .iter()
                .map(|argument| quote(argument))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    format!(
        "dpkg --configure -a --force-confdef --force-confold || {{ echo 'dpkg --configure -a failed: an interrupted install could not be finished' >&2; exit 1; }}\n\
         if [ \"$(cat {marker} 2>/dev/null)\" != {apply_id} ]; then\n\
         \x20   apt-get {APT_OPTIONS} --error-on=any update || {{ echo 'apt-get update failed: is the repository reachable from the host?' >&2; exit 1; }}\n\
         \x20   printf '%s\\n' {apply_id} > {marker}\n\
         fi\n\
         cairn_installed={kept}\n\
         for package in {names}; do\n\
         \x20   dpkg-query --show --showformat='${{db:Status-Abbrev}}\\n' -- \"$package\" 2>/dev/null | grep -q '^ii' || cairn_installed=\"$cairn_installed $package\"\n\
         done\n\
         {install}",
        apply_id = quote(context.apply_id),
        kept = quote(
            &kept
                .iter()
                .map(|name| name.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        names = names
            .iter()
            .map(|name| quote(name))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Stops the script, naming them, where the host lacks packages of the base system the
/// pins assume it has (apt would otherwise look for them in a repository that holds only
/// the pins, and fail less clearly).
fn assumed_check(pins: &HostPackagePins) -> String {
    let names: Vec<String> = pins.assumed_names().map(quote).collect();
    if names.is_empty() {
        return String::new();
    }
    format!(
        "cairn_missing=\n\
         for package in {names}; do\n\
         \x20   dpkg-query --show --showformat='${{db:Status-Abbrev}}\\n' -- \"$package\" 2>/dev/null | grep -q '^ii' || cairn_missing=\"$cairn_missing $package\"\n\
         done\n\
         if [ -n \"$cairn_missing\" ]; then\n\
         \x20   echo \"the lockfile's pins assume the host has these packages of its base system ([packages] assume_installed), and it has not:$cairn_missing\" >&2\n\
         \x20   exit 1\n\
         fi\n",
        names = names.join(" "),
    )
}

/// Every package name a package node of `host` installs.
pub fn wanted_packages(lockfile: &cairn_lockfiles::Lockfile, host: &str) -> BTreeSet<String> {
    lockfile
        .nodes_of(&Scope::Host(host.into()))
        .iter()
        .filter_map(|node| match &*node.spec {
            NodeSpec::Package(package) => Some(package.installed_packages()),
            _ => None,
        })
        .flatten()
        .map(|requirement| requirement.name)
        .collect()
}

/// The shell command removing `packages` (their configuration files stay, as
/// `apt-get remove` leaves them; packages apt installed only as their dependencies stay
/// too: another package of the host may need them).
fn remove_command(packages: &[String]) -> String {
    format!(
        "apt-get {APT_OPTIONS} remove -- {}\n",
        packages
            .iter()
            .map(|name| quote(name))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// The script removing an orphaned package node's packages that no current node wants;
/// `None` when there is nothing to remove.
pub fn orphan_script(
    installed: &[String],
    wanted: &BTreeSet<String>,
    paths: &HostPaths,
) -> Option<(String, Vec<String>)> {
    let removable: Vec<String> = installed
        .iter()
        .filter(|name| !wanted.contains(*name))
        .cloned()
        .collect();
    if removable.is_empty() {
        return None;
    }
    let mut script = package_prelude(paths);
    script.push_str(&remove_command(&removable));
    Some((script, removable))
}
