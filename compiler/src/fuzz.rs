//! Fuzzing the spec parser and value rendering (proptest, a bounded number of cases, run
//! with the unit tests; `PROPTEST_CASES` for a longer run). A spec edited at random is
//! compiled or refused, never a panic; a value of any characters given to a setting is
//! rendered or refused, and what compile produces reads back as the same lockfile (23 of
//! 897 mutants of issue 13's run compiled into lockfiles every other command refused).

use std::path::{Path, PathBuf};

use cairn_lockfiles::Lockfile;
use proptest::prelude::*;

use crate::compile::{CompileOptions, PinUpdate, compile_source};
use crate::source_file::SourceFile;
use crate::spec::parse_spec;

fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart")
}

fn spec_text() -> String {
    std::fs::read_to_string(quickstart().join("cluster.toml")).unwrap()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            character if character.is_control() => {
                out.push_str(&format!("\\u{:04X}", character as u32))
            }
            character => out.push(character),
        }
    }
    out.push('"');
    out
}

/// Compiles the quickstart spec as edited, its pins kept from its committed lockfile
/// (nothing fetched: no edit here changes an image's packages), writing nothing.
fn compile_edited(text: String) -> Result<Lockfile, crate::CompileError> {
    let options = CompileOptions {
        lockfile_path: quickstart().join("cluster.lock"),
        keep_unreadable_secrets: false,
    };
    let source = SourceFile::new("cluster.toml", text);
    compile_source(source, &quickstart(), &options, PinUpdate::Keep)
        .map(|compiled| compiled.lockfile)
}

/// Characters of many kinds: TOML's and the shell's delimiters, newlines, controls, and
/// any other.
fn value() -> impl Strategy<Value = String> {
    let special = proptest::sample::select(
        &[
            "\n", "\"", "'", "$(", "`", ";", " ", "..", "/", "{{", "}}", "{%", "%}", "\\", ":",
            "#", "\0", "\t", "é", "0", "a",
        ][..],
    )
    .prop_map(str::to_string);
    let any_character = any::<char>().prop_map(|character| character.to_string());
    proptest::collection::vec(prop_oneof![special, any_character], 0..8)
        .prop_map(|parts| parts.concat())
}

/// Where a value goes in the quickstart spec: the cluster's domain, the host's address, a
/// service HAProxy routes.
fn placed(value: &str, place: usize) -> String {
    let text = spec_text();
    let quoted = toml_string(value);
    match place % 3 {
        0 => text.replacen(
            "domain = \"quickstart.cairn.test\"",
            &format!("domain = {quoted}"),
            1,
        ),
        1 => text.replacen("address = \"127.0.0.1\"", &format!("address = {quoted}"), 1),
        _ => text.replacen("\"marathon:18080\"", &quoted, 1),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_edited_spec_is_parsed_or_refused_without_a_panic(
        at in any::<usize>(),
        cut in 0usize..40,
        with in value(),
    ) {
        let text = spec_text();
        let characters: Vec<char> = text.chars().collect();
        let start = at % characters.len();
        let end = (start + cut).min(characters.len());
        let edited: String = characters[..start]
            .iter()
            .chain(with.chars().collect::<Vec<_>>().iter())
            .chain(characters[end..].iter())
            .collect();
        let _ = parse_spec(SourceFile::new("cluster.toml", edited), &quickstart());
    }

    #[test]
    fn a_setting_of_any_value_compiles_to_a_lockfile_that_reads_back_or_is_refused(
        value in value(),
        place in any::<usize>(),
    ) {
        if let Ok(lockfile) = compile_edited(placed(&value, place)) {
            let text = lockfile.to_toml();
            let read = Lockfile::parse(&text, "cluster.lock");
            prop_assert!(read.is_ok(), "compile wrote what the reader refuses: {:?}", read.err().map(|error| error.to_string()));
            prop_assert_eq!(read.unwrap().to_toml(), text);
        }
    }
}
