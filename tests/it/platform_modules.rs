//! What the built-in modules render for a cluster with two load balancers and a MySQL pair:
//! per-host differences where they belong, shared text where they do not; every shell
//! script the examples render parses; an operator's template that includes another is
//! rendered for each host.

use std::collections::BTreeSet;

use crate::support::{MINIMAL_SPEC, Sandbox, cairn, with_spec_modules};

const HA_SPEC: &str = r#"[cluster]
name = "ha"
domain = "ha.example"
exclude_modules = ["consul", "mesos", "marathon", "cadvisor"]
fingerprint_key = { file = "fingerprint.key" }

[hosts.lb1]
address = "10.0.0.11"
id = 11
roles = ["loadbalancer"]

[hosts.lb2]
address = "10.0.0.12"
id = 12
roles = ["loadbalancer"]

[hosts.db1]
address = "10.0.0.21"
id = 21
roles = ["mysql"]

[hosts.db2]
address = "10.0.0.22"
id = 22
roles = ["mysql"]

[repository]
url = "http://10.0.0.1:8080/debian"

[registry]
address = "10.0.0.1:5000"

[ntp]
servers = ["10.0.0.1"]

[keepalived]
vip = "10.0.0.100/24"
interface = "eth0"
auth_pass = { file = "vrrp-pass" }

[mysql]
master = "db1"
slave = "db2"
replication_password = { file = "replication-pass" }
root_password = { file = "root-pass" }
"#;

fn ha_sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .write("cluster.toml", HA_SPEC)
        .write("vrrp-pass", "vrrp-key\n")
        .write("replication-pass", "replication-secret\n")
        .write("root-pass", "root-secret\n")
        .write("fingerprint.key", "a-test-fingerprint-key\n");
    sandbox.compile().success();
    sandbox
}

fn content(sandbox: &Sandbox, node: &str) -> String {
    let outcome = cairn()
        .current_dir(sandbox.path())
        .args(["show", "cluster.lock", node, "--json"])
        .run()
        .success();
    outcome.json()["content"]
        .as_str()
        .expect("a file node")
        .to_string()
}

#[test]
fn the_load_balancer_with_the_lowest_id_is_keepalived_master_and_each_peers_with_the_other() {
    let sandbox = ha_sandbox();
    let first = content(&sandbox, "lb1:file:/etc/cairn/keepalived/keepalived.conf");
    let second = content(&sandbox, "lb2:file:/etc/cairn/keepalived/keepalived.conf");
    assert!(
        first.contains("state MASTER") && first.contains("priority 244"),
        "{first}"
    );
    assert!(
        second.contains("state BACKUP") && second.contains("priority 243"),
        "{second}"
    );
    assert!(first.contains("unicast_src_ip 10.0.0.11") && first.contains("        10.0.0.12\n"));
    assert!(second.contains("unicast_src_ip 10.0.0.12") && second.contains("        10.0.0.11\n"));
    assert!(first.contains("auth_pass @@CAIRN_SECRET(keepalived.auth_pass)@@"));
    assert!(!sandbox.read("cluster.lock").contains("vrrp-key"));
}

#[test]
fn the_mysql_pair_has_distinct_server_ids_and_only_the_slave_is_read_only() {
    let sandbox = ha_sandbox();
    let master = content(&sandbox, "db1:file:/etc/cairn/mysql/cairn.cnf");
    let slave = content(&sandbox, "db2:file:/etc/cairn/mysql/cairn.cnf");
    assert!(
        master.contains("server-id = 21") && !master.contains("read-only"),
        "{master}"
    );
    assert!(
        slave.contains("server-id = 22") && slave.contains("read-only = ON"),
        "{slave}"
    );
    let lock = sandbox.read("cluster.lock");
    for secret in ["replication-secret", "root-secret"] {
        assert!(!lock.contains(secret));
    }
}

#[test]
fn only_the_slave_checks_replication_after_the_master_answers() {
    let sandbox = ha_sandbox();
    let nodes = sandbox.nodes();
    assert!(!nodes.contains_key("db1:health:mysql-replication"));
    let (_, deps) = &nodes["db2:health:mysql-replication"];
    assert!(
        deps.contains(&"db1:health:mysql-ping".to_string()),
        "{deps:?}"
    );
    assert!(
        deps.contains(&"db2:health:mysql-ping".to_string()),
        "{deps:?}"
    );
}

#[test]
fn a_mysql_master_without_the_mysql_role_is_refused() {
    let sandbox = ha_sandbox();
    sandbox.edit("cluster.toml", |text| {
        text.replace("master = \"db1\"", "master = \"lb1\"")
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("`master` in [mysql] names host `lb1`, which does not have the role `mysql`")
        .stderr_has("cluster.toml:42:10")
        .stderr_has("hint: add `mysql` to the roles of [hosts.lb1]");
}

#[test]
fn a_required_secret_left_out_is_named_with_the_host_that_needs_it() {
    let sandbox = ha_sandbox();
    sandbox.edit("cluster.toml", |text| {
        text.replace("auth_pass = { file = \"vrrp-pass\" }\n", "")
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("[keepalived] is missing the required key `auth_pass`")
        .stderr_has("hint: add `auth_pass = { env = \"VARIABLE\" }` or `{ file = \"path\" }` to [keepalived]");
}

#[test]
fn the_same_haproxy_config_is_one_text_for_both_load_balancers() {
    let sandbox = ha_sandbox();
    let nodes = sandbox.nodes();
    assert_eq!(
        nodes["lb1:file:/etc/cairn/haproxy/haproxy.cfg"].0,
        nodes["lb2:file:/etc/cairn/haproxy/haproxy.cfg"].0
    );
    let lock = sandbox.read("cluster.lock");
    assert_eq!(
        lock.matches("\nresolvers consul\n").count(),
        1,
        "stored once in [content]"
    );
}

#[test]
fn containers_wait_for_docker_where_host_base_runs_and_not_where_it_is_left_out() {
    let sandbox = ha_sandbox();
    let nodes = sandbox.nodes();
    assert!(
        nodes["lb1:container:haproxy"]
            .1
            .contains(&"lb1:barrier:docker-ready".to_string()),
        "host-base's check that Docker answers comes first"
    );
    assert_eq!(
        nodes["lb1:barrier:docker-ready"].1,
        ["lb1:health:docker-ready"],
        "the barrier stands for host-base's check"
    );

    // Without host-base (hosts initialised by other means), the barrier has no member:
    // there is none, and `after = ["docker-ready"]` waits for nothing.
    sandbox.edit("cluster.toml", |text| {
        text.replace(
            "exclude_modules = [\"consul\",",
            "exclude_modules = [\"host-base\", \"consul\",",
        )
        .replace("[repository]\nurl = \"http://10.0.0.1:8080/debian\"\n", "")
        .replace("[registry]\naddress = \"10.0.0.1:5000\"\n", "")
        .replace("[ntp]\nservers = [\"10.0.0.1\"]\n", "")
    });
    sandbox.compile().success();
    let nodes = sandbox.nodes();
    assert!(
        !nodes["lb1:container:haproxy"]
            .1
            .iter()
            .any(|dependency| dependency.contains("docker-ready")),
        "{:?}",
        nodes["lb1:container:haproxy"].1
    );
}

#[test]
fn an_optional_dependency_on_a_role_no_host_has_is_none_and_one_on_a_named_host_is_refused() {
    let sandbox = ha_sandbox();
    sandbox
        .write(
            "modules/extra/module.toml",
            "[module]\nname = \"extra\"\ndescription = \"x\"\nroles = [\"loadbalancer\"]\n\n\
             [[node]]\nkind = \"file\"\npath = \"/etc/extra\"\ncontent = \"x\"\n\
             deps = [{ role = \"control\", node = \"health:repository-http\", optional = true }]\n",
        )
        .edit("cluster.toml", |text| {
            text.replace("[cluster]\n", "[cluster]\nmodules = [\"modules\"]\n")
        });
    sandbox.compile().success();
    assert_eq!(
        sandbox.nodes()["lb1:file:/etc/extra"].1,
        ["lb1:barrier:checks"],
        "no dependency but the host's checks"
    );

    sandbox.edit("modules/extra/module.toml", |text| {
        text.replace("role = \"control\"", "host = \"db1\"")
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("`optional` is for dependencies on a node of the same host or of a role");
}

#[test]
fn a_host_of_a_numbered_module_without_an_id_is_refused_with_a_free_id_as_the_hint() {
    let sandbox = ha_sandbox();
    sandbox.edit("cluster.toml", |text| text.replacen("id = 22\n", "", 1));
    sandbox
        .compile()
        .code(2)
        .stderr_has("host `db2` has no `id`, which module `mysql` numbers its hosts by")
        .stderr_has("hint: add `id = 1` to [hosts.db2]");
}

#[test]
fn two_hosts_with_one_id_are_refused() {
    let sandbox = ha_sandbox();
    sandbox.edit("cluster.toml", |text| {
        text.replacen("id = 22\n", "id = 21\n", 1)
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("hosts `db1` and `db2` both have `id = 21`");
}

#[test]
fn adding_a_master_whose_name_sorts_first_renumbers_no_other_server() {
    let sandbox = ha_sandbox();
    let masters = |names: &[(&str, u8)]| -> String {
        names
            .iter()
            .map(|(name, id)| {
                format!(
                    "[hosts.{name}]\naddress = \"10.0.1.{id}\"\nroles = [\"master\"]\nid = {id}\n\n"
                )
            })
            .collect()
    };
    let with = |hosts: String| {
        move |text: String| text.replacen("[hosts.lb1]", &format!("{hosts}[hosts.lb1]"), 1)
    };
    sandbox.edit(
        "cluster.toml",
        with(masters(&[("m2", 2), ("m3", 3), ("m4", 4)])),
    );
    sandbox.compile().success();
    let before = sandbox.nodes();
    let myid = |host: &str| format!("{host}:file:/var/lib/zookeeper/myid");

    sandbox.edit("cluster.toml", with(masters(&[("m1", 5)])));
    sandbox.compile().success();
    let after = sandbox.nodes();
    for host in ["m2", "m3", "m4"] {
        assert_eq!(
            after[&myid(host)].0,
            before[&myid(host)].0,
            "{host}'s myid kept"
        );
    }
    assert_eq!(content(&sandbox, &myid("m1")), "5\n");
    let zoo_cfg = content(&sandbox, "m1:file:/etc/cairn/zookeeper/zoo.cfg");
    for line in [
        "server.5=10.0.1.5:",
        "server.2=10.0.1.2:",
        "server.4=10.0.1.4:",
    ] {
        assert!(zoo_cfg.contains(line), "{zoo_cfg}");
    }
}

/// A certificate and key as the spec gives them: compile reads neither as PEM, so a
/// recognisable text stands in for each.
const REGISTRY_CERTIFICATE: &str =
    "-----BEGIN CERTIFICATE-----\nMIIBregistrycertificate\n-----END CERTIFICATE-----\n";
const REGISTRY_KEY: &str =
    "-----BEGIN PRIVATE KEY-----\nMIGHregistrykeythatstayssecret\n-----END PRIVATE KEY-----\n";

/// The HA cluster with `control1`, a control host at the registry's address (which runs the
/// registry), and `settings` as its [registry_server] section.
fn with_control_host(sandbox: &Sandbox, settings: &str) {
    sandbox.write("registry-key.pem", REGISTRY_KEY);
    sandbox.edit("cluster.toml", |text| {
        text.replacen(
            "[hosts.lb1]",
            "[hosts.control1]\naddress = \"10.0.0.1\"\nroles = [\"control\"]\n\n[hosts.lb1]",
            1,
        ) + &format!("\n[registry_server]\n{settings}")
    });
}

const REGISTRY_TLS: &str = "tls_key = { file = \"registry-key.pem\" }\ntls_certificate = '''\n\
     -----BEGIN CERTIFICATE-----\nMIIBregistrycertificate\n-----END CERTIFICATE-----\n'''\n";

#[test]
fn docker_trusts_the_registry_over_plain_http_unless_the_control_host_serves_it_with_tls() {
    let insecure = |sandbox: &Sandbox| {
        let daemon = content(sandbox, "lb1:file:/etc/docker/daemon.json");
        daemon
            .lines()
            .find(|line| line.contains("insecure-registries"))
            .unwrap_or_else(|| panic!("{daemon}"))
            .trim()
            .to_string()
    };
    let certificate_authority = "lb1:file:/etc/docker/certs.d/10.0.0.1:5000/ca.crt";

    // No control host: the registry is someone else's, trusted over HTTP as before.
    let sandbox = ha_sandbox();
    assert_eq!(
        insecure(&sandbox),
        r#""insecure-registries": ["10.0.0.1:5000"],"#
    );
    assert!(!sandbox.nodes().contains_key(certificate_authority));

    // The control host's registry without TLS serves plain HTTP.
    with_control_host(&sandbox, "");
    sandbox.compile().success();
    assert_eq!(
        insecure(&sandbox),
        r#""insecure-registries": ["10.0.0.1:5000"],"#
    );
    assert!(!sandbox.nodes().contains_key(certificate_authority));

    // With TLS: no host trusts it blindly; every host verifies its certificate.
    let sandbox = ha_sandbox();
    with_control_host(&sandbox, REGISTRY_TLS);
    sandbox.compile().success();
    assert_eq!(insecure(&sandbox), r#""insecure-registries": [],"#);
    for host in ["lb1", "db2", "control1"] {
        assert_eq!(
            content(
                &sandbox,
                &format!("{host}:file:/etc/docker/certs.d/10.0.0.1:5000/ca.crt")
            ),
            REGISTRY_CERTIFICATE
        );
    }
    assert!(
        sandbox.nodes()["lb1:health:docker-ready"]
            .1
            .contains(&certificate_authority.to_string()),
        "Docker is ready once it can verify the registry"
    );
}

#[test]
fn the_registrys_tls_key_reaches_the_control_host_as_a_file_and_never_the_lockfile() {
    let sandbox = ha_sandbox();
    with_control_host(&sandbox, REGISTRY_TLS);
    sandbox.compile().success();
    let lock = sandbox.read("cluster.lock");
    assert!(!lock.contains("registrykeythatstayssecret"));
    let key = cairn()
        .current_dir(sandbox.path())
        .args([
            "show",
            "cluster.lock",
            "control1:file:/etc/cairn/registry/tls/key.pem",
            "--json",
        ])
        .run()
        .success()
        .json();
    assert_eq!(
        key["content"],
        "@@CAIRN_SECRET(registry_server.tls_key)@@\n"
    );
    assert_eq!(key["mode"], "0600");
    let config = content(&sandbox, "control1:file:/etc/cairn/registry/config.yml");
    assert!(
        config.contains("  tls:\n    certificate: /etc/cairn/registry/tls/certificate.pem\n"),
        "{config}"
    );
}

#[test]
fn the_other_hosts_docker_waits_for_the_control_hosts_registry_and_the_control_hosts_own_does_not()
{
    let sandbox = ha_sandbox();
    with_control_host(&sandbox, "");
    sandbox.compile().success();
    let nodes = sandbox.nodes();
    let ordered_after = sandbox.ordered_after();
    for host in ["lb1", "db1"] {
        // Order only: images are pinned by id, the registry's settings no part of them.
        let waits = &ordered_after[&format!("{host}:health:docker-ready")];
        assert!(
            waits.contains(&"control1:health:registry-http".to_string()),
            "{host}: {waits:?}"
        );
    }
    // The registry's container waits for the control host's docker-ready, which therefore
    // cannot wait for the registry.
    assert!(
        nodes["control1:container:registry"]
            .1
            .contains(&"control1:barrier:docker-ready".to_string())
    );
    assert!(
        !nodes["control1:health:docker-ready"]
            .1
            .iter()
            .chain(&ordered_after["control1:health:docker-ready"])
            .any(|dependency| dependency.contains("registry-http")),
        "{:?}",
        nodes["control1:health:docker-ready"].1
    );
}

#[test]
fn a_tls_certificate_without_its_key_is_refused_where_the_spec_gives_it() {
    let sandbox = ha_sandbox();
    with_control_host(
        &sandbox,
        &REGISTRY_TLS.replace("tls_key = { file = \"registry-key.pem\" }\n", ""),
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has(
            "`tls_certificate` in [registry_server] requires `tls_key`, which [registry_server] does not give",
        )
        .stderr_has("cluster.toml:52:19")
        .stderr_has("hint: add `tls_key` to [registry_server], or remove `tls_certificate`");
}

#[test]
fn a_module_setting_may_be_optional_but_not_with_a_default_and_requires_only_its_own_keys() {
    let sandbox = ha_sandbox();
    sandbox
        .write(
            "modules/extra/module.toml",
            "[module]\nname = \"extra\"\ndescription = \"x\"\nroles = [\"loadbalancer\"]\n\n\
             [settings.extra.token]\ntype = \"secret\"\noptional = true\nrequires = [\"user\"]\n\
             doc = \"x\"\n\n\
             [settings.extra.user]\ntype = \"string\"\noptional = true\ndoc = \"x\"\n\n\
             [[node]]\nkind = \"file\"\npath = \"/etc/extra\"\n\
             content = \"{% if extra.token is defined %}{{ extra.user }} {{ extra.token }}{% else %}none{% endif %}\"\n",
        )
        .edit("cluster.toml", |text| {
            text.replace("[cluster]\n", "[cluster]\nmodules = [\"modules\"]\n")
        });
    // Neither given: the module runs without them.
    sandbox.compile().success();
    assert_eq!(content(&sandbox, "lb1:file:/etc/extra"), "none");

    sandbox
        .write("token", "extra-token\n")
        .edit("cluster.toml", |text| {
            text + "\n[extra]\nuser = \"operator\"\ntoken = { file = \"token\" }\n"
        });
    sandbox.compile().success();
    assert_eq!(
        content(&sandbox, "lb1:file:/etc/extra"),
        "operator @@CAIRN_SECRET(extra.token)@@"
    );

    sandbox.edit("modules/extra/module.toml", |text| {
        text.replace("requires = [\"user\"]", "requires = [\"usr\"]")
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has(
            "`token` in [extra] requires `usr`, which the module does not declare in [extra]",
        )
        .stderr_has("did you mean `user`?");

    sandbox.edit("modules/extra/module.toml", |text| {
        text.replace("requires = [\"usr\"]", "requires = [\"user\"]")
            .replace(
                "type = \"string\"\noptional = true",
                "type = \"string\"\ndefault = \"root\"\noptional = true",
            )
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("a setting with a default is optional already")
        .stderr_has("hint: remove `optional`");
}

/// The `run` (or another input) of a node, as the lockfile renders it.
fn input(sandbox: &Sandbox, node: &str, key: &str) -> String {
    let outcome = cairn()
        .current_dir(sandbox.path())
        .args(["show", "cluster.lock", node, "--json"])
        .run()
        .success();
    outcome.json()["inputs"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{node} has no {key}"))
        .to_string()
}

#[test]
fn selinux_is_made_permissive_by_default_and_a_sandbox_never_changes_the_machines_mode() {
    let sandbox = ha_sandbox();
    let run = input(&sandbox, "lb1:command:selinux-mode", "run");
    assert_eq!(run.matches("setenforce").count(), 1, "{run}");
    assert!(
        run.contains(
            "if [ -z \"$CAIRN_ROOT\" ] && [ -e /sys/fs/selinux/enforce ]; then\n    setenforce 0 "
        ),
        "only a host of its own, with SELinux, has its running mode set:\n{run}"
    );
    assert!(
        run.contains("config=\"$CAIRN_ROOT/etc/selinux/config\"")
            && run.contains("s/^SELINUX=.*/SELINUX=permissive/"),
        "{run}"
    );
    let unless = input(&sandbox, "lb1:command:selinux-mode", "unless");
    assert!(unless.contains("grep -qx 'SELINUX=permissive'"), "{unless}");
    let nodes = sandbox.nodes();
    assert!(
        nodes["lb1:health:selinux-mode"]
            .1
            .contains(&"lb1:command:selinux-mode".to_string())
    );

    sandbox.edit("cluster.toml", |text| {
        text + "\n[selinux]\nmode = \"enforcing\"\n"
    });
    sandbox.compile().success();
    let run = input(&sandbox, "lb1:command:selinux-mode", "run");
    assert!(
        run.contains("setenforce 1 ") && run.contains("SELINUX=enforcing"),
        "{run}"
    );

    sandbox.edit("cluster.toml", |text| {
        text.replace("mode = \"enforcing\"", "mode = \"unmanaged\"")
    });
    sandbox.compile().success();
    let nodes = sandbox.nodes();
    assert!(
        !nodes.keys().any(|name| name.contains("selinux")),
        "unmanaged: no SELinux node"
    );

    sandbox.edit("cluster.toml", |text| {
        text.replace("mode = \"unmanaged\"", "mode = \"permisive\"")
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("`mode` in [selinux] must be one of")
        .stderr_has("did you mean `permissive`?");
}

#[test]
fn the_host_is_initialised_once_docker_time_its_name_its_sources_firewall_and_selinux_are() {
    let sandbox = ha_sandbox();
    let deps_of = |sandbox: &Sandbox| sandbox.nodes()["db1:health:host-initialised"].1.clone();
    let deps = deps_of(&sandbox);
    for dependency in [
        "health:docker-ready",
        "service:chrony.service",
        "command:set-hostname",
        "file:/etc/hosts",
        "package:tools",
        "command:only-cluster-sources",
        "health:selinux-mode",
    ] {
        assert!(
            deps.contains(&format!("db1:{dependency}")),
            "{dependency}: {deps:?}"
        );
    }
    assert!(
        !deps
            .iter()
            .any(|dependency| dependency.contains("nftables")),
        "no firewall by default: {deps:?}"
    );
    let probe = input(&sandbox, "db1:health:host-initialised", "run");
    assert!(!probe.contains("nft "), "{probe}");

    sandbox.edit("cluster.toml", |text| {
        text + "\n[firewall]\nenabled = true\n"
    });
    sandbox.compile().success();
    assert!(deps_of(&sandbox).contains(&"db1:service:nftables.service".to_string()));
    let probe = input(&sandbox, "db1:health:host-initialised", "run");
    assert!(probe.contains("nft list table inet cairn"), "{probe}");

    // The package sources are the cluster's before any package is installed.
    for package in ["tools", "chrony", "docker", "nftables"] {
        assert!(
            sandbox.nodes()[&format!("db1:package:{package}")]
                .1
                .contains(&"db1:command:only-cluster-sources".to_string()),
            "{package}"
        );
    }
}

#[test]
fn a_template_that_includes_another_is_rendered_for_each_host() {
    let sandbox = Sandbox::new();
    sandbox
        .write(
            "modules/whoami/module.toml",
            "[module]\nname = \"whoami\"\ndescription = \"x\"\nroles = [\"master\"]\n\n[[node]]\nkind = \"file\"\npath = \"/etc/whoami\"\ntemplate = \"whoami.j2\"\n",
        )
        .write("modules/whoami/name.j2", "I am {{ host.name }}\n")
        .write(
            "cluster.toml",
            &with_spec_modules(MINIMAL_SPEC).replace(
                "[repository]",
                "[hosts.node2]\naddress = \"127.0.0.2\"\nroles = [\"master\"]\nid = 2\n\n[repository]",
            ),
        );
    // Templates are named by their origin: the module folder as the spec names it.
    sandbox.write(
        "modules/whoami/whoami.j2",
        "{% include \"modules/whoami/name.j2\" %}",
    );
    sandbox.compile().success();
    let contents: Vec<String> = ["node1", "node2"]
        .iter()
        .map(|host| {
            cairn()
                .current_dir(sandbox.path())
                .args([
                    "show",
                    "cluster.lock",
                    &format!("{host}:file:/etc/whoami"),
                    "--json",
                ])
                .run()
                .success()
                .json()["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(contents, ["I am node1\n", "I am node2\n"]);
}

/// Both examples: the dcos-ha example has the images the quick-start leaves out
/// (keepalived's among them).
#[test]
fn every_rendered_shell_script_of_the_examples_parses() {
    let mut checked = BTreeSet::new();
    for example in ["quickstart", "dcos-ha"] {
        let sandbox = Sandbox::with_example(example);
        let nodes = sandbox.show_json();
        for node in nodes.as_array().unwrap() {
            let Some(files) = node["inputs"]["files"].as_array() else {
                continue;
            };
            for file in files {
                let content = file["content"].as_str().unwrap();
                if !content.starts_with("#!/bin/bash") {
                    continue;
                }
                let script = sandbox.path().join("script.sh");
                std::fs::write(&script, content).unwrap();
                let output = std::process::Command::new("bash")
                    .arg("-n")
                    .arg(&script)
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "{example}: {} {}: {}",
                    node["name"],
                    file["path"],
                    String::from_utf8_lossy(&output.stderr)
                );
                checked.insert(node["name"].as_str().unwrap().to_string());
            }
        }
    }
    for image in ["console", "haproxy", "keepalived", "zookeeper"] {
        assert!(
            checked.contains(&format!("cluster:image:{image}")),
            "the examples' images have entrypoint scripts, {image}'s among them: {checked:?}"
        );
    }
}
