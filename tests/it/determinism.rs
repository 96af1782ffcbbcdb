//! The same spec gives the same bytes: from any folder, by any path, on any machine.

use crate::support::{Sandbox, cairn, repository};

#[test]
fn every_example_recompiles_to_its_committed_lockfile_byte_for_byte() {
    let examples = repository().join("examples");
    let mut compiled = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let spec = entry.unwrap().path().join("cluster.toml");
        if !spec.is_file() {
            continue;
        }
        cairn()
            .arg("compile")
            .arg(&spec)
            .arg("--locked")
            .run()
            .success()
            .stderr_has("is up to date");
        compiled += 1;
    }
    assert!(compiled >= 1, "there is at least one example");
}

#[test]
fn a_spec_compiled_in_two_different_folders_gives_identical_bytes() {
    let first = Sandbox::with_example("quickstart");
    let second = Sandbox::new();
    // The examples' folder, with the modules they share, much deeper down.
    let nested_examples = second.path().join("a/much/deeper/folder");
    crate::support::copy_tree(first.path().parent().unwrap(), &nested_examples);
    let nested = nested_examples.join("quickstart");
    // Each keeps its copy of the committed lockfile, which compile overwrites unless it
    // computes the very same bytes: the bytes compared below are computed either way. The
    // lockfile is what the images' package pins are kept from, without which compile
    // would resolve them against Debian's archive as it is today.

    // One by a relative path from inside its folder, the other by an absolute path from /.
    first.compile().success();
    cairn()
        .current_dir("/")
        .arg("compile")
        .arg(nested.join("cluster.toml"))
        .run()
        .success();

    let first_bytes = std::fs::read(first.path().join("cluster.lock")).unwrap();
    let second_bytes = std::fs::read(nested.join("cluster.lock")).unwrap();
    assert!(first_bytes == second_bytes, "the two lockfiles differ");
    let committed = std::fs::read(repository().join("examples/quickstart/cluster.lock")).unwrap();
    assert!(
        first_bytes == committed,
        "the lockfile differs from the committed one"
    );
}

#[test]
fn a_lockfile_holds_nothing_of_the_compiling_machine() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.compile().success();
    let lock = sandbox.read("cluster.lock");
    let folder = sandbox.path().to_string_lossy().into_owned();
    assert!(
        !lock.contains(&folder),
        "the lockfile holds the compile folder"
    );
    assert!(
        !lock.contains("/tmp/"),
        "the lockfile holds a temporary path"
    );
    if let Ok(home) = std::env::var("HOME") {
        assert!(
            !lock.contains(&format!("{home}/")),
            "the lockfile holds the home folder"
        );
    }
    let machine = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let machine = machine.trim();
    if machine.len() > 3 {
        assert!(
            !lock.contains(machine),
            "the lockfile holds the machine's name"
        );
    }
}

#[test]
fn compiling_an_unchanged_spec_leaves_the_lockfile_untouched() {
    let sandbox = Sandbox::with_example("quickstart");
    let lock = sandbox.path().join("cluster.lock");
    let before = std::fs::metadata(&lock).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    sandbox.compile().success().stderr_has("unchanged");
    assert_eq!(
        std::fs::metadata(&lock).unwrap().modified().unwrap(),
        before
    );
}

#[test]
fn locked_refuses_a_stale_lockfile_and_writes_nothing() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox
        .cairn(&["compile", "cluster.toml", "--locked"])
        .success();

    let before = sandbox.read("cluster.lock");
    sandbox.replace("cluster.toml", "Quick-start console", "Renamed console");
    sandbox
        .cairn(&["compile", "cluster.toml", "--locked"])
        .code(1)
        .stderr_has("cluster.lock is out of date")
        .stderr_has("0 nodes added, 0 removed, 3 changed");
    assert_eq!(sandbox.read("cluster.lock"), before);
}
