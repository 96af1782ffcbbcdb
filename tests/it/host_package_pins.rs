//! A host's packages pinned at compile time (`[packages] sources`) and installed exactly:
//! the closure of a package node's request, resolved on top of the base system the host is
//! assumed to have, each package at its pinned version, on a whole Debian machine (systemd,
//! apt, reached over SSH) from a repository the test builds and serves. The pins are kept
//! until `--update-pins`; a package at another version is drift; a host of another release
//! is refused before anything runs on it; a host without a package of the assumed base is
//! told which.

use cairn_lockfiles::{Lockfile, NodeName, NodeSpec};

use crate::support::app_cluster::ran_besides_checks;
use crate::support::debian_repository::{DebianPackage, DebianRepository};
use crate::support::systemd_host::{SystemdHost, test_repository_only_nodes};
use crate::support::{Outcome, Sandbox, cairn};

const MODULE: &str = concat!(
    r##"[module]
name = "tool"
description = "a host package from the cluster's repository"
roles = ["tool"]

[settings.tool.source]
type = "string"
doc = "The apt source line of the package repository."
"##,
    test_repository_only_nodes!("{{ tool.source }}\\n"),
    r##"
[[node]]
kind = "package"
name = "tool"
packages = ["cairn-tool"]
deps = ["file:/etc/apt/sources.list.d/cairn-test.list", "file:/etc/apt/sources.list"]
"##
);

/// The repository: `cairn-tool` needs `cairn-lib` and `cairn-core`, which is `Priority:
/// required` (part of every host's base system, as the test installs it beforehand).
const PACKAGES: [DebianPackage; 3] = [
    DebianPackage::new(
        "cairn-tool",
        "1.0",
        "amd64",
        "cairn-lib (>= 1.0), cairn-core",
    ),
    DebianPackage::new("cairn-lib", "1.0", "all", ""),
    DebianPackage::new("cairn-core", "1.0", "all", "").with_priority("required"),
];

struct PinnedMachine {
    host: SystemdHost,
    repository: DebianRepository,
    sandbox: Sandbox,
}

impl PinnedMachine {
    /// A systemd host on `address` with `cairn-core` installed (its base), the repository,
    /// and a spec pinning the host's packages from it.
    fn start(address: &str) -> PinnedMachine {
        let repository = DebianRepository::serve(&PACKAGES);
        let host = SystemdHost::start(address);
        let (installed, output) = host.shell(&format!(
            "echo 'deb [trusted=yes] {url} bookworm main' > /etc/apt/sources.list.d/base.list && \
             apt-get -q update >/dev/null 2>&1 && apt-get -q -y install cairn-core 2>&1 && \
             rm /etc/apt/sources.list.d/base.list",
            url = repository.url
        ));
        assert!(
            installed,
            "cairn-core did not install on the host: {output}"
        );
        let sandbox = Sandbox::new();
        sandbox.write("modules/tool/module.toml", MODULE).write(
            "cluster.toml",
            &format!(
                "[cluster]\nname = \"pinned\"\ndomain = \"pinned.test\"\nmodules = [\"modules\"]\n\
                 exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\n\
                 [hosts.machine]\naddress = \"{address}\"\nport = {port}\nroles = [\"tool\"]\n\n\
                 [preflight]\nfilesystem_paths = []\nmin_free_disk = {{ \"/\" = \"1MiB\" }}\n\n\
                 [tool]\nsource = \"deb [trusted=yes] {url} bookworm main\"\n\n\
                 [packages]\nsources = [\"{line}\"]\n",
                port = host.port,
                url = repository.url,
                line = repository.source_line(),
            ),
        );
        PinnedMachine {
            host,
            repository,
            sandbox,
        }
    }

    fn compile(&self, extra: &[&str]) -> Outcome {
        cairn()
            .current_dir(self.sandbox.path())
            .env(
                "XDG_CACHE_HOME",
                &self.sandbox.path().join("cache").display().to_string(),
            )
            .args(["compile", "cluster.toml"])
            .args(extra)
            .run()
    }

    fn apply(&self) -> (Outcome, serde_json::Value) {
        self.host.apply(&self.sandbox)
    }

    fn plan_text(&self) -> String {
        self.host.plan_text(&self.sandbox)
    }

    /// The package node's pins: `name=version` of each pinned package, and the assumed.
    fn pins(&self) -> (Vec<String>, Vec<String>) {
        let lockfile = Lockfile::read(&self.sandbox.path().join("cluster.lock")).expect("lockfile");
        let name: NodeName = "machine:package:tool".parse().expect("a node name");
        let NodeSpec::Package(package) = &*lockfile.node(&name).expect("the package node").spec
        else {
            panic!("not a package node");
        };
        let pins = package.pins.as_ref().expect("the node is pinned");
        assert_eq!(
            (pins.release.as_str(), pins.base.as_str()),
            ("bookworm", "required")
        );
        (pins.install_arguments(), pins.assumed.clone())
    }
}

#[test]
fn a_hosts_pinned_closure_installs_exactly_and_moves_only_with_update_pins() {
    let machine = PinnedMachine::start("127.0.30.1");
    machine.compile(&[]).success().stderr_has(
        "pinned the host packages of 1 request on bookworm's required base: cairn-tool (2)",
    );
    assert_eq!(
        machine.pins(),
        (
            vec!["cairn-lib=1.0".to_string(), "cairn-tool=1.0".to_string()],
            vec!["cairn-core=1.0".to_string()]
        ),
        "the closure less the base, and the base package it relies on"
    );
    let (outcome, report) = machine.apply();
    outcome.success();
    assert!(ran_besides_checks(&report, "machine").contains(&"package:tool".to_string()));
    assert_eq!(
        machine.host.package_version("cairn-tool").as_deref(),
        Some("1.0")
    );
    assert_eq!(
        machine.host.package_version("cairn-lib").as_deref(),
        Some("1.0")
    );
    let (outcome, report) = machine.apply();
    outcome.success();
    assert!(ran_besides_checks(&report, "machine").is_empty());

    // A newer cairn-lib in the repository moves nothing until the pins are updated.
    machine
        .repository
        .publish(&DebianPackage::new("cairn-lib", "1.1", "all", ""));
    machine
        .compile(&[])
        .success()
        .stderr_has("unchanged: cluster.lock");
    machine.compile(&["--update-pins"]).success();
    assert_eq!(
        machine.pins().0,
        ["cairn-lib=1.1", "cairn-tool=1.0"],
        "the update pins the newer version"
    );
    assert!(machine.plan_text().contains("inputs changed"));
    machine.apply().0.success();
    assert_eq!(
        machine.host.package_version("cairn-lib").as_deref(),
        Some("1.1")
    );

    // Another version on the host is drift, put back by the next apply.
    let (downgraded, output) = machine
        .host
        .shell("apt-get -q -y --allow-downgrades install cairn-lib=1.0 2>&1");
    assert!(downgraded, "{output}");
    let plan = machine.plan_text();
    assert!(
        plan.contains("drifted: cairn-lib is at 1.0, the lockfile pins 1.1"),
        "{plan}"
    );
    machine.apply().0.success();
    assert_eq!(
        machine.host.package_version("cairn-lib").as_deref(),
        Some("1.1")
    );
}

#[test]
fn a_host_of_another_release_or_without_the_assumed_base_is_refused_naming_both() {
    let machine = PinnedMachine::start("127.0.30.2");
    machine.compile(&[]).success();

    // The host says it runs Debian 13: the packages are pinned for 12 (bookworm).
    machine.host.shell(
        "cp /etc/os-release /root/os-release && \
         sed -i 's/^VERSION_CODENAME=.*/VERSION_CODENAME=trixie/' /etc/os-release",
    );
    let (outcome, report) = machine.apply();
    outcome.code(1).stderr_has(
        "this host runs debian trixie on amd64; the lockfile's packages are pinned for bookworm on amd64",
    );
    assert!(
        ran_besides_checks(&report, "machine").is_empty(),
        "nothing runs on a host of another release"
    );
    assert_eq!(machine.host.package_version("cairn-tool"), None);
    machine.host.shell("cp /root/os-release /etc/os-release");

    // The host lacks cairn-core, which the pins assume it has.
    machine.host.shell("dpkg --purge cairn-core");
    let (outcome, _) = machine.apply();
    outcome.code(1).stderr_has(
        "the lockfile's pins assume the host has these packages of its base system ([packages] assume_installed), and it has not: cairn-core",
    );
    assert_eq!(machine.host.package_version("cairn-tool"), None);
}
