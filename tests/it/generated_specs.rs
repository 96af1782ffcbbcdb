//! What compile writes, the reader accepts. Specs generated from the quick-start example,
//! each with one value replaced by a hostile one (a newline, shell syntax, a delimiter, a
//! number out of range, the wrong type), are compiled: each either fails with an error at
//! its place in the spec (exit 2; an error found in a module names the spec's place
//! too), or writes a lockfile that `cairn show` reads back. No
//! mutant panics, and none writes a lockfile that other commands then refuse.

use crate::support::Sandbox;

/// The keys mutated, `section.key` (a host's as `hosts.node1.key`), across every type.
const KEYS: [(&str, &str); 16] = [
    ("cluster", "domain"),
    ("hosts.node1", "address"),
    ("hosts.node1", "user"),
    ("haproxy", "dns_address"),
    ("haproxy", "services"),
    ("haproxy", "max_connections"),
    ("zookeeper", "heap"),
    ("zookeeper", "data_dir"),
    ("zookeeper", "tick_time_ms"),
    ("preflight", "allowed_os"),
    ("preflight", "filesystems"),
    ("preflight", "min_kernel"),
    ("preflight", "min_free_disk"),
    ("images", "registry"),
    ("images", "base"),
    ("console", "title"),
];

/// Hostile values, as TOML literals.
const VALUES: [&str; 22] = [
    r#""a\nb""#,
    r#""$(touch /tmp/cairn-mutant)""#,
    r#""a b:5000""#,
    r#""""#,
    r#""../..""#,
    r#""/var/../etc""#,
    r#""0.0.0.0/0; flush ruleset""#,
    r#""300.0.0.0/8""#,
    r#""é""#,
    r#""'\"`""#,
    r#""{{ host.name }}}}""#,
    r#""x\u0000y""#,
    "-1",
    "0",
    "9223372036854775807",
    "true",
    r#"["a\nb"]"#,
    r#"["80"]"#,
    r#"["marathon"]"#,
    "{ x = 1 }",
    r#"{ "/" = "-1" }"#,
    r#""10.0.0.1:53""#,
];

/// Every value for every key: 352 specs.
fn mutants() -> impl Iterator<Item = (usize, usize)> {
    (0..KEYS.len()).flat_map(|key| (0..VALUES.len()).map(move |value| (key, value)))
}

/// `spec` with `key = literal` put in `[section]` (replacing the key's line if there).
fn mutate(spec: &str, section: &str, key: &str, literal: &str) -> String {
    let header = format!("[{section}]\n");
    let line = format!("{key} = {literal}\n");
    let Some(header_at) = spec.find(&header) else {
        return format!("{spec}\n{header}{line}");
    };
    let body_start = header_at + header.len();
    let body_end = spec[body_start..]
        .find("\n[")
        .map_or(spec.len(), |index| body_start + index + 1);
    let body: String = spec[body_start..body_end]
        .split_inclusive('\n')
        .filter(|existing| !existing.starts_with(&format!("{key} = ")))
        .collect();
    format!("{}{line}{body}{}", &spec[..body_start], &spec[body_end..])
}

#[test]
fn every_mutated_spec_compiles_to_a_readable_lockfile_or_an_error_at_its_place() {
    let sandbox = Sandbox::with_example("quickstart");
    let original = sandbox.read("cluster.toml");
    let (mut refused, mut written) = (0, 0);
    for (key_index, value_index) in mutants() {
        let (section, key) = KEYS[key_index];
        let literal = VALUES[value_index];
        let spec = mutate(&original, section, key, literal);
        sandbox.write("cluster.toml", &spec);
        let outcome = sandbox.compile();
        let what = format!("[{section}] {key} = {literal}");
        match outcome.code {
            Some(0) => {
                sandbox.cairn(&["show", "cluster.lock", "--json"]).code(0);
                written += 1;
            }
            Some(2) => {
                assert!(
                    outcome.stderr.starts_with("error: ")
                        && outcome.stderr.contains("cluster.toml:"),
                    "{what}: an error with its place:\n{}",
                    outcome.stderr
                );
                refused += 1;
            }
            other => panic!("{what}: exit {other:?}\n{}", outcome.stderr),
        }
    }
    assert!(
        refused > 0 && written > 0,
        "{refused} refused, {written} written"
    );
}
