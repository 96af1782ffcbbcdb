//! Fuzzing the reader (proptest, a bounded number of cases, run with the unit tests): a
//! committed lockfile, edited at random, is either refused or means exactly what it meant.
//! Whatever the edit, the reader does not panic. Finding 4 of issue 13 (an edit that
//! changes meaning, accepted) is what the second property would catch.

use proptest::prelude::*;

use crate::lockfile::Lockfile;

fn example(name: &str) -> String {
    let path = format!(
        "{}/../examples/{name}/cluster.lock",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Characters that matter to TOML and to the lockfile's fields.
const ALPHABET: &[char] = &[
    '0', '1', '9', 'a', 'f', 'z', '"', '\'', '\n', ' ', '=', '[', ']', '#', '.', '/', '\\', '{',
    '}', ',', ':', '-', 'é', '\t', '\r',
];

/// One edit of a text, at a character position taken modulo its length.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Replace(usize, char),
    Insert(usize, char),
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let character = proptest::sample::select(ALPHABET);
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), character.clone()).prop_map(|(at, with)| Edit::Replace(at, with)),
        (any::<usize>(), character).prop_map(|(at, with)| Edit::Insert(at, with)),
        any::<usize>().prop_map(Edit::DeleteLine),
        any::<usize>().prop_map(Edit::DuplicateLine),
        any::<usize>().prop_map(Edit::SwapLines),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut characters: Vec<char> = text.chars().collect();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    match *edit {
        Edit::Delete(at) => {
            characters.remove(at % characters.len());
        }
        Edit::Replace(at, with) => {
            let at = at % characters.len();
            characters[at] = with;
        }
        Edit::Insert(at, with) => characters.insert(at % (characters.len() + 1), with),
        Edit::DeleteLine(at) => {
            lines.remove(at % lines.len());
            return lines.concat();
        }
        Edit::DuplicateLine(at) => {
            let at = at % lines.len();
            lines.insert(at, lines[at]);
            return lines.concat();
        }
        Edit::SwapLines(at) => {
            let at = at % (lines.len() - 1);
            lines.swap(at, at + 1);
            return lines.concat();
        }
    }
    characters.into_iter().collect()
}

/// 160 cases in the unit tests; `PROPTEST_CASES` for a longer run.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(160),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_edited_lockfile_is_refused_or_means_what_it_meant(
        edits in proptest::collection::vec(edit(), 1..3)
    ) {
        let original_text = example("quickstart");
        let original = Lockfile::parse(&original_text, "cluster.lock").unwrap().to_toml();
        let mut text = original_text;
        for edit in &edits {
            text = apply(&text, edit);
        }
        if let Ok(read) = Lockfile::parse(&text, "cluster.lock") {
            prop_assert_eq!(read.to_toml(), original, "an edit that changes meaning was accepted");
        }
    }

    #[test]
    fn any_text_is_read_or_refused_without_a_panic(text in "\\PC{0,200}") {
        let _ = Lockfile::parse(&text, "cluster.lock");
        let _ = Lockfile::parse(&format!("version = {}\ndigest = \"0\"\n{text}", crate::FORMAT_VERSION), "cluster.lock");
    }
}
