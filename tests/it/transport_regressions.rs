//! The transports against real programs (sh, sshd, ssh-keygen, flock): regressions found
//! in review, each named after what broke.

use std::path::Path;
use std::process::Command;

use cairn_executor::transport::{LocalTransport, SshOptions, SshTransport, Transport};

use crate::support::app_cluster::{AppCluster, ran_besides_checks};
use crate::support::ssh_fixture::SshFixture;

/// A transport to the fixture's first server, trusting keys through `known_hosts`.
fn ssh_transport(
    fixture: &SshFixture,
    known_hosts: &Path,
    accept_new_host_keys: bool,
) -> SshTransport {
    let server = &fixture.servers[0];
    SshTransport::new(
        &server.address,
        Some("root"),
        Some(server.port),
        &SshOptions {
            identities: vec![fixture.identity()],
            known_hosts: known_hosts.to_path_buf(),
            accept_new_host_keys,
            ..SshOptions::default()
        },
    )
    .expect("no SSH configuration is in the way")
}

/// A script of over 200 KiB, past the 128 KiB the kernel allows one argument: a
/// here-document of lines a shell could misread, counted, then stdin echoed back.
fn long_script() -> (String, usize) {
    let mut text = String::new();
    let mut line_number = 0;
    while text.len() < 220 * 1024 {
        text.push_str(&format!(
            "line {line_number}: it's \"quoted\" $HOME `date` \\ END\n"
        ));
        line_number += 1;
    }
    let script = format!("set -e\ncat <<'CAIRN_TEXT' | wc -c\n{text}CAIRN_TEXT\nexec cat\n");
    (script, text.len())
}

#[test]
fn a_script_longer_than_an_argument_may_be_runs_locally_and_over_ssh_with_its_stdin_intact() {
    let fixture = SshFixture::start(&["127.0.0.2"]);
    let ssh = ssh_transport(&fixture, &fixture.known_hosts(), false);
    let (script, text_length) = long_script();
    let mut stdin: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    stdin.extend_from_slice(b"\necho injected\nexit 9\n");
    let mut expected = format!("{text_length}\n").into_bytes();
    expected.extend_from_slice(&stdin);

    let transports: [&dyn Transport; 2] = [&LocalTransport, &ssh];
    for transport in transports {
        let address = transport.address();
        let output = transport.run(&script, &stdin).unwrap();
        assert!(output.success(), "{address}: {}", output.failure_text());
        assert!(
            output.stdout == expected,
            "{address}: the here-document's size, then stdin byte for byte"
        );

        // The host lock's shape: a long script that holds until its stdin closes.
        let held_script = format!(
            "{}echo holding\necho '{}'\nexec cat >/dev/null\n",
            script.replace("exec cat\n", ""),
            cairn_executor::transport::HELD_MARKER
        );
        let (said, held) = transport.hold(&held_script, b"").unwrap();
        assert_eq!(said, format!("{text_length}\nholding\n"), "{address}");
        drop(held);

        // A long held script that fails before it holds says why.
        let failing_script = format!(
            "{}echo 'no lock today' >&2\nexit 3\n",
            script.replace("exec cat\n", "")
        );
        let error = transport
            .hold(&failing_script, b"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("ended early: no lock today"),
            "{address}: {error}"
        );
    }
}

#[test]
fn a_host_whose_facts_script_exceeds_the_argument_limit_applies_over_ssh_and_plans_nothing_to_run()
{
    let fixture = SshFixture::start(&["127.0.0.3"]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    // The facts script names every file path of the host. A thousand files of ordinary
    // paths make it as long as these few hundred long ones, which apply in less time.
    let folder = format!(
        "/srv/{}/{}",
        "a-folder-with-a-long-name".repeat(8),
        "another-long-folder-name".repeat(8)
    );
    let paths: Vec<String> = (0..280)
        .map(|index| {
            format!(
                "{folder}/file-{index:04}-{}.conf",
                "of-a-host-with-many-files".repeat(8)
            )
        })
        .collect();
    let path_bytes: usize = paths.iter().map(|path| path.len() + 3).sum();
    assert!(path_bytes > 160 * 1024, "{path_bytes} bytes of paths");
    cluster.sandbox.edit("modules/app/module.toml", |mut text| {
        for (index, path) in paths.iter().enumerate() {
            text.push_str(&format!(
                "\n[[node]]\nkind = \"file\"\npath = \"{path}\"\ncontent = \"file {index}\\n\"\n"
            ));
        }
        text
    });
    cluster.compile();
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(ran_besides_checks(&report, "host1").len(), paths.len() + 4);
    assert_eq!(
        std::fs::read_to_string(cluster.host_file("host1", &paths[279])).unwrap(),
        "file 279\n"
    );

    // Planning reads the facts again, every file hashed on the host: nothing left to do.
    let plan = cluster.plan();
    let nodes = plan["hosts"]["host1"]["nodes"].as_array().unwrap();
    // The checks run, and the barrier behind them waits for them (it runs nothing).
    let to_run: Vec<&serde_json::Value> = nodes
        .iter()
        .filter(|node| node["action"] != "skip" && node["action"] != "wait")
        .filter(|node| !node["name"].as_str().unwrap().starts_with("host1:check:"))
        .collect();
    assert!(to_run.is_empty(), "nothing but the checks runs: {to_run:?}");
    let skipped = nodes.iter().filter(|node| node["action"] == "skip").count();
    assert_eq!(skipped, paths.len() + 4);
}

/// A known_hosts an operator might have: comments, a hashed entry, a CA and a revoked
/// key, blank lines, odd spacing, and no final newline.
fn operators_known_hosts(directory: &Path) -> String {
    let other = directory.join("other_key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(status.success());
    let other_key = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let other_key: Vec<&str> = other_key.split_whitespace().take(2).collect();
    let other_key = other_key.join(" ");
    // A hashed entry as `ssh-keygen -H` writes it.
    let hashed = directory.join("hashed");
    std::fs::write(&hashed, format!("10.9.8.7 {other_key}\n")).unwrap();
    let status = Command::new("ssh-keygen")
        .arg("-q")
        .arg("-H")
        .arg("-f")
        .arg(&hashed)
        .status()
        .unwrap();
    assert!(status.success());
    let hashed_line = std::fs::read_to_string(&hashed).unwrap();
    assert!(hashed_line.starts_with("|1|"), "{hashed_line}");
    format!(
        "# the operator's notes: keep\n\n{hashed_line}@cert-authority *.example.com {other_key} the example CA\n\
         @revoked [10.9.8.6]:2222 {other_key}\n   \t# an indented comment\n\
         10.9.8.5,db-old    {other_key}   a comment with  spaces"
    )
}

#[test]
fn accepting_a_new_host_key_appends_one_openssh_line_and_keeps_every_other_byte() {
    let fixture = SshFixture::start(&["127.0.0.4"]);
    let server = &fixture.servers[0];
    let directory = tempfile::tempdir().unwrap();
    let known_hosts = directory.path().join("known_hosts");
    let before = operators_known_hosts(directory.path());
    std::fs::write(&known_hosts, &before).unwrap();

    let output = ssh_transport(&fixture, &known_hosts, true)
        .run("echo reached", b"")
        .unwrap();
    assert_eq!(output.stdout_text(), "reached\n");

    let host_key =
        std::fs::read_to_string(fixture.directory.path().join("host_key_0.pub")).unwrap();
    let host_key: Vec<&str> = host_key.split_whitespace().take(2).collect();
    let new_line = format!(
        "[{}]:{} {}\n",
        server.address,
        server.port,
        host_key.join(" ")
    );
    let after = std::fs::read_to_string(&known_hosts).unwrap();
    assert_eq!(after, format!("{before}\n{new_line}"));

    // OpenSSH's own reader finds the new line for the host.
    let found = Command::new("ssh-keygen")
        .arg("-F")
        .arg(format!("[{}]:{}", server.address, server.port))
        .arg("-f")
        .arg(&known_hosts)
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&found.stdout);
    assert!(found.contains(new_line.trim_end()), "{found}");
    assert!(found.contains("found: line 8"), "{found}");

    // Trusted from now on, without accepting anything new.
    let output = ssh_transport(&fixture, &known_hosts, false)
        .run("echo trusted", b"")
        .unwrap();
    assert_eq!(output.stdout_text(), "trusted\n");
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), after);

    // The host's recorded key replaced by another: refused, even when accepting new keys,
    // and the file stays as it was.
    let impostor_key = before
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let changed = after.replace(&host_key.join(" "), &impostor_key);
    std::fs::write(&known_hosts, &changed).unwrap();
    let error = ssh_transport(&fixture, &known_hosts, true)
        .run("echo reached", b"")
        .unwrap_err()
        .to_string();
    assert!(error.contains("the host key does not match"), "{error}");
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), changed);
}

#[test]
fn two_first_connections_at_once_record_the_host_key_once() {
    let fixture = SshFixture::start(&["127.0.0.4"]);
    let directory = tempfile::tempdir().unwrap();
    let known_hosts = directory.path().join("ssh/known_hosts");
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let output = ssh_transport(&fixture, &known_hosts, true)
                    .run("true", b"")
                    .unwrap();
                assert!(output.success());
            });
        }
    });
    let recorded = std::fs::read_to_string(&known_hosts).unwrap();
    assert_eq!(recorded.lines().count(), 1, "{recorded}");
}

#[test]
fn known_hosts_is_flocked_while_a_key_is_recorded() {
    // Another cairn (here util-linux's flock) holds the lock: the first connection waits
    // for it rather than writing beside it.
    let fixture = SshFixture::start(&["127.0.0.4"]);
    let directory = tempfile::tempdir().unwrap();
    let known_hosts = directory.path().join("known_hosts");
    std::fs::write(&known_hosts, "# held by another process\n").unwrap();
    let mut holder = Command::new("flock")
        .arg(&known_hosts)
        .args(["sleep", "1"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    ssh_transport(&fixture, &known_hosts, true)
        .run("true", b"")
        .unwrap();
    let waited = started.elapsed();
    holder.wait().unwrap();
    assert!(
        waited >= std::time::Duration::from_millis(500),
        "recorded after {waited:?}, while the file was locked"
    );
    let recorded = std::fs::read_to_string(&known_hosts).unwrap();
    assert_eq!(recorded.lines().count(), 2, "{recorded}");
}
