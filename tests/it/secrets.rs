//! Secrets are references in the spec and fingerprints in the lockfile: never values.

use crate::support::app_cluster::{AppCluster, names, ran_besides_checks};
use crate::support::app_cluster_checks::APP_CONF_AND_DEPENDANTS;
use crate::support::{Sandbox, cairn, changed_ids, file_content, with_dependants};

const SECRET_VALUE: &str = "example-console-session-key-do-not-use-in-production";

#[test]
fn a_lockfile_holds_a_secret_fingerprint_and_never_its_value() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.compile().success();
    let lock = sandbox.read("cluster.lock");
    assert!(!lock.contains(SECRET_VALUE));
    assert!(lock.contains("[secrets.\"console.session_key\"]"));
    assert!(lock.contains("CONSOLE_SESSION_KEY = { secret = \"console.session_key\" }"));
}

#[test]
fn a_rotated_secret_changes_the_nodes_that_use_it_and_their_dependants() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.compile().success();
    let before = sandbox.nodes();

    sandbox.write("secrets/console-session-key", "a-rotated-key\n");
    sandbox.compile().success();
    let after = sandbox.nodes();

    assert_eq!(
        changed_ids(&before, &after),
        with_dependants(&before, &["node1:container:console"])
    );
    assert!(!sandbox.read("cluster.lock").contains("a-rotated-key"));
}

#[test]
fn an_unreadable_secret_keeps_the_fingerprint_of_the_existing_lockfile() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.compile().success();
    let before = sandbox.read("cluster.lock");
    std::fs::remove_file(sandbox.path().join("secrets/console-session-key")).unwrap();
    sandbox
        .compile()
        .success()
        .stderr_has("fingerprint is kept from the existing lockfile");
    assert_eq!(sandbox.read("cluster.lock"), before);
}

#[test]
fn an_unreadable_secret_without_a_lockfile_is_an_error_naming_it() {
    let sandbox = Sandbox::with_example("quickstart");
    std::fs::remove_file(sandbox.path().join("cluster.lock")).unwrap();
    std::fs::remove_file(sandbox.path().join("secrets/console-session-key")).unwrap();
    let line = sandbox
        .read("cluster.toml")
        .lines()
        .position(|line| line.starts_with("session_key = "))
        .expect("the spec names the session key")
        + 1;
    sandbox
        .compile()
        .code(2)
        .stderr_has("cannot read secret `console.session_key`")
        .stderr_has(&format!("cluster.toml:{line}:15"))
        .stderr_has("hint: create secrets/console-session-key");
    assert!(!sandbox.path().join("cluster.lock").exists());
}

#[test]
fn a_secret_from_the_environment_is_fingerprinted_and_a_missing_one_named() {
    let sandbox = Sandbox::with_example("quickstart");
    std::fs::remove_file(sandbox.path().join("cluster.lock")).unwrap();
    sandbox.replace(
        "cluster.toml",
        r#"session_key = { file = "secrets/console-session-key" }"#,
        r#"session_key = { env = "CAIRN_TEST_SECRET" }"#,
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("set the environment variable CAIRN_TEST_SECRET");
    cairn()
        .current_dir(sandbox.path())
        .env("CAIRN_TEST_SECRET", "value-from-the-environment")
        .args(["compile", "cluster.toml"])
        .run()
        .success();
    let lock = sandbox.read("cluster.lock");
    assert!(lock.contains("env = \"CAIRN_TEST_SECRET\""));
    assert!(!lock.contains("value-from-the-environment"));
}

/// The hosts of the dcos-ha example whose keepalived.conf holds keepalived's `auth_pass`.
/// (The quick-start renders no secret into a file's text: its one load balancer runs no
/// keepalived, and the console's session key is a container's environment.)
const LOAD_BALANCERS: [&str; 2] = ["lb1", "lb2"];

/// The name of `host`'s keepalived.conf node.
fn keepalived_conf(host: &str) -> String {
    format!("{host}:file:/etc/cairn/keepalived/keepalived.conf")
}

/// keepalived's `auth_pass` is rendered into keepalived.conf as a placeholder that apply
/// fills in: rotating it must change that file's id on each load balancer (and what depends
/// on it), or neither `diff` nor `apply` would notice and the hosts would keep the old
/// password.
#[test]
fn a_rotated_secret_in_a_file_text_changes_that_file_and_its_dependants_and_nothing_else() {
    let sandbox = Sandbox::with_example("dcos-ha");
    sandbox.compile().success();
    let before = sandbox.nodes();
    let configs = LOAD_BALANCERS.map(keepalived_conf);
    let nodes_before = sandbox.show_json();
    let contents_before = configs
        .each_ref()
        .map(|config| file_content(&nodes_before, config));
    for content in &contents_before {
        assert!(
            content.contains("@@CAIRN_SECRET(keepalived.auth_pass)@@"),
            "{content}"
        );
    }

    sandbox.write("secrets/keepalived-auth-pass", "Zp4mW8rt\n");
    sandbox.compile().success();
    let after = sandbox.nodes();

    let changed = changed_ids(&before, &after);
    assert_eq!(
        changed,
        with_dependants(&before, &configs.each_ref().map(String::as_str))
    );
    for host in LOAD_BALANCERS {
        assert!(
            changed.contains(&format!("{host}:container:keepalived")),
            "the container mounting the file is replaced on {host}: {changed:?}"
        );
    }
    let nodes_after = sandbox.show_json();
    for (config, content_before) in configs.iter().zip(&contents_before) {
        assert_eq!(
            &file_content(&nodes_after, config),
            content_before,
            "the text of {config} is the same; the secret it references is another"
        );
    }
    assert!(!sandbox.read("cluster.lock").contains("Zp4mW8rt"));

    let fingerprint = sandbox
        .read("cluster.lock")
        .split("[secrets.\"keepalived.auth_pass\"]")
        .nth(1)
        .and_then(|rest| rest.lines().find(|line| line.starts_with("fingerprint = ")))
        .expect("the secret's fingerprint")
        .trim_start_matches("fingerprint = ")
        .trim_matches('"')
        .to_string();
    for config in &configs {
        let explained = sandbox
            .cairn(&["explain", "cluster.lock", config])
            .success()
            .stdout;
        assert!(
            explained.contains("\"secret\": \"keepalived.auth_pass\""),
            "{explained}"
        );
        assert!(explained.contains(&fingerprint), "{explained}");
        assert!(!explained.contains("Zp4mW8rt"), "{explained}");
    }
}

/// The regression the id change is for: a host that applied the file before the rotation
/// gets the new value, written into its file, and nothing else runs but what depends on it.
#[test]
fn applying_after_a_secret_in_a_file_text_rotated_writes_the_new_value_into_the_file() {
    let cluster = AppCluster::local(&["alpha"]);
    cluster.compile();
    cluster.apply().0.success();
    let conf = cluster.host_file("alpha", "/etc/app/app.conf");
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "greeting = hello from alpha\ntoken = the-token-value\n"
    );

    cluster.sandbox.write("secrets/token", "a-rotated-token\n");
    cluster.compile();
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(
        ran_besides_checks(&report, "alpha"),
        APP_CONF_AND_DEPENDANTS
    );
    assert!(names(&report, "alpha", "skipped").contains(&"file:/etc/app/shared.txt".to_string()));
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "greeting = hello from alpha\ntoken = a-rotated-token\n"
    );
    assert!(
        !cluster
            .sandbox
            .read("cluster.lock")
            .contains("a-rotated-token")
    );

    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(
        ran_besides_checks(&report, "alpha"),
        Vec::<String>::new(),
        "a second apply finds the file applied"
    );
}

/// A secret changed on disk without a recompile would be installed under the ids of the
/// old value: the host's state would say one thing and its file hold another. Apply checks
/// each secret's fingerprint before using it and refuses the new value, naming the secret.
#[test]
fn a_secret_changed_without_a_recompile_is_refused_by_apply_naming_it() {
    let cluster = AppCluster::local(&["alpha"]);
    cluster.compile();
    cluster
        .sandbox
        .write("secrets/token", "changed-behind-the-lockfile\n");
    let (outcome, _report) = cluster.apply();
    // The value is never shown.
    outcome
        .code(1)
        .stderr_has("secret `app.token`")
        .stderr_has("is not the value the lockfile was compiled with")
        .stderr_has("compile the spec again")
        .stderr_lacks("changed-behind-the-lockfile");
    let conf = cluster.host_file("alpha", "/etc/app/app.conf");
    assert!(!conf.exists(), "no file holds the unchecked value");

    cluster.compile();
    cluster.apply().0.success();
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "greeting = hello from alpha\ntoken = changed-behind-the-lockfile\n"
    );
}

#[test]
fn a_fingerprint_key_of_random_bytes_is_read_by_apply_as_compile_read_it() {
    let cluster = AppCluster::local(&["alpha"]);
    let random_bytes: Vec<u8> = (0..32u8).map(|byte| byte.wrapping_mul(97) ^ 0xff).collect();
    assert!(String::from_utf8(random_bytes.clone()).is_err());
    std::fs::write(
        cluster.sandbox.path().join("secrets/fingerprint.key"),
        &random_bytes,
    )
    .unwrap();
    cluster.compile();
    cluster.apply().0.success();
    assert_eq!(
        std::fs::read_to_string(cluster.host_file("alpha", "/etc/app/app.conf")).unwrap(),
        "greeting = hello from alpha\ntoken = the-token-value\n"
    );
}

#[test]
fn secrets_without_a_fingerprint_key_are_refused() {
    let sandbox = Sandbox::with_example("quickstart");
    std::fs::remove_file(sandbox.path().join("cluster.lock")).unwrap();
    sandbox.replace(
        "cluster.toml",
        "fingerprint_key = { file = \"secrets/fingerprint.key\" }\n",
        "",
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("the spec has secrets")
        .stderr_has("no `fingerprint_key` in [cluster]")
        .stderr_has("head -c 32 /dev/urandom");
}

#[test]
fn a_spec_cannot_smuggle_a_secret_placeholder_into_a_template() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.replace(
        "cluster.toml",
        "title = \"Quick-start console\"",
        "title = \"@@CAIRN_SECRET(console.session_key)@@\"",
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("the spec holds the marker cairn uses for secret placeholders");
}

#[test]
fn an_absolute_secret_path_is_recorded_as_written_wherever_the_spec_is() {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "a-session-key\n").unwrap();
    let absolute = secret.path().display().to_string();
    let mut locks = Vec::new();
    for depth in ["a", "a/b/c"] {
        let sandbox = Sandbox::new();
        let examples = sandbox.path().join(depth);
        crate::support::copy_tree(&crate::support::repository().join("examples"), &examples);
        let folder = examples.join("quickstart");
        let spec = folder.join("cluster.toml");
        let relative = "session_key = { file = \"secrets/console-session-key\" }";
        let text = std::fs::read_to_string(&spec).unwrap();
        assert!(
            text.contains(relative),
            "the quick-start's session key is a file"
        );
        let text = text.replace(
            relative,
            &format!("session_key = {{ file = \"{absolute}\" }}"),
        );
        std::fs::write(&spec, text).unwrap();
        cairn()
            .current_dir(&folder)
            .args(["compile", "cluster.toml"])
            .run()
            .success();
        locks.push(std::fs::read_to_string(folder.join("cluster.lock")).unwrap());
    }
    assert!(locks[0].contains(&format!("file = \"{absolute}\"")));
    assert_eq!(locks[0], locks[1]);
}

#[test]
fn a_secret_in_an_image_or_a_command_is_refused() {
    for (file, appended, refusal) in [
        (
            "../modules/console/entrypoint.sh.j2",
            "# {{ console.session_key }}\n",
            "secret `console.session_key` is in an image",
        ),
        (
            "../modules/console/module.toml",
            "\n[[node]]\nkind = \"command\"\nname = \"leak\"\nrun = \"echo {{ console.session_key }}\"\n",
            "secret `console.session_key` is used where apply cannot keep it out of sight",
        ),
    ] {
        let sandbox = Sandbox::with_example("quickstart");
        sandbox.edit(file, |text| format!("{text}{appended}"));
        sandbox.compile().code(2).stderr_has(refusal);
    }
}
