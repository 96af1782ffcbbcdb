//! Packages and services on a whole machine: a Debian host with systemd as PID 1, reached
//! over SSH, installing packages with apt from a repository the test serves, managing a
//! unit with systemctl.

use crate::support::app_cluster::{names, ran_besides_checks};
use crate::support::systemd_host::{
    SystemdHost, TestPackage, TestRepository, hello_service_nodes, test_repository_only_nodes,
};
use crate::support::{Outcome, Sandbox};

const MODULE: &str = concat!(
    r##"[module]
name = "hello"
description = "a packaged service"
roles = ["hello"]

[settings.hello.source]
type = "text"
doc = "The apt source line of the package repository."

[settings.hello.version]
type = "string"
doc = "The version of cairn-hello to install."

[settings.hello.greeting]
type = "string"
default = "hello"
doc = "What the service's configuration says."
"##,
    test_repository_only_nodes!("{{ hello.source }}"),
    r##"
# openssh-server was on the host before cairn: cairn must never remove it.
[[node]]
kind = "package"
name = "hello"
packages = ["cairn-hello={{ hello.version }}", "openssh-server"]
deps = ["file:/etc/apt/sources.list.d/cairn-test.list", "file:/etc/apt/sources.list"]
"##,
    hello_service_nodes!("{{ hello.greeting }}"),
);

/// The service of `cairn-hello`: it records the configuration it started with and its
/// version, then waits.
fn hello_package(version: &str) -> TestPackage<'_> {
    TestPackage {
        name: "cairn-hello",
        version,
        files: vec![
            (
                "/usr/bin/cairn-hello",
                format!(
                    "#!/bin/sh\n{{ echo 'version {version}'; cat /etc/cairn-hello.conf; }} > /run/cairn-hello.seen\nexec sleep infinity\n"
                ),
                0o755,
            ),
            (
                "/lib/systemd/system/cairn-hello.service",
                "[Unit]\nDescription=cairn test service\n\n[Service]\nExecStart=/usr/bin/cairn-hello\n\n[Install]\nWantedBy=multi-user.target\n".to_string(),
                0o644,
            ),
        ],
    }
}

struct Machine {
    host: SystemdHost,
    repository: TestRepository,
    sandbox: Sandbox,
}

impl Machine {
    /// A systemd host on `address`, a repository with cairn-hello 1.0 and 1.1, and a spec
    /// installing `version`.
    fn start(address: &str, version: &str) -> Self {
        let repository =
            TestRepository::serve(address, &[hello_package("1.0"), hello_package("1.1")]);
        let host = SystemdHost::start(address);
        let sandbox = Sandbox::new();
        sandbox
            .write("modules/hello/module.toml", MODULE)
            .write("secrets/fingerprint.key", "test-fingerprint-key\n");
        let machine = Self {
            host,
            repository,
            sandbox,
        };
        machine.write_spec(version, "hello", &["hello"]);
        machine
    }

    fn write_spec(&self, version: &str, greeting: &str, roles: &[&str]) {
        let roles: Vec<String> = roles.iter().map(|role| format!("\"{role}\"")).collect();
        let mut spec = format!(
            "[cluster]\nname = \"machine\"\ndomain = \"machine.test\"\nmodules = [\"modules\"]\n\
             exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\n\
             [hosts.machine]\naddress = \"{address}\"\nport = {port}\nroles = [{roles}]\n\n\
             [preflight]\nfilesystem_paths = []\nmin_free_disk = {{ \"/\" = \"1MiB\" }}\n",
            address = self.host.address,
            port = self.host.port,
            roles = roles.join(", "),
        );
        if !roles.is_empty() {
            spec.push_str(&format!(
                "\n[hello]\nsource = {source:?}\nversion = \"{version}\"\ngreeting = \"{greeting}\"\n",
                source = self.repository.source_line(),
            ));
        }
        self.sandbox.write("cluster.toml", &spec);
        self.sandbox.compile().success();
    }

    fn apply(&self) -> (Outcome, serde_json::Value) {
        self.host.apply(&self.sandbox)
    }

    fn plan_text(&self) -> String {
        self.host.plan_text(&self.sandbox)
    }

    fn assert_service_running_and_enabled(&self) {
        assert_eq!(
            self.host
                .unit_property("cairn-hello.service", "ActiveState"),
            "active"
        );
        assert_eq!(
            self.host
                .unit_property("cairn-hello.service", "UnitFileState"),
            "enabled"
        );
    }

    /// An apply that succeeds, running exactly `expected` (sorted) besides the checks.
    fn apply_running(&self, expected: &[&str]) {
        let (outcome, report) = self.apply();
        outcome.success();
        assert_eq!(sorted(ran_besides_checks(&report, "machine")), expected);
    }

    /// cairn-hello is installed at `version`, and that version's service runs.
    fn assert_runs_version(&self, version: &str) {
        assert_eq!(
            self.host.package_version("cairn-hello").as_deref(),
            Some(version)
        );
        assert_eq!(
            self.host.shell("head -n 1 /run/cairn-hello.seen").1,
            format!("version {version}")
        );
    }

    fn service_pid(&self) -> String {
        self.host.unit_property("cairn-hello.service", "MainPID")
    }
}

#[test]
fn packages_install_services_start_and_a_second_apply_changes_nothing() {
    let machine = Machine::start("127.0.10.1", "1.0");
    machine.apply_running(&[
        "file:/etc/apt/sources.list",
        "file:/etc/apt/sources.list.d/cairn-test.list",
        "file:/etc/cairn-hello.conf",
        "package:hello",
        "service:cairn-hello.service",
    ]);
    assert_eq!(
        machine.host.package_version("cairn-hello").as_deref(),
        Some("1.0")
    );
    machine.assert_service_running_and_enabled();
    // The service started after its configuration was written: it read cairn's.
    assert_eq!(
        machine.host.shell("cat /run/cairn-hello.seen").1,
        "version 1.0\ngreeting = hello"
    );

    let (outcome, report) = machine.apply();
    outcome.success();
    assert!(
        ran_besides_checks(&report, "machine").is_empty(),
        "a second apply ran {:?}",
        ran_besides_checks(&report, "machine")
    );
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[test]
fn a_changed_configuration_restarts_its_service_and_nothing_else() {
    let machine = Machine::start("127.0.10.2", "1.0");
    machine.apply().0.success();
    let pid_before = machine.service_pid();

    machine.write_spec("1.0", "bonjour", &["hello"]);
    machine.apply_running(&["file:/etc/cairn-hello.conf", "service:cairn-hello.service"]);
    assert_ne!(
        machine.service_pid(),
        pid_before,
        "the service was restarted"
    );
    assert_eq!(
        machine.host.shell("cat /run/cairn-hello.seen").1,
        "version 1.0\ngreeting = bonjour"
    );
}

#[test]
fn a_service_stopped_by_hand_is_drift_and_is_started_again() {
    let machine = Machine::start("127.0.10.3", "1.0");
    machine.apply().0.success();
    assert!(machine.host.shell("systemctl disable --now cairn-hello").0);

    let plan = machine.plan_text();
    assert!(
        plan.contains("service:cairn-hello.service")
            && plan.contains("drifted: the service is inactive"),
        "{plan}"
    );
    machine.apply_running(&["service:cairn-hello.service"]);
    machine.assert_service_running_and_enabled();
}

#[test]
fn a_version_bump_upgrades_and_restarts_and_going_back_downgrades() {
    let machine = Machine::start("127.0.10.4", "1.0");
    machine.apply().0.success();

    machine.write_spec("1.1", "hello", &["hello"]);
    machine.apply_running(&[
        "file:/etc/cairn-hello.conf",
        "package:hello",
        "service:cairn-hello.service",
    ]);
    machine.assert_runs_version("1.1");

    // A rollback: the release before pins the version before.
    machine.write_spec("1.0", "hello", &["hello"]);
    machine.apply().0.success();
    machine.assert_runs_version("1.0");
}

#[test]
fn a_package_removed_by_hand_is_drift_and_is_installed_again() {
    let machine = Machine::start("127.0.10.5", "1.0");
    machine.apply().0.success();
    assert!(
        machine
            .host
            .shell("systemctl stop cairn-hello && dpkg --remove cairn-hello >/dev/null")
            .0
    );

    let plan = machine.plan_text();
    assert!(
        plan.contains("drifted: cairn-hello is not installed"),
        "{plan}"
    );
    let (outcome, report) = machine.apply();
    outcome.success();
    let ran = sorted(ran_besides_checks(&report, "machine"));
    assert!(
        ran.contains(&"package:hello".to_string())
            && ran.contains(&"service:cairn-hello.service".to_string()),
        "{ran:?}"
    );
    assert_eq!(
        machine.host.package_version("cairn-hello").as_deref(),
        Some("1.0")
    );
    assert_eq!(
        machine
            .host
            .unit_property("cairn-hello.service", "ActiveState"),
        "active"
    );
}

#[test]
fn orphaned_services_stop_and_orphaned_packages_go_but_not_those_the_host_had_before() {
    let machine = Machine::start("127.0.10.6", "1.0");
    machine.apply().0.success();

    // The host no longer plays the role: its nodes are orphans.
    machine.write_spec("1.0", "hello", &[]);
    let (outcome, report) = machine.apply();
    outcome.success();
    let removed = names(&report, "machine", "orphans_removed");
    assert!(
        removed.contains(&"service:cairn-hello.service".to_string())
            && removed.contains(&"package:hello".to_string()),
        "{removed:?}"
    );
    assert_eq!(machine.host.package_version("cairn-hello"), None);
    assert!(
        machine.host.package_version("openssh-server").is_some(),
        "a package the host had before cairn stays"
    );
    assert_ne!(
        machine
            .host
            .unit_property("cairn-hello.service", "ActiveState"),
        "active"
    );
    // And cairn still reaches the host: sshd kept running.
    machine.apply().0.success();
}

#[test]
fn an_unreachable_repository_fails_the_package_and_stops_only_what_needs_it() {
    let mut machine = Machine::start("127.0.10.7", "1.0");
    machine.repository.stop();
    let (outcome, report) = machine.apply();
    outcome
        .code(1)
        .stderr_has("apt-get update failed: is the repository reachable from the host?");
    assert_eq!(
        sorted(ran_besides_checks(&report, "machine")),
        [
            "file:/etc/apt/sources.list",
            "file:/etc/apt/sources.list.d/cairn-test.list"
        ]
    );
    assert_eq!(names(&report, "machine", "failed"), ["package:hello"]);
    assert_eq!(
        sorted(names(&report, "machine", "not_run")),
        ["file:/etc/cairn-hello.conf", "service:cairn-hello.service"]
    );
}
