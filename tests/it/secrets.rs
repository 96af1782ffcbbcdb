//! Secrets are references in the spec and fingerprints in the lockfile: never values.

use crate::support::{Sandbox, changed_ids, with_dependants};

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
    sandbox.edit("cluster.toml", |text| {
        text.replace(
            r#"session_key = { file = "secrets/console-session-key" }"#,
            r#"session_key = { env = "CAIRN_TEST_SECRET" }"#,
        )
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("set the environment variable CAIRN_TEST_SECRET");
    crate::support::cairn()
        .current_dir(sandbox.path())
        .env("CAIRN_TEST_SECRET", "value-from-the-environment")
        .args(["compile", "cluster.toml"])
        .run()
        .success();
    let lock = sandbox.read("cluster.lock");
    assert!(lock.contains("env = \"CAIRN_TEST_SECRET\""));
    assert!(!lock.contains("value-from-the-environment"));
}
