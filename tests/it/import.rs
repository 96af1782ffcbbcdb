//! `cairn import`: an operator's Ansible INI inventory and the old installer's `config.cfg`
//! (tests/fixtures/import: groups, children, `slave[01:06]`-style ranges, `ansible_*` and
//! other variables, `keepalived_priority` per host, passwords, a VIP without its prefix
//! length) become a spec that compiles without edits, whose rendered configs pass the same
//! real programs as the examples' (`real_programs.rs`), with passwords in secret files
//! alone and every thing not imported reported; the `group_vars/` and `host_vars/` beside
//! the inventory read as Ansible reads them.

use std::os::unix::fs::PermissionsExt;

use crate::real_programs::{
    haproxy_check, image_files, image_name, images, judge, keepalived_check, network_interface,
};
use crate::support::{Outcome, Sandbox, cairn, file_content, repository};

/// The passwords of the fixture's config.cfg: none may reach the spec or the lockfile.
const PASSWORDS: [&str; 4] = ["R00t-pw!", "repl-Secret-7", "sh0p-Initial", "vrrp-pw8"];

/// A sandbox holding the fixtures, config.cfg naming this machine's network interface
/// (keepalived's check looks for it).
fn fixtures() -> Sandbox {
    let sandbox = Sandbox::new();
    let folder = repository().join("tests/fixtures/import");
    for name in ["inventory.ini", "roles.toml"] {
        sandbox.write(name, &std::fs::read_to_string(folder.join(name)).unwrap());
    }
    let config = std::fs::read_to_string(folder.join("config.cfg")).unwrap();
    let interface = format!("KEEPALIVED_INTERFACE={}\n", network_interface());
    sandbox.write(
        "config.cfg",
        &config.replace("KEEPALIVED_INTERFACE=eth0\n", &interface),
    );
    sandbox
}

fn import(sandbox: &Sandbox, arguments: &[&str]) -> Outcome {
    cairn()
        .current_dir(sandbox.path())
        .args(["import", "inventory.ini", "--config", "config.cfg"])
        .args(arguments)
        .run()
}

/// The fixtures imported with the mapping file, and compiled.
fn imported() -> (Sandbox, Outcome) {
    let sandbox = fixtures();
    let outcome = import(&sandbox, &["--roles", "roles.toml"]).success();
    sandbox.compile().success();
    (sandbox, outcome)
}

#[test]
fn the_old_installers_inventory_and_config_import_into_a_spec_that_compiles_unedited() {
    let (sandbox, _) = imported();
    let spec = sandbox.read("cluster.toml");
    for expected in [
        "[hosts.slave06]\naddress = \"10.20.0.46\"\nid = 46\nuser = \"deploy\"\nport = 2222\nbecome = \"sudo\"\nroles = [\"agent\"]\n",
        "[hosts.lb01]\naddress = \"10.20.0.21\"\nid = 21\nuser = \"deploy\"\nbecome = \"sudo\"\nroles = [\"loadbalancer\"]\n",
        "[hosts.mon01]",
        "priorities = { lb01 = 150, lb02 = 100 }\n",
        "vip = \"10.20.0.100/24\"\n",
        "master = \"db01\"\n",
        "slave = \"db02\"\n",
        "app_user = \"shop\"\n",
        "app_database = \"shop\"\n",
        "services = [\"marathon:8080\", \"console:8000\"]\n",
    ] {
        assert!(
            spec.contains(expected),
            "the spec lacks {expected:?}:\n{spec}"
        );
    }
    let nodes = sandbox.show_json();
    let hosts: Vec<&str> = [
        "master01", "master02", "master03", "slave01", "slave06", "mon01",
    ]
    .into_iter()
    .filter(|host| {
        nodes
            .as_array()
            .unwrap()
            .iter()
            .any(|node| node["name"] == format!("{host}:container:cadvisor"))
    })
    .collect();
    assert_eq!(
        hosts.len(),
        6,
        "every host of the ranges is a host of the lockfile"
    );
    let mon01_agent = nodes
        .as_array()
        .unwrap()
        .iter()
        .any(|node| node["name"] == "mon01:container:mesos-agent");
    assert!(mon01_agent, "roles.toml maps `monitoring` to `agent`");
}

#[test]
fn passwords_go_to_secret_files_readable_by_their_owner_alone_never_into_the_spec_or_lockfile() {
    let (sandbox, outcome) = imported();
    let spec = sandbox.read("cluster.toml");
    let lockfile = sandbox.read("cluster.lock");
    for password in PASSWORDS {
        assert!(!spec.contains(password), "{password} is in the spec");
        assert!(
            !lockfile.contains(password),
            "{password} is in the lockfile"
        );
        assert!(
            !outcome.stderr.contains(password),
            "{password} is in the report"
        );
    }
    for (file, content) in [
        ("secrets/mysql-root-password", "R00t-pw!\n"),
        ("secrets/mysql-replication-password", "repl-Secret-7\n"),
        ("secrets/mysql-app-initial-password", "sh0p-Initial\n"),
        ("secrets/keepalived-auth-pass", "vrrp-pw8\n"),
    ] {
        assert_eq!(sandbox.read(file), content);
        let mode = std::fs::metadata(sandbox.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
        let reference = format!("{{ file = \"{file}\" }}");
        assert!(
            spec.contains(&reference),
            "the spec does not reference {file}"
        );
    }
    assert!(
        outcome
            .stderr
            .contains("secret: secrets/mysql-root-password (config.cfg:10 MYSQL_ROOT_PASSWORD)"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn everything_not_imported_is_reported_on_stderr_and_in_the_specs_comments() {
    let sandbox = fixtures();
    let outcome = import(&sandbox, &[]).success();
    let spec = sandbox.read("cluster.toml");
    for finding in [
        "inventory.ini:40: group `monitoring` maps to no role",
        "inventory.ini:46: variable `ansible_python_interpreter` has no counterpart in the spec",
        "inventory.ini:49: variable `docker_storage_driver` has no counterpart in the spec",
        "config.cfg:19 KEEPALIVED_VIP: the VIP `10.20.0.100` has no prefix length: written as 10.20.0.100/24",
        "config.cfg:39: `INSTALL_DEBUG_TOOLS` has no counterpart in the spec",
    ] {
        assert!(
            outcome.stderr.contains(&format!("warning: {finding}")),
            "stderr lacks {finding:?}:\n{}",
            outcome.stderr
        );
        assert!(
            spec.contains(&format!("#   {finding}")),
            "the spec lacks {finding:?}"
        );
    }
    assert!(spec.contains("[hosts.mon01]\naddress = \"10.20.0.51\"\nid = 51\nuser = \"deploy\"\nbecome = \"sudo\"\nroles = []\n"));
    sandbox.compile().success();
}

#[test]
fn a_group_mapped_by_a_flag_gives_its_role_and_is_not_reported() {
    let sandbox = fixtures();
    let outcome = import(&sandbox, &["--role", "monitoring=agent"]).success();
    assert!(!outcome.stderr.contains("monitoring"), "{}", outcome.stderr);
    assert!(sandbox.read("cluster.toml").contains("[hosts.mon01]\naddress = \"10.20.0.51\"\nid = 51\nuser = \"deploy\"\nbecome = \"sudo\"\nroles = [\"agent\"]\n"));
}

#[test]
fn an_existing_spec_or_a_secret_file_holding_another_secret_is_never_overwritten() {
    let sandbox = fixtures();
    sandbox.write("cluster.toml", "# the operator's own\n");
    import(&sandbox, &[])
        .code(1)
        .stderr_has("cluster.toml exists");
    assert_eq!(sandbox.read("cluster.toml"), "# the operator's own\n");

    sandbox.write("secrets/mysql-root-password", "another\n");
    import(&sandbox, &["-o", "imported.toml"])
        .code(1)
        .stderr_has("secrets/mysql-root-password exists and holds another secret");
    assert_eq!(sandbox.read("secrets/mysql-root-password"), "another\n");
    assert!(!sandbox.path().join("imported.toml").exists());
}

#[test]
fn the_imported_specs_haproxy_and_keepalived_configs_pass_their_programs_checks() {
    let (sandbox, _) = imported();
    let nodes = sandbox.show_json();
    let configs = sandbox.path().join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    for (host, state, priority) in [("lb01", "MASTER", 150), ("lb02", "BACKUP", 100)] {
        let haproxy = configs.join(format!("{host}-haproxy.cfg"));
        std::fs::write(
            &haproxy,
            file_content(
                &nodes,
                &format!("{host}:file:/etc/cairn/haproxy/haproxy.cfg"),
            ),
        )
        .unwrap();
        haproxy_check(&haproxy).accepts(&haproxy);

        let text = file_content(
            &nodes,
            &format!("{host}:file:/etc/cairn/keepalived/keepalived.conf"),
        )
        .replace("@@CAIRN_SECRET(keepalived.auth_pass)@@", "vrrp-pw8");
        assert!(
            text.contains(&format!("state {state}\n"))
                && text.contains(&format!("priority {priority}\n")),
            "{host}:\n{text}"
        );
        assert!(text.contains("10.20.0.100/24"), "{text}");
        let keepalived = configs.join(format!("{host}-keepalived.conf"));
        std::fs::write(&keepalived, text).unwrap();
        keepalived_check(&keepalived).accepts(&keepalived);
    }
    let broken = configs.join("broken-keepalived.conf");
    let text = std::fs::read_to_string(configs.join("lb01-keepalived.conf")).unwrap();
    std::fs::write(&broken, text.replace("priority 150\n", "priority 300\n")).unwrap();
    keepalived_check(&broken).rejects();
}

#[test]
fn bash_parses_every_entrypoint_script_of_the_imported_specs_images() {
    let (sandbox, _) = imported();
    let scripts = sandbox.path().join("scripts");
    let mut checked = Vec::new();
    for image in images(&sandbox) {
        for (path, _, content) in image_files(&image) {
            if !content.starts_with("#!/bin/bash") {
                continue;
            }
            let script = scripts
                .join(image_name(&image))
                .join(path.trim_start_matches('/'));
            std::fs::create_dir_all(script.parent().unwrap()).unwrap();
            std::fs::write(&script, &content).unwrap();
            judge("bash", &["-n", &script.display().to_string()]).accepts(&script);
            checked.push(image_name(&image));
        }
    }
    for name in [
        "haproxy",
        "keepalived",
        "mysql",
        "marathon",
        "zookeeper",
        "consul",
    ] {
        assert!(
            checked.iter().any(|checked| checked == name),
            "no script of {name}: {checked:?}"
        );
    }
}

#[test]
fn the_readme_lists_every_config_file_key_the_import_reads() {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    for (key, becomes) in cairn_import::CONFIG_KEYS {
        let row = format!("| `{key}` | {becomes} |");
        assert!(readme.contains(&row), "README lacks {row}");
    }
}

#[test]
fn group_vars_and_host_vars_beside_the_inventory_are_read_as_ansible_reads_them() {
    let sandbox = fixtures();
    let inventory = sandbox.read("inventory.ini").replace(
        "slave06   ansible_host=10.20.0.46 ansible_port=2222",
        "slave06",
    );
    sandbox.write("inventory.ini", &inventory);
    sandbox.write(
        "host_vars/slave06.yml",
        "ansible_host: 10.20.0.46\nansible_port: 2222\n",
    );
    // A group's file wins over the inventory's [all:vars] (ansible_user=deploy).
    sandbox.write(
        "group_vars/slave/main.yml",
        "ansible_user: agent-admin\nextra_mounts:\n  - /data\n",
    );
    sandbox.write(
        "group_vars/all/vault.yml",
        "$ANSIBLE_VAULT;1.1;AES256\n3132\n",
    );
    let outcome = import(&sandbox, &["--roles", "roles.toml"]).success();
    let spec = sandbox.read("cluster.toml");
    assert!(
        spec.contains("[hosts.slave06]\naddress = \"10.20.0.46\"\nid = 46\nuser = \"agent-admin\"\nport = 2222\nbecome = \"sudo\"\nroles = [\"agent\"]\n"),
        "{spec}"
    );
    assert!(
        spec.contains(
            "[hosts.slave01]\naddress = \"10.20.0.41\"\nid = 41\nuser = \"agent-admin\"\n"
        )
    );
    assert!(spec.contains("[hosts.db01]\naddress = \"10.20.0.31\"\nid = 31\nuser = \"deploy\"\n"));
    for said in [
        "warning: group_vars/all/vault.yml: encrypted with ansible-vault, so not read",
        "warning: group_vars/slave/main.yml:2: variable `extra_mounts` holds a list",
    ] {
        assert!(outcome.stderr.contains(said), "{said}\n{}", outcome.stderr);
    }
    sandbox.compile().success();
}
