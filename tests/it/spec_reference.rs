//! The README's spec reference is generated from the modules: it documents every key.

use crate::support::{cairn, repository};

const START: &str = "<!-- spec-reference:start -->\n";
const END: &str = "<!-- spec-reference:end -->";

#[test]
fn the_readme_documents_every_setting_of_every_built_in_module() {
    let generated = cairn()
        .args(["modules", "--markdown"])
        .run()
        .success()
        .stdout;
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let start = readme
        .find(START)
        .expect("the README marks the reference's start")
        + START.len();
    let end = readme
        .find(END)
        .expect("the README marks the reference's end");
    assert!(
        readme[start..end].trim() == generated.trim(),
        "the README's spec reference is stale: run scripts/update-spec-reference"
    );
}
