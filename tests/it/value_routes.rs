//! Every route by which a spec's value once broke out of where it lands (issue 13, findings
//! 1, 2, 3 and 6): each is now refused at compile, at the value's own line and column, with
//! the lockfile left as it was, or rendered as data that no shell runs.

use crate::support::{MINIMAL_SPEC, Sandbox, with_spec_modules};

/// One value of the dcos-ha example replaced: `key` of `[section]` set to `literal` (TOML).
struct Route {
    section: &'static str,
    key: &'static str,
    literal: &'static str,
    /// What the error must say.
    says: &'static str,
}

const fn route(
    section: &'static str,
    key: &'static str,
    literal: &'static str,
    says: &'static str,
) -> Route {
    Route {
        section,
        key,
        literal,
        says,
    }
}

/// `spec` with `key = literal` in `[section]`: the key's line replaced, or the key added
/// under the header, or the section added at the end. Also the literal's byte offset.
fn set_value(spec: &str, section: &str, key: &str, literal: &str) -> (String, usize) {
    let header = format!("[{section}]\n");
    let line = format!("{key} = {literal}\n");
    let Some(header_at) = spec.find(&header) else {
        let edited = format!("{spec}\n{header}{line}");
        let offset = edited.len() - literal.len() - 1;
        return (edited, offset);
    };
    let body_start = header_at + header.len();
    let body_end = spec[body_start..]
        .find("\n[")
        .map_or(spec.len(), |index| body_start + index + 1);
    let prefix = format!("{key} = ");
    let mut position = body_start;
    for existing in spec[body_start..body_end].split_inclusive('\n') {
        if existing.starts_with(&prefix) {
            let edited = format!(
                "{}{line}{}",
                &spec[..position],
                &spec[position + existing.len()..]
            );
            return (edited, position + prefix.len());
        }
        position += existing.len();
    }
    let edited = format!("{}{line}{}", &spec[..body_start], &spec[body_start..]);
    (edited, body_start + prefix.len())
}

/// `file:line:column` of a byte offset, as errors print it.
fn place(text: &str, offset: usize) -> String {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |index| index + 1)..]
        .chars()
        .count()
        + 1;
    format!("cluster.toml:{line}:{column}")
}

/// Each route compiled in the dcos-ha example: refused, at the value, saying what it must,
/// and the committed lockfile untouched.
fn assert_refused_at_their_place(routes: &[Route]) {
    let sandbox = Sandbox::with_example("dcos-ha");
    let original = sandbox.read("cluster.toml");
    let lockfile = sandbox.read("cluster.lock");
    let mut failures = Vec::new();
    for route in routes {
        let (spec, offset) = set_value(&original, route.section, route.key, route.literal);
        sandbox.write("cluster.toml", &spec);
        let outcome = sandbox.compile();
        let stderr = outcome.stderr.clone();
        // An array's or a table's error points at its element, the first quoted string.
        let expected = place(&spec, offset + route.literal.find('"').unwrap_or(0));
        if outcome.code != Some(2)
            || !stderr.contains(&format!("--> {expected}\n"))
            || !stderr.contains(route.says)
        {
            failures.push(format!(
                "[{}] {} = {} (expected exit 2 at {expected}, saying {:?}):\n{stderr}",
                route.section, route.key, route.literal, route.says
            ));
        }
        assert_eq!(
            sandbox.read("cluster.lock"),
            lockfile,
            "the lockfile is kept"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn values_that_would_reach_a_shell_as_code_are_refused_by_their_type() {
    assert_refused_at_their_place(&[
        route(
            "hosts.agent3",
            "address",
            r#""$(touch${IFS}/tmp/cairn-route)""#,
            "neither an IP address nor a DNS name",
        ),
        route(
            "hosts.agent3",
            "user",
            r#""root; touch x""#,
            "is not a user name",
        ),
        route(
            "zookeeper",
            "heap",
            r#""512m}\"; touch /tmp/cairn-route; \"""#,
            "is not a quantity",
        ),
        route(
            "marathon",
            "heap",
            r#""1g} $(touch /tmp/x)""#,
            "is not a quantity",
        ),
        route(
            "preflight",
            "filesystems",
            r#"["$(touch /tmp/cairn-route)"]"#,
            "does not start with a letter or a digit",
        ),
        route(
            "preflight",
            "min_kernel",
            r#""5.10'; touch x; '""#,
            "is not a version",
        ),
    ]);
}

#[test]
fn a_newline_reaches_no_config_format() {
    let says = "holds the control character `\\n`";
    assert_refused_at_their_place(&[
        route(
            "haproxy",
            "dns_address",
            r#""127.0.0.1:53\nbackend evil""#,
            says,
        ),
        route("keepalived", "interface", r#""eth0\n}""#, says),
        route("keepalived", "vip", r#""10.10.0.100/24\nnotify /x""#, says),
        route(
            "repository",
            "url",
            r#""http://10.10.0.5:8080\nURIs: x""#,
            says,
        ),
        route("repository", "suite", r#""bookworm\nTrusted: yes""#, says),
        route(
            "repository",
            "components",
            r#"["main\nTrusted: yes"]"#,
            says,
        ),
        route("mesos", "resources", r#""cpus:8\nMESOS_EVIL=1""#, says),
        route("mesos", "zookeeper_path", r#""/mesos\nMESOS_EVIL=1""#, says),
        route("marathon", "zookeeper_path", r#""/marathon\nX=1""#, says),
        route("mysql", "buffer_pool_size", r#""256M\n[mysqld]""#, says),
        route("repository_server", "listen", r#""*\n}""#, says),
        route("ntp", "allow", r#"["10.10.0.0/24\nallow all"]"#, says),
        route("images", "base", r#""debian:bookworm-slim\nRUN x""#, says),
        route(
            "cluster",
            "domain",
            r#""dcos-ha.example\n10.0.0.9 evil""#,
            "is not a DNS name",
        ),
    ]);
}

#[test]
fn values_out_of_their_range_are_refused() {
    assert_refused_at_their_place(&[
        route(
            "keepalived",
            "virtual_router_id",
            "256",
            "an integer from 1 to 255",
        ),
        route(
            "keepalived",
            "virtual_router_id",
            "9223372036854775807",
            "an integer from 1 to 255",
        ),
        route(
            "haproxy",
            "max_connections",
            "-1",
            "an integer of at least 1",
        ),
        route(
            "firewall",
            "ssh_from",
            r#"["10.10.0.100/33"]"#,
            "from 0 to 32",
        ),
        route(
            "firewall",
            "ssh_from",
            r#"["300.0.0.0/8"]"#,
            "is not an IP address",
        ),
        route(
            "firewall",
            "trusted_networks",
            r#"["any"]"#,
            "is not a network",
        ),
        route(
            "firewall",
            "trusted_networks",
            r#"["0.0.0.0/0; flush ruleset"]"#,
            "is not a network",
        ),
        route("docker", "data_root", r#""/var/lib/../../etc""#, "`..`"),
        route(
            "zookeeper",
            "data_dir",
            r#""/var/lib/zookeeper/../../etc""#,
            "`..`",
        ),
        route(
            "preflight",
            "min_free_disk",
            r#"{ "/var/../etc" = "1GiB" }"#,
            "`..`",
        ),
        // Checked whether or not the firewall is on.
        route("firewall", "open_ports", r#"["80"]"#, "has no protocol"),
        route(
            "images",
            "registry",
            r#""a b:5000""#,
            "neither an IP address nor a DNS name",
        ),
        route("registry", "address", r#""10.10.0.5:99999""#, "not a port"),
    ]);
}

#[test]
fn an_os_name_that_holds_shell_syntax_is_only_ever_printed() {
    let sandbox = Sandbox::with_example("quickstart");
    let touched = sandbox.path().join("touched");
    let payload = format!("$(touch {})", touched.display());
    sandbox.edit("cluster.toml", |spec| {
        spec.replace(
            "[preflight]\n",
            &format!(
                "[preflight]\nallowed_os = [\"{payload}\", \"`touch {}`\"]\n",
                touched.display()
            ),
        )
    });
    sandbox.compile().success();
    let outcome = sandbox
        .cairn(&["apply", "cluster.toml", "--skip-kind", "image,container"])
        .code(1);
    assert!(
        !touched.exists(),
        "the failing os-release check ran the spec's value"
    );
    assert!(
        outcome.stderr.contains(&payload) || outcome.stdout.contains(&payload),
        "the check says which systems it allows, as written:\n{}{}",
        outcome.stdout,
        outcome.stderr
    );
}

#[test]
fn a_spec_that_is_not_utf8_is_refused_at_the_bad_byte() {
    let sandbox = Sandbox::with_example("quickstart");
    let spec = sandbox.read("cluster.toml");
    let mut bytes = spec.into_bytes();
    let offset = bytes
        .windows(b"Quick-start".len())
        .position(|window| window == b"Quick-start")
        .unwrap();
    bytes[offset + "Quick-".len()] = 0xe9;
    std::fs::write(sandbox.path().join("cluster.toml"), &bytes).unwrap();
    let outcome = sandbox.compile().code(2);
    let text = String::from_utf8_lossy(&bytes[..offset]).into_owned();
    let line = text.matches('\n').count() + 1;
    let column = text.len() - text.rfind('\n').unwrap() + "Quick-".len();
    outcome
        .stderr_has(&format!("cluster.toml:{line}:{column}"))
        .stderr_has("is not UTF-8");
}

/// An operator's module that splits a setting, as HAProxy's once split `services`.
const SPLITTING_MODULE: &str = r#"
[module]
name = "splitter"
description = "reads a pair"
roles = ["*"]

[settings.splitter.pair]
type = "string"
default = "a:1"
doc = "NAME:NUMBER."

[[node]]
kind = "file"
path = "/etc/splitter"
content = "{{ (splitter.pair | split(':') | list)[1] }}\n"
"#;

#[test]
fn a_template_error_caused_by_a_spec_value_names_the_spec_line_too() {
    let sandbox = Sandbox::new();
    sandbox.write("modules/splitter/module.toml", SPLITTING_MODULE);
    let spec = format!(
        "{}[splitter]\npair = \"nocolon\"\n",
        crate::support::MINIMAL_SPEC.replace(
            "exclude_modules",
            "modules = [\"modules\"]\nexclude_modules"
        )
    );
    sandbox.write("cluster.toml", &spec);
    let outcome = sandbox.compile().code(2);
    let line = spec
        .lines()
        .position(|line| line.starts_with("pair"))
        .unwrap()
        + 1;
    outcome
        .stderr_has("modules/splitter/module.toml")
        .stderr_has(&format!(
            "the spec gives `pair` of [splitter] at cluster.toml:{line}:8"
        ))
        .stderr_has("rendered for host `node1`");
}

#[test]
fn an_unreadable_fingerprint_key_is_reported_where_the_spec_names_it() {
    let sandbox = Sandbox::with_example("quickstart");
    std::fs::remove_file(sandbox.path().join("secrets/fingerprint.key")).unwrap();
    let spec = sandbox.read("cluster.toml");
    let offset = spec.find("fingerprint_key = ").unwrap() + "fingerprint_key = ".len();
    let outcome = sandbox.compile().code(2);
    outcome
        .stderr_has(&format!("--> {}\n", place(&spec, offset)))
        .stderr_has("create secrets/fingerprint.key");
}

#[test]
fn a_key_with_a_control_character_is_refused_before_it_reaches_a_lockfile() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "cluster.toml",
        &format!("{MINIMAL_SPEC}\n[zookeeper]\ndata_dir = \"/data/zk\\n[x]\"\n"),
    );
    sandbox.compile().code(2).stderr_has("control character");
    assert!(!sandbox.path().join("cluster.lock").exists());
}

#[test]
fn a_path_with_a_backslash_is_refused() {
    let sandbox = Sandbox::new();
    sandbox
        .write(
            "modules/odd/module.toml",
            "[module]\nname = \"odd\"\ndescription = \"x\"\nroles = [\"master\"]\n\n[[node]]\nkind = \"file\"\npath = \"/etc/a\\\\b\"\ncontent = \"x\"\n",
        )
        .write("cluster.toml", &with_spec_modules(MINIMAL_SPEC));
    sandbox
        .compile()
        .code(2)
        .stderr_has("a control character or a backslash");
}
