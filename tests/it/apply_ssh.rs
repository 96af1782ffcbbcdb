//! `cairn apply` over SSH to real OpenSSH servers, one per loopback address, with key
//! authentication and verified host keys.

use std::time::{Duration, Instant};

use crate::support::app_cluster::{AppCluster, names, ran_besides_checks};
use crate::support::app_cluster_checks::assert_converged;
use crate::support::cairn;
use crate::support::mid_command_cut::{
    ALIVE_EVERY_SECOND, add_slow_command, apply_failing_after_a_cut,
};
use crate::support::ssh_fixture::SshFixture;

const ADDRESSES: [&str; 3] = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];

/// sshd servers on `addresses`, and the app cluster over SSH to them, compiled.
fn compiled_over_ssh(addresses: &[&str]) -> (SshFixture, AppCluster) {
    let fixture = SshFixture::start(addresses);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    cluster.compile();
    (fixture, cluster)
}

#[test]
fn three_hosts_over_ssh_converge_and_a_second_apply_runs_only_the_checks() {
    let (_fixture, cluster) = compiled_over_ssh(&ADDRESSES);
    let (outcome, report) = cluster.apply();
    outcome.success();
    for host in ["host1", "host2", "host3"] {
        assert_converged(&cluster, &report, host);
    }
    let (outcome, report) = cluster.apply();
    outcome.success();
    for host in ["host1", "host2", "host3"] {
        assert_eq!(ran_besides_checks(&report, host), Vec::<String>::new());
        assert_eq!(names(&report, host, "skipped").len(), 4);
    }
}

#[test]
fn a_host_that_is_down_fails_alone_while_the_rest_converge() {
    let fixture = SshFixture::start(&ADDRESSES);
    let cluster = AppCluster::over_ssh(&fixture, &[("host4", "127.0.0.5")]);
    cluster.compile();
    let (outcome, report) = cluster.apply();
    outcome
        .code(1)
        .stderr_has("host4")
        .stderr_has("cannot connect to ssh://root@127.0.0.5");
    for host in ["host1", "host2", "host3"] {
        assert_eq!(report["hosts"][host]["succeeded"], true, "{host}");
    }
    assert_eq!(report["hosts"]["host4"]["succeeded"], false);
    assert_eq!(names(&report, "host4", "not_run").len(), 8);
}

#[test]
fn an_unknown_host_key_is_refused_unless_the_operator_accepts_it() {
    let (fixture, cluster) = compiled_over_ssh(&ADDRESSES[..1]);
    let empty_known_hosts = cluster.sandbox.path().join("empty_known_hosts");
    std::fs::write(&empty_known_hosts, "").unwrap();
    let apply = |extra: &[&str]| {
        cairn()
            .current_dir(cluster.sandbox.path())
            .args(["apply", "cluster.lock", "--identity"])
            .arg(fixture.identity())
            .arg("--known-hosts")
            .arg(&empty_known_hosts)
            .args(extra)
            .run()
    };
    apply(&[])
        .code(1)
        .stderr_has("the host key is not in")
        .stderr_has("SHA256:")
        .stderr_has("--accept-new-host-keys");
    assert!(
        !cluster.host_file("host1", "/etc/app/app.conf").exists(),
        "nothing happens on an untrusted host"
    );

    apply(&["--accept-new-host-keys"]).success();
    let recorded = std::fs::read_to_string(&empty_known_hosts).unwrap();
    assert!(
        recorded.contains(&format!("[127.0.0.2]:{}", fixture.servers[0].port)),
        "{recorded}"
    );
    apply(&[]).success();
}

#[test]
fn a_changed_host_key_is_refused_even_when_new_keys_are_accepted() {
    let (fixture, cluster) = compiled_over_ssh(&ADDRESSES[..1]);
    // A known_hosts entry for the host with another key: what a man in the middle looks like.
    let impostor = cluster.sandbox.path().join("impostor");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&impostor)
        .status()
        .unwrap();
    let impostor_key = std::fs::read_to_string(impostor.with_extension("pub")).unwrap();
    let impostor_key: Vec<&str> = impostor_key.split_whitespace().take(2).collect();
    let known_hosts = cluster.sandbox.path().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!(
            "[127.0.0.2]:{} {}\n",
            fixture.servers[0].port,
            impostor_key.join(" ")
        ),
    )
    .unwrap();
    cairn()
        .current_dir(cluster.sandbox.path())
        .args([
            "apply",
            "cluster.lock",
            "--accept-new-host-keys",
            "--identity",
        ])
        .arg(fixture.identity())
        .arg("--known-hosts")
        .arg(&known_hosts)
        .run()
        .code(1)
        .stderr_has("the host key does not match")
        .stderr_has("ssh-keygen -R");
}

#[test]
fn killed_with_sigkill_mid_apply_a_rerun_converges_and_no_file_is_ever_partial() {
    let fixture = SshFixture::start(&ADDRESSES);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    // Large files, one after another, so the kill lands while files are in flight.
    let mut module =
        std::fs::read_to_string(cluster.sandbox.path().join("modules/app/module.toml")).unwrap();
    let mut previous = "file:/etc/app/app.conf".to_string();
    for index in 0..8 {
        module.push_str(&format!(
            "\n[[node]]\nkind = \"file\"\npath = \"/srv/data/part-{index}\"\ntemplate = \"big.j2\"\ndeps = [\"{previous}\"]\n"
        ));
        previous = format!("file:/srv/data/part-{index}");
    }
    cluster.sandbox.write("modules/app/module.toml", &module);
    cluster.sandbox.write(
        "modules/app/big.j2",
        "{% for block in range(40) %}{% for line in range(1000) %}line {{ block }}.{{ line }} of {{ host.name }}: the quick brown fox\n{% endfor %}{% endfor %}",
    );
    cluster.compile();
    let expected: std::collections::BTreeMap<String, String> = {
        let nodes = cluster.sandbox.show_json();
        nodes
            .as_array()
            .unwrap()
            .iter()
            .filter(|node| {
                node["kind"] == "file" && node["path"].as_str().unwrap().starts_with("/srv/data/")
            })
            .map(|node| {
                (
                    node["name"].as_str().unwrap().to_string(),
                    node["content"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(expected.len(), 24);

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(cluster.sandbox.path())
        .args(["apply", "cluster.lock"])
        .args(&cluster.connection)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill once some, not all, of the big files are in place.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let written = (0..8)
            .filter(|index| {
                cluster
                    .host_file("host1", &format!("/srv/data/part-{index}"))
                    .exists()
            })
            .count();
        if written >= 2 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let check_whole = |stage: &str| {
        let mut present = 0;
        for (name, content) in &expected {
            let (host, rest) = name.split_once(':').unwrap();
            let path = rest.split_once(':').unwrap().1;
            if let Ok(on_host) = std::fs::read_to_string(cluster.host_file(host, path)) {
                assert!(
                    on_host == *content,
                    "{stage}: {name} is on its host but not whole"
                );
                present += 1;
            }
        }
        present
    };
    let present = check_whole("after the kill");
    assert!(
        present < expected.len(),
        "the kill came before the apply finished ({present} files)"
    );

    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(check_whole("after the rerun"), expected.len());
    assert!(
        !names(&report, "host1", "skipped").is_empty() || present == 0,
        "the rerun skipped what was done"
    );
    let leftovers = std::process::Command::new("find")
        .arg(cluster.sandbox.path().join("hosts"))
        .args(["-name", ".cairn.*.tmp"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&leftovers.stdout),
        "",
        "no temporary file is left"
    );
}

#[test]
fn a_host_addressed_by_an_ssh_config_alias_is_reached_through_its_hostname() {
    let fixture = SshFixture::start(&ADDRESSES[..1]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    // The spec names the host by an alias only the SSH configuration resolves.
    cluster.sandbox.replace(
        "cluster.toml",
        "address = \"127.0.0.2\"",
        "address = \"app-one\"",
    );
    cluster
        .sandbox
        .write("ssh_config", "Host app-*\n    HostName 127.0.0.2\n");
    cluster.compile();
    let mut arguments = cluster.connection.clone();
    arguments.extend(["--ssh-config".to_string(), "ssh_config".to_string()]);
    cairn()
        .current_dir(cluster.sandbox.path())
        .args(["apply", "cluster.lock"])
        .args(&arguments)
        .run()
        .success();
    assert!(cluster.host_file("host1", "/etc/app/app.conf").exists());
    cairn()
        .current_dir(cluster.sandbox.path())
        .args(["apply", "cluster.lock", "--ssh-config", "missing_config"])
        .run()
        .code(2)
        .stderr_has("cannot read the SSH configuration missing_config");
}

/// `cairn apply` bounded in time: a hang fails the test instead of the whole run.
fn apply_within(cluster: &AppCluster, seconds: u32) -> std::process::Output {
    std::process::Command::new("timeout")
        .arg(seconds.to_string())
        .arg(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(cluster.sandbox.path())
        .args(["apply", "cluster.lock"])
        .args(&cluster.connection)
        .output()
        .unwrap()
}

#[test]
fn a_script_flooding_stderr_or_refusing_its_input_fails_without_hanging() {
    let fixture = SshFixture::start(&ADDRESSES[..1]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    cluster.sandbox.edit("modules/app/module.toml", |text| {
        format!(
            "{text}\n[[node]]\nkind = \"command\"\nname = \"noisy\"\nrun = \"head -c 3000000 /dev/zero | tr '\\\\\\\\0' x >&2; exit 3\"\n\n\
             [[node]]\nkind = \"file\"\npath = \"/srv/big\"\nowner = \"no-such-user\"\ntemplate = \"big.j2\"\n"
        )
    });
    cluster.sandbox.write(
        "modules/app/big.j2",
        "{% for block in range(60) %}{% for line in range(1000) %}line {{ block }}.{{ line }} of a file whose owner does not exist\n{% endfor %}{% endfor %}",
    );
    cluster.compile();
    let output = apply_within(&cluster, 60);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("host1:command:noisy"), "{stderr}");
    assert!(stderr.contains("host1:file:/srv/big"), "{stderr}");
    assert!(
        cluster.host_file("host1", "/etc/app/app.conf").exists(),
        "the rest converged"
    );
}

#[test]
fn a_host_whose_network_vanishes_mid_command_fails_instead_of_hanging() {
    let network = crate::support::network_namespaces::PrivateNetwork::create("cut", 1);
    let namespace = &network.hosts[0];
    let fixture = SshFixture::start_in_namespace(&namespace.address, 2222, &namespace.namespace);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    add_slow_command(&cluster, 120);
    cluster.sandbox.write("ssh_config", ALIVE_EVERY_SECOND);
    cluster.compile();
    let stderr = apply_failing_after_a_cut(
        &cluster,
        &["--ssh-config", "ssh_config"],
        100,
        Duration::from_secs(15),
        || namespace.cut(),
    );
    assert!(stderr.contains("host1"), "{stderr}");
}

#[test]
fn plan_exits_2_naming_an_unreachable_host_and_still_plans_the_others() {
    let fixture = SshFixture::start(&ADDRESSES[..1]);
    let cluster = AppCluster::over_ssh(&fixture, &[("host4", "127.0.0.5")]);
    cluster.compile();
    let outcome = cairn()
        .current_dir(cluster.sandbox.path())
        .args(["plan", "cluster.lock", "--json"])
        .args(&cluster.connection)
        .run()
        .code(2)
        .stderr_has(
            "error: cannot read the state of host `host4`: cannot connect to ssh://root@127.0.0.5",
        );
    let plan = outcome.json();
    assert!(plan["hosts"]["host4"]["unreachable"].is_string());
    assert_eq!(
        plan["hosts"]["host1"]["unreachable"],
        serde_json::Value::Null
    );
    let runs = plan["hosts"]["host1"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|node| node["action"] == "run")
        .count();
    assert_eq!(runs, 8, "host1 is planned all the same: {plan}");
}

#[test]
fn apply_json_times_each_node_and_host_and_counts_the_bytes_sent_to_each_host() {
    let fixture = SshFixture::start(&ADDRESSES[..2]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    cluster.sandbox.edit("modules/app/module.toml", |text| {
        format!("{text}\n[[node]]\nkind = \"command\"\nname = \"slow\"\nrun = \"sleep 0.4\"\n")
    });
    cluster.compile();
    let (outcome, report) = cluster.apply_with(&["--timings"]);
    let outcome = outcome
        .success()
        .stderr_has("slowest nodes (of 18 run):\n")
        .stderr_has("hosts by wall time");
    let slowest = outcome
        .stderr
        .split("slowest nodes")
        .nth(1)
        .and_then(|rest| rest.lines().nth(1))
        .unwrap();
    assert!(slowest.ends_with(":command:slow"), "{}", outcome.stderr);
    let conf_bytes = "greeting = hello from host1\ntoken = the-token-value\n".len()
        + "the same on every host\n".len();
    for host in ["host1", "host2"] {
        let host_report = &report["hosts"][host];
        let durations = host_report["durations_ms"].as_object().unwrap();
        let ran: Vec<String> = names(&report, host, "ran");
        assert_eq!(durations.len(), ran.len(), "{host_report}");
        for node in &ran {
            assert!(durations[&format!("{host}:{node}")].is_u64(), "{node}");
        }
        let slow = durations[&format!("{host}:command:slow")].as_u64().unwrap();
        assert!(slow >= 400, "sleep 0.4 took {slow} ms");
        let wall = host_report["wall_ms"].as_u64().unwrap();
        let longest = durations
            .values()
            .filter_map(|value| value.as_u64())
            .max()
            .unwrap();
        assert!(wall >= longest && wall <= report["elapsed_ms"].as_u64().unwrap());
        assert!(host_report["reach_ms"].is_u64());
        let sent = &host_report["sent"];
        // The lock script, each node's script, and the files' contents on stdin.
        assert!(
            sent["commands"].as_u64().unwrap() > ran.len() as u64,
            "{sent}"
        );
        assert!(
            sent["stdin_bytes"].as_u64().unwrap() >= conf_bytes as u64,
            "{sent}"
        );
        assert!(sent["script_bytes"].as_u64().unwrap() > 1000, "{sent}");
    }
    // Nothing to write the second time: no file content is sent.
    let (outcome, again) = cluster.apply();
    outcome.success();
    let sent = &again["hosts"]["host1"]["sent"];
    assert!(
        sent["stdin_bytes"].as_u64().unwrap() < conf_bytes as u64,
        "{sent}"
    );
}
