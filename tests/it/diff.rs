//! `cairn diff OLD NEW`: what a release changes, why, and what it restarts. Exit 0 when
//! equal, 1 when different, 2 on bad input; either side may be a spec, compiled in memory.

use crate::support::systemd_host::hello_service_nodes;
use crate::support::{Outcome, Sandbox, cairn, copy_tree, repository, run_successfully};

/// `cairn diff` run in the sandbox.
fn diff(sandbox: &Sandbox, arguments: &[&str]) -> Outcome {
    cairn()
        .current_dir(sandbox.path())
        .arg("diff")
        .args(arguments)
        .run()
}

/// The example `name` compiled, its lockfile kept as `old.lock`.
fn example_with_old_lock(name: &str) -> Sandbox {
    let sandbox = Sandbox::with_example(name);
    sandbox.compile().success();
    std::fs::copy(
        sandbox.path().join("cluster.lock"),
        sandbox.path().join("old.lock"),
    )
    .unwrap();
    sandbox
}

/// The quick-start example compiled, its lockfile kept as `old.lock`.
fn quickstart_with_old_lock() -> Sandbox {
    example_with_old_lock("quickstart")
}

/// A module with a pinned package, its config and its service, on hosts of role `hello`.
const HELLO_MODULE: &str = concat!(
    r##"[module]
name = "hello"
description = "a packaged service"
roles = ["hello"]

[settings.hello.version]
type = "string"
doc = "The version of cairn-hello to install."

[[node]]
kind = "package"
name = "hello"
packages = ["cairn-hello={{ hello.version }}"]
deps = ["check:*"]
"##,
    hello_service_nodes!("hello"),
);

/// A spec of the hello module: `hosts` as (name, roles), cairn-hello at `version`.
fn hello_spec(hosts: &[(&str, &[&str])], version: &str) -> String {
    let mut spec = String::from(
        "[cluster]\nname = \"hello\"\ndomain = \"hello.test\"\nmodules = [\"modules\"]\n\
         exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\n",
    );
    for (index, (host, roles)) in hosts.iter().enumerate() {
        let roles: Vec<String> = roles.iter().map(|role| format!("\"{role}\"")).collect();
        spec.push_str(&format!(
            "[hosts.{host}]\naddress = \"10.0.0.{}\"\nroles = [{}]\n\n",
            index + 1,
            roles.join(", ")
        ));
    }
    spec.push_str(&format!(
        "[preflight]\nfilesystem_paths = []\nmin_free_disk = {{ \"/\" = \"1MiB\" }}\n\n[hello]\nversion = \"{version}\"\n"
    ));
    spec
}

fn hello_sandbox(old_spec: &str, new_spec: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .write("modules/hello/module.toml", HELLO_MODULE)
        .write("old.toml", old_spec)
        .write("new.toml", new_spec);
    sandbox
}

fn strings(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|item| item.as_str().expect("a string"))
        .collect()
}

#[test]
fn a_template_change_shows_the_changed_line_names_its_dependants_once_and_the_replaced_container() {
    let sandbox = quickstart_with_old_lock();
    sandbox.edit("../modules/console/console.conf.j2", |text| {
        format!("{text}refresh_seconds = 30\n")
    });
    sandbox.compile().success();

    let outcome = diff(&sandbox, &["old.lock", "cluster.lock"]).code(1);
    let text = &outcome.stdout;
    assert_says(
        text,
        &[
            "~ file:/etc/cairn/console/console.conf",
            "        +refresh_seconds = 30\n",
            "  because of node1:file:/etc/cairn/console/console.conf:\n    node1:container:console\n    node1:health:console-http\n",
        ],
    );
    assert_eq!(
        text.matches("\n  because of ").count(),
        1,
        "the root cause is named once, not once per dependant: {text}"
    );
    assert!(
        text.contains("  node1: replaces container console\n"),
        "{text}"
    );
    assert!(outcome.stderr.is_empty(), "{}", outcome.stderr);
    insta::assert_snapshot!(text);

    let report = diff(&sandbox, &["old.lock", "cluster.lock", "--json"])
        .code(1)
        .json();
    let changed = report["changed"].as_array().unwrap();
    let container = changed
        .iter()
        .find(|node| node["name"] == "node1:container:console")
        .unwrap();
    assert_eq!(container["changed_itself"], false);
    assert_eq!(
        strings(&container["root_causes"]),
        ["node1:file:/etc/cairn/console/console.conf"]
    );
    assert_eq!(
        strings(&report["impact"]["node1"]["containers_replaced"]),
        ["console"]
    );
}

#[test]
fn a_package_version_bump_reads_name_old_arrow_new_and_restarts_the_service() {
    let hosts: &[(&str, &[&str])] = &[("machine", &["hello"])];
    let sandbox = hello_sandbox(&hello_spec(hosts, "1.0"), &hello_spec(hosts, "1.1"));

    let outcome = diff(&sandbox, &["old.toml", "new.toml"]).code(1);
    let text = &outcome.stdout;
    assert_says(
        text,
        &[
            "~ package:hello\n      packages: cairn-hello 1.0 → 1.1\n",
            "  because of machine:package:hello:\n    machine:file:/etc/cairn-hello.conf\n    machine:service:cairn-hello.service\n",
            "  machine: restarts service cairn-hello.service\n",
        ],
    );
    assert!(
        !sandbox.path().join("cluster.lock").exists(),
        "a spec side is compiled in memory, nothing written"
    );

    let report = diff(&sandbox, &["old.toml", "new.toml", "--json"])
        .code(1)
        .json();
    let package = &report["changed"][0];
    assert_eq!(package["name"], "machine:package:hello");
    assert_eq!(
        package["inputs"][0]["changes"][0],
        serde_json::json!({ "package": "cairn-hello", "change": "version", "old": "1.0", "new": "1.1" })
    );
}

#[test]
fn a_host_added_and_one_removed_are_listed_with_their_nodes_and_what_stops() {
    let sandbox = hello_sandbox(
        &hello_spec(&[("alpha", &["hello"]), ("beta", &["hello"])], "1.0"),
        &hello_spec(&[("alpha", &["hello"]), ("gamma", &["hello"])], "1.0"),
    );
    let outcome = diff(&sandbox, &["old.toml", "new.toml"]).code(1);
    let text = &outcome.stdout;
    assert_says(
        text,
        &[
            "  - beta (10.0.0.2; roles: hello)\n",
            "  + gamma (10.0.0.2; roles: hello)\n",
            "  beta: stops service cairn-hello.service; removes",
            "  gamma: starts service cairn-hello.service\n",
        ],
    );

    let report = diff(&sandbox, &["old.toml", "new.toml", "--json"])
        .code(1)
        .json();
    let added = strings(&report["added"]);
    let removed = strings(&report["removed"]);
    assert!(added.contains(&"gamma:package:hello"), "{added:?}");
    assert!(removed.contains(&"beta:package:hello"), "{removed:?}");
    assert!(
        added.iter().all(|name| name.starts_with("gamma:")),
        "{added:?}"
    );
    assert!(
        removed.iter().all(|name| name.starts_with("beta:")),
        "{removed:?}"
    );
    assert!(
        report["changed"].as_array().unwrap().is_empty(),
        "alpha is untouched: {}",
        report["changed"]
    );
}

#[test]
fn a_role_moved_to_another_host_removes_its_nodes_there_and_adds_them_here() {
    let sandbox = hello_sandbox(
        &hello_spec(&[("alpha", &["hello"]), ("beta", &[])], "1.0"),
        &hello_spec(&[("alpha", &[]), ("beta", &["hello"])], "1.0"),
    );
    let outcome = diff(&sandbox, &["old.toml", "new.toml"]).code(1);
    let text = &outcome.stdout;
    assert_says(
        text,
        &["  ~ alpha: roles hello → \n", "  ~ beta: roles  → hello\n"],
    );

    let report = diff(&sandbox, &["old.toml", "new.toml", "--json"])
        .code(1)
        .json();
    for kind_key in [
        "package:hello",
        "file:/etc/cairn-hello.conf",
        "service:cairn-hello.service",
    ] {
        assert!(strings(&report["removed"]).contains(&format!("alpha:{kind_key}").as_str()));
        assert!(strings(&report["added"]).contains(&format!("beta:{kind_key}").as_str()));
    }
    assert_eq!(
        strings(&report["impact"]["alpha"]["services_stopped"]),
        ["cairn-hello.service"]
    );
    assert_eq!(
        strings(&report["impact"]["beta"]["services_started"]),
        ["cairn-hello.service"]
    );
}

#[test]
fn a_rotated_secret_is_said_to_be_rotated_and_neither_value_nor_fingerprint_is_shown() {
    let sandbox = quickstart_with_old_lock();
    let old_value = sandbox.read("secrets/console-session-key");
    sandbox.write("secrets/console-session-key", "a-rotated-session-key\n");
    sandbox.compile().success();
    let fingerprints = secret_fingerprints(&sandbox);
    assert!(!fingerprints.is_empty());

    let text = diff(&sandbox, &["old.lock", "cluster.lock"]).code(1).stdout;
    assert_says(
        &text,
        &[
            "  ~ secret `console.session_key` rotated\n",
            "  ~ container:console\n      secret `console.session_key` rotated\n",
            "  node1: replaces container console\n",
        ],
    );
    let json = diff(&sandbox, &["old.lock", "cluster.lock", "--json"])
        .code(1)
        .stdout;
    assert!(json.contains("\"rotated\""), "{json}");
    assert_shows_no_secret(
        &[&text, &json],
        &[old_value.trim(), "a-rotated-session-key"],
        &fingerprints,
    );
}

/// The name of `host`'s keepalived.conf node.
fn keepalived_conf(host: &str) -> String {
    format!("{host}:file:/etc/cairn/keepalived/keepalived.conf")
}

/// A secret rendered into a file's text (keepalived's `auth_pass`, in the keepalived.conf of
/// the dcos-ha example's load balancers `lb1` and `lb2`; the quick-start has no such secret)
/// rotates as one in a container's environment does: each file is named with the secret,
/// what depends on it changes because of it (the container that mounts it is replaced, and
/// Consul's agent reloads, as after any change to a file of its host), and neither value nor
/// fingerprint is shown.
#[test]
fn a_rotated_secret_in_a_file_text_is_said_to_be_rotated_for_that_file() {
    let sandbox = example_with_old_lock("dcos-ha");
    let old_value = sandbox.read("secrets/keepalived-auth-pass");
    sandbox.write("secrets/keepalived-auth-pass", "Kq7vZ2pw\n");
    sandbox.compile().success();
    let fingerprints = secret_fingerprints(&sandbox);
    assert!(!fingerprints.is_empty());

    let outcome = diff(&sandbox, &["old.lock", "cluster.lock"]).code(1);
    let text = &outcome.stdout;
    assert!(
        text.contains("  ~ secret `keepalived.auth_pass` rotated\n"),
        "{text}"
    );
    for host in ["lb1", "lb2"] {
        assert!(
            text.contains(&format!(
                "\n{host}\n  ~ file:/etc/cairn/keepalived/keepalived.conf\n      secret `keepalived.auth_pass` rotated\n"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "  because of {}:\n    {host}:command:consul-reload\n    {host}:container:keepalived\n",
                keepalived_conf(host)
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("  {host}: replaces container keepalived\n")),
            "{text}"
        );
    }
    assert!(
        !text.contains("@@"),
        "the text itself did not change: {text}"
    );
    assert!(outcome.stderr.is_empty(), "{}", outcome.stderr);

    let json = diff(&sandbox, &["old.lock", "cluster.lock", "--json"]).code(1);
    let report = json.json();
    let changed = report["changed"].as_array().unwrap();
    let files: Vec<&str> = changed
        .iter()
        .filter(|node| node["changed_itself"] == true)
        .map(|node| node["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [keepalived_conf("lb1"), keepalived_conf("lb2")],
        "nothing else changed itself"
    );
    for node in changed {
        let name = node["name"].as_str().unwrap();
        let host = name.split(':').next().unwrap();
        if node["changed_itself"] == true {
            assert_eq!(
                strings(&node["rotated_secrets"]),
                ["keepalived.auth_pass"],
                "{name}"
            );
        } else {
            assert_eq!(
                strings(&node["root_causes"]),
                [keepalived_conf(host)],
                "{name} changes only as a dependant of its host's file"
            );
        }
    }
    assert_shows_no_secret(
        &[text, &json.stdout],
        &[old_value.trim(), "Kq7vZ2pw"],
        &fingerprints,
    );
}

#[test]
fn equal_lockfiles_exit_0_saying_only_no_changes() {
    let sandbox = quickstart_with_old_lock();
    let outcome = diff(&sandbox, &["old.lock", "cluster.lock"]).success();
    assert_eq!(outcome.stdout, "no changes\n");
    assert_eq!(
        diff(&sandbox, &["old.lock", "cluster.toml", "--stat"])
            .success()
            .stdout,
        "no changes\n"
    );
    assert_eq!(
        diff(&sandbox, &["old.lock", "cluster.lock", "--json"])
            .success()
            .json()["equal"],
        true
    );
}

/// Regression: a spec was compiled with the pins of the `cluster.lock` beside it, and its
/// secret files named from there, so a lockfile written elsewhere with `-o` showed changes
/// against its own spec.
#[test]
fn a_lockfile_written_with_o_elsewhere_shows_no_changes_against_its_own_spec() {
    let sandbox = Sandbox::new();
    copy_tree(&repository().join("examples"), sandbox.path());
    let example = sandbox.path().join("quickstart");
    std::fs::create_dir(example.join("releases")).unwrap();
    std::fs::rename(
        example.join("cluster.lock"),
        example.join("releases/1.lock"),
    )
    .unwrap();
    cairn()
        .current_dir(&example)
        .args(["compile", "cluster.toml", "-o", "releases/1.lock"])
        .run()
        .success();
    assert!(!example.join("cluster.lock").exists());
    let release = std::fs::read_to_string(example.join("releases/1.lock")).unwrap();
    assert!(
        release.contains("../secrets/"),
        "secret files are named from the lockfile's folder"
    );

    for arguments in [
        ["releases/1.lock", "cluster.toml"],
        ["cluster.toml", "releases/1.lock"],
    ] {
        let outcome = cairn()
            .current_dir(&example)
            .arg("diff")
            .args(arguments)
            .run()
            .success();
        assert_eq!(outcome.stdout, "no changes\n", "{arguments:?}");
    }
}

#[test]
fn the_stat_counts_changes_per_host_and_kind() {
    let sandbox = quickstart_with_old_lock();
    sandbox.edit("../modules/console/console.conf.j2", |text| {
        format!("{text}refresh_seconds = 30\n")
    });
    let text = diff(&sandbox, &["old.lock", "cluster.toml", "--stat"])
        .code(1)
        .stdout;
    assert_says(
        &text,
        &[
            "node1  file             0        0        1\n",
            "node1  container        0        0        1\n",
            "total                   0        0        3\n",
        ],
    );
}

#[test]
fn a_missing_or_damaged_lockfile_exits_2_naming_the_file() {
    let sandbox = quickstart_with_old_lock();
    diff(&sandbox, &["old.lock", "missing.lock"])
        .code(2)
        .stderr_has("missing.lock");
    sandbox.write(
        "damaged.lock",
        &sandbox.read("old.lock").replacen("id = \"", "id = \"0", 1),
    );
    diff(&sandbox, &["damaged.lock", "old.lock"])
        .code(2)
        .stderr_has("damaged.lock");
}

/// `text` holds each of `parts`.
fn assert_says(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "lacks {part:?}:\n{text}");
    }
}

/// `git` in the sandbox, with an author of its own and no user or system configuration.
fn git(sandbox: &Sandbox, arguments: &[&str]) -> String {
    let output = run_successfully(
        std::process::Command::new("git")
            .current_dir(sandbox.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", sandbox.path())
            .args([
                "-c",
                "user.name=cairn test",
                "-c",
                "user.email=test@cairn.invalid",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(arguments),
        &format!("git {arguments:?}"),
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn git_log_shows_each_commits_lockfile_change_as_cairn_diff_reports_it() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.compile().success();
    sandbox.write(".gitattributes", "*.lock diff=cairn\n");
    git(&sandbox, &["init", "--quiet"]);
    git(
        &sandbox,
        &[
            "config",
            "diff.cairn.command",
            &format!("{} git-diff", env!("CARGO_BIN_EXE_cairn")),
        ],
    );
    git(&sandbox, &["add", "."]);
    git(&sandbox, &["commit", "--quiet", "-m", "release 1"]);
    sandbox.edit("../modules/console/console.conf.j2", |text| {
        format!("{text}refresh_seconds = 30\n")
    });
    sandbox.compile().success();
    git(
        &sandbox,
        &[
            "commit",
            "--quiet",
            "-am",
            "release 2: the console refreshes",
        ],
    );

    let log = git(&sandbox, &["log", "-p", "--ext-diff", "--", "cluster.lock"]);
    let release_2 = log
        .split("\ncommit ")
        .next()
        .expect("the latest commit first");
    assert!(
        release_2.contains("release 2: the console refreshes"),
        "{log}"
    );
    assert!(
        release_2.contains("cairn diff a/cluster.lock b/cluster.lock\n"),
        "{release_2}"
    );
    assert!(
        release_2.contains("        +refresh_seconds = 30\n"),
        "{release_2}"
    );
    assert!(
        release_2.contains("  node1: replaces container console\n"),
        "the blast radius, in the history: {release_2}"
    );
    assert!(log.contains("(a new lockfile)"), "release 1 adds it: {log}");
}

#[test]
fn an_image_pinned_for_the_first_time_lists_each_package_added() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.compile().success();
    let spec = sandbox.read("cluster.toml");
    let sources_start = spec
        .find("sources = [")
        .expect("the quick-start pins its images");
    let sources_end = sources_start + spec[sources_start..].find(']').unwrap() + 1;
    sandbox.write(
        "unpinned.toml",
        &format!("{}{}", &spec[..sources_start], &spec[sources_end..]),
    );
    let text = diff(&sandbox, &["unpinned.toml", "cluster.lock"])
        .code(1)
        .stdout;
    assert!(text.contains("  ~ image:haproxy\n"), "{text}");
    let haproxy_pin = line_with(&text, "pins: + haproxy=");
    assert!(haproxy_pin.is_some(), "each pin its own line:\n{text}");
    assert!(
        !text.contains("pins: (none) →"),
        "never the whole list as one value:\n{text}"
    );
}

/// None of `outputs` shows any of the secret `values` or `fingerprints`.
fn assert_shows_no_secret(outputs: &[&String], values: &[&str], fingerprints: &[String]) {
    for output in outputs {
        for value in values {
            assert!(
                !output.contains(value),
                "the value {value} is shown:\n{output}"
            );
        }
        for fingerprint in fingerprints {
            assert!(
                !output.contains(fingerprint.as_str()),
                "a fingerprint is shown:\n{output}"
            );
        }
    }
}

/// Every secret fingerprint the old and the new lockfile record.
fn secret_fingerprints(sandbox: &Sandbox) -> Vec<String> {
    [sandbox.read("old.lock"), sandbox.read("cluster.lock")]
        .iter()
        .flat_map(|lock| {
            lock.lines()
                .filter_map(|line| line.strip_prefix("fingerprint = "))
                .map(|fingerprint| fingerprint.trim_matches('"').to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The first line of `text` holding `needle`, trimmed.
fn line_with<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim)
        .find(|line| line.contains(needle))
}
