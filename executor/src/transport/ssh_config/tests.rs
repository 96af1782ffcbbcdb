use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

const CONFIG: &str = "\
# operators' config
IdentityFile /keys/everyone
Host db-*  !db-legacy
    HostName 10.0.2.%h
    Port 2240
    IdentityFile ~/.ssh/db
Host db-one
    HostName 10.9.9.9
    User deploy
    Port 2241
Host *
    HostName=fallback.example
    User = \"ops\"
    ConnectTimeout 1m30s
    ServerAliveInterval 15
    ServerAliveCountMax 4
";

fn parse(text: &str) -> SshConfig {
    SshConfig::parse(text, Path::new("/test/config")).unwrap()
}

fn parse_error(text: &str) -> String {
    SshConfig::parse(text, Path::new("/test/config"))
        .unwrap_err()
        .to_string()
}

#[test]
fn the_first_value_obtained_wins_and_identity_files_add_up() {
    let resolved = parse(CONFIG).resolve("db-one");
    assert_eq!(resolved.hostname.as_deref(), Some("10.0.2.db-one"));
    assert_eq!(resolved.port, Some(2240));
    assert_eq!(resolved.user.as_deref(), Some("deploy"));
    assert_eq!(resolved.connect_timeout, Some(Duration::from_secs(90)));
    assert_eq!(
        resolved.server_alive_interval,
        Some(Duration::from_secs(15))
    );
    assert_eq!(resolved.server_alive_count_max, Some(4));
    let files: Vec<&str> = resolved
        .identity_files
        .iter()
        .map(|file| file.value.as_str())
        .collect();
    assert_eq!(files, ["/keys/everyone", "~/.ssh/db"]);
    assert_eq!(resolved.identity_files[1].location.line, 6);
}

#[test]
fn a_negated_pattern_excludes_a_host() {
    let config = parse(CONFIG);
    let legacy = config.resolve("db-legacy");
    assert_eq!(legacy.hostname.as_deref(), Some("fallback.example"));
    assert_eq!(legacy.port, None);
    assert_eq!(legacy.user.as_deref(), Some("ops"));
    assert_eq!(config.resolve("web").identity_files.len(), 1);
}

#[test]
fn proxy_jump_and_proxy_command_the_first_given_wins() {
    let config = parse(
        "Host direct\n    ProxyJump none\nHost inner-* direct\n    ProxyJump ops@bastion:2222,second\n\
         Host legacy\n    ProxyCommand ssh -W %h:%p gate\nHost *\n    ProxyJump fallback\n",
    );
    assert_eq!(
        config.resolve("direct").proxy.unwrap().value,
        ProxySetting::Direct
    );
    let inner = config.resolve("inner-1").proxy.unwrap();
    assert_eq!(inner.location.line, 4);
    let ProxySetting::Jump(hosts) = inner.value else {
        panic!("a jump")
    };
    assert_eq!(hosts.len(), 2);
    assert_eq!(hosts[0].user.as_deref(), Some("ops"));
    assert_eq!(hosts[0].port, Some(2222));
    assert_eq!(hosts[1].host, "second");
    assert_eq!(
        config.resolve("legacy").proxy.unwrap().value,
        ProxySetting::Command("ssh -W %h:%p gate".to_string())
    );
}

#[test]
fn match_all_applies_to_every_host_and_other_match_blocks_are_refused_at_their_line() {
    let config = parse("Host a\n    Port 1\nMatch final all\n    Port 2\n");
    assert_eq!(config.resolve("a").port, Some(1));
    assert_eq!(config.resolve("b").port, Some(2));

    let error =
        parse_error("Host a\n    Port 1\n\nMatch host *.internal exec \"true\"\n    User x\n");
    assert!(error.starts_with("/test/config:4: "), "{error}");
    assert!(
        error.contains("does not follow `Match host *.internal exec true`"),
        "{error}"
    );
    assert!(error.contains("hint: "), "{error}");
}

#[test]
fn values_are_checked_naming_the_file_and_line() {
    for (text, expected) in [
        (
            "Host a\n  Port 22x\n",
            "/test/config:2: `Port 22x`: a port is a number",
        ),
        ("Port 0\n", "/test/config:1: `Port 0`: a port"),
        ("ConnectTimeout soon\n", "`ConnectTimeout soon`: a time"),
        (
            "ServerAliveInterval 5x\n",
            "`ServerAliveInterval 5x`: a time",
        ),
        (
            "ServerAliveCountMax -1\n",
            "`ServerAliveCountMax -1`: a count is a whole number",
        ),
        (
            "IdentitiesOnly maybe\n",
            "`IdentitiesOnly maybe`: the value is `yes` or `no`",
        ),
        ("ProxyJump ops@\n", "`ProxyJump ops@`: `ops@` names no host"),
        ("User a b\n", "`User a b`: one value is expected"),
        ("HostName\n", "`HostName `: a value is missing"),
        ("IdentityFile \"/key\n", "a quote is not closed"),
    ] {
        let error = parse_error(text);
        assert!(error.contains(expected), "{text:?}: {error}");
    }
}

#[test]
fn quotes_escapes_and_trailing_comments_split_as_ssh_splits_them() {
    let config = parse(
        "IdentityFile \"/keys/with space\" # the operators' key\nIdentityFile /keys/a\\ b\nUser 'o\"ps'\n",
    );
    let resolved = config.resolve("any");
    let files: Vec<&str> = resolved
        .identity_files
        .iter()
        .map(|file| file.value.as_str())
        .collect();
    assert_eq!(files, ["/keys/with space", "/keys/a b"]);
    assert_eq!(resolved.user.as_deref(), Some("o\"ps"));
}

#[test]
fn hostname_tokens_and_identities_only_are_read() {
    let config = parse(
        "Host *.lab\n    HostName %h.example.net\n    IdentitiesOnly yes\nHost x\n    HostName 100%%\n",
    );
    let resolved = config.resolve("web.lab");
    assert_eq!(resolved.hostname.as_deref(), Some("web.lab.example.net"));
    assert_eq!(resolved.identities_only, Some(true));
    assert_eq!(config.resolve("x").hostname.as_deref(), Some("100%"));
}

#[test]
fn includes_are_read_in_place_and_inside_a_host_block_only_for_its_hosts() {
    let folder = tempfile::tempdir().unwrap();
    let included = folder.path().join("config.d");
    std::fs::create_dir(&included).unwrap();
    std::fs::write(included.join("10-web"), "Host web\n    Port 2001\n").unwrap();
    std::fs::write(included.join("20-all"), "User from-include\n").unwrap();
    std::fs::write(included.join(".hidden"), "Port 9\n").unwrap();
    std::fs::write(folder.path().join("db.conf"), "Port 3001\nUser db-user\n").unwrap();
    let main = folder.path().join("config");
    std::fs::write(
        &main,
        format!(
            "Include {}/*\nHost db\n    Include {}\n    User db-block\nHost *\n    Port 22\n",
            included.display(),
            folder.path().join("db.conf").display(),
        ),
    )
    .unwrap();
    let config = SshConfig::read(&main).unwrap();
    assert_eq!(config.resolve("web").port, Some(2001));
    assert_eq!(config.resolve("web").user.as_deref(), Some("from-include"));
    let db = config.resolve("db");
    assert_eq!(
        db.port,
        Some(3001),
        "the include comes before the block's next line"
    );
    assert_eq!(db.user.as_deref(), Some("from-include"));
    let other = config.resolve("other");
    assert_eq!(other.port, Some(22), "db.conf applies to `db` alone");
}

#[test]
fn an_include_of_itself_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let main = folder.path().join("config");
    std::fs::write(&main, format!("Include {}\n", main.display())).unwrap();
    let error = SshConfig::read(&main).unwrap_err().to_string();
    assert!(error.contains("nested more than 16 deep"), "{error}");
    let missing = SshConfig::read(&PathBuf::from("/no/such/config"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("cannot read the SSH configuration /no/such/config"),
        "{missing}"
    );
}
