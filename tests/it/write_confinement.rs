//! A host with a `root` is written under that root and nowhere else: no path setting, no
//! module's file path and no link planted under the root makes apply write outside it
//! (each trick of issue 13's finding 5, and the temporary files of finding 7).

use std::path::{Path, PathBuf};

use crate::support::app_cluster::AppCluster;

/// A cluster of one sandbox host, `alpha`, and a folder outside its root that nothing may
/// write into.
fn sandbox_and_outside() -> (AppCluster, tempfile::TempDir) {
    let cluster = AppCluster::local(&["alpha"]);
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("precious"), "untouched\n").unwrap();
    (cluster, outside)
}

fn assert_untouched(outside: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(outside)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["precious"], "nothing was written outside the root");
    assert_eq!(
        std::fs::read_to_string(outside.join("precious")).unwrap(),
        "untouched\n"
    );
}

fn plant_link(link: PathBuf, target: &Path) {
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// The temporary files apply left beside a host's files and entries.
fn leftover_temporaries(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && !path.is_symlink() {
                folders.push(path);
            } else if name.starts_with(".cairn.")
                || name.ends_with(".tmp")
                || name.contains(".entry.")
            {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn a_module_file_path_climbing_out_of_the_root_is_refused_at_compile() {
    let (cluster, outside) = sandbox_and_outside();
    let escape = format!("/etc/../../../../../..{}/escaped", outside.path().display());
    cluster.sandbox.edit("modules/app/module.toml", |text| {
        text.replace(
            "path = \"/etc/app/shared.txt\"",
            &format!("path = \"{escape}\""),
        )
    });
    cluster
        .sandbox
        .compile()
        .code(2)
        .stderr_has("holds a `..` component");
    assert_untouched(outside.path());
}

#[test]
fn a_path_setting_climbing_out_of_the_root_is_refused_at_compile() {
    let (cluster, outside) = sandbox_and_outside();
    cluster.sandbox.edit("modules/app/module.toml", |text| {
        text.replace(
            "path = \"/etc/app/shared.txt\"",
            "path = \"/etc/app/{{ app.greeting }}\"",
        )
    });
    let climb = format!("../../../../../../..{}/escaped", outside.path().display());
    cluster.sandbox.edit("cluster.toml", |text| {
        text.replace("[app]\n", &format!("[app]\ngreeting = \"{climb}\"\n"))
    });
    cluster
        .sandbox
        .compile()
        .code(2)
        .stderr_has("holds a `..` component");
    assert_untouched(outside.path());
}

#[test]
fn a_folder_linked_out_of_the_root_is_refused_and_nothing_is_written_through_it() {
    let (cluster, outside) = sandbox_and_outside();
    cluster.compile();
    plant_link(cluster.root("alpha").join("etc"), outside.path());
    let (outcome, _report) = cluster.apply();
    outcome
        .code(1)
        .stderr_has("/etc is a symbolic link under the host root");
    assert_untouched(outside.path());
}

#[test]
fn a_state_folder_linked_out_of_the_root_is_refused_and_the_written_file_said() {
    let (cluster, outside) = sandbox_and_outside();
    cluster.compile();
    plant_link(
        cluster.root("alpha").join("var/lib/cairn/state"),
        outside.path(),
    );
    let (outcome, _report) = cluster.apply();
    outcome
        .code(1)
        .stderr_has("/var/lib/cairn/state is a symbolic link under the host root")
        .stderr_has(
            "/etc/app/app.conf was written in full, but recording it in cairn's state failed",
        );
    assert_untouched(outside.path());
}

#[test]
fn cairns_folder_linked_out_of_the_root_fails_the_host_before_any_node() {
    let (cluster, outside) = sandbox_and_outside();
    cluster.compile();
    plant_link(cluster.root("alpha").join("var/lib/cairn"), outside.path());
    let (outcome, _report) = cluster.apply();
    outcome
        .code(1)
        .stderr_has("/var/lib/cairn is a symbolic link under the host root");
    assert_untouched(outside.path());
}

#[test]
fn links_planted_at_temporary_names_redirect_no_write() {
    let (cluster, outside) = sandbox_and_outside();
    cluster.compile();
    cluster.apply().0.success();
    // Every temporary name an earlier cairn used, beside each entry and each file, is a
    // link to the precious file; and the lock files are left alone.
    let root = cluster.root("alpha");
    let precious = outside.path().join("precious");
    let state = root.join("var/lib/cairn/state");
    for entry in std::fs::read_dir(&state).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        plant_link(state.join(format!(".{name}.tmp")), &precious);
    }
    plant_link(root.join("etc/app/.cairn.app.conf.tmp"), &precious);
    cluster.sandbox.edit("modules/app/app.conf.j2", |text| {
        text.replace("greeting = {{", "greeting: {{")
    });
    cluster.compile();
    cluster.apply().0.success();
    assert_untouched(outside.path());
    assert!(
        std::fs::read_to_string(cluster.host_file("alpha", "/etc/app/app.conf"))
            .unwrap()
            .starts_with("greeting: hello")
    );
}

#[test]
fn links_to_folders_planted_at_a_files_and_an_entrys_own_name_are_replaced_not_followed() {
    let (cluster, outside) = sandbox_and_outside();
    cluster.compile();
    cluster.apply().0.success();
    // `mv` onto a link to a folder would move the new file into that folder: the file
    // and each state entry replace the link itself.
    let root = cluster.root("alpha");
    let conf = root.join("etc/app/app.conf");
    std::fs::remove_file(&conf).unwrap();
    plant_link(conf.clone(), outside.path());
    let state = root.join("var/lib/cairn/state");
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        std::fs::remove_file(&path).unwrap();
        plant_link(path, outside.path());
    }
    cluster.sandbox.edit("modules/app/app.conf.j2", |text| {
        text.replace("greeting = {{", "greeting: {{")
    });
    cluster.compile();
    cluster.apply().0.success();
    assert_untouched(outside.path());
    assert!(!conf.is_symlink(), "the file replaced the link");
    assert!(
        std::fs::read_to_string(&conf)
            .unwrap()
            .starts_with("greeting: hello")
    );
}

#[test]
fn a_lock_file_linked_out_of_the_root_is_refused() {
    let (cluster, outside) = sandbox_and_outside();
    cluster.compile();
    let dangling = outside.path().join("made-by-cairn");
    plant_link(cluster.root("alpha").join("var/lib/cairn/lock"), &dangling);
    let (outcome, _report) = cluster.apply();
    outcome
        .code(1)
        .stderr_has("/var/lib/cairn/lock is a symbolic link under the host root");
    assert_untouched(outside.path());
}

/// Finding 7: a write that fails leaves no empty temporary file behind it.
#[test]
fn a_failed_write_leaves_no_temporary_file() {
    let (cluster, _outside) = sandbox_and_outside();
    cluster.sandbox.edit("modules/app/module.toml", |text| {
        text.replace(
            "content = \"the same on every host\\n\"",
            "content = \"the same on every host\\n\"\nowner = \"no-such-user-of-cairn\"",
        )
    });
    cluster.compile();
    let (outcome, _report) = cluster.apply();
    outcome.code(1).stderr_has("writing /etc/app/shared.txt");
    assert_eq!(
        leftover_temporaries(&cluster.root("alpha")),
        Vec::<PathBuf>::new()
    );
}

/// Over SSH the confinement is the remote script's: the host walks its own folders.
#[test]
fn over_ssh_a_folder_linked_out_of_the_root_is_refused_by_the_host() {
    let fixture = crate::support::ssh_fixture::SshFixture::start(&["127.0.0.2"]);
    let cluster = AppCluster::over_ssh(&fixture, &[]);
    let host = cluster.hosts[0].name.clone();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("precious"), "untouched\n").unwrap();
    cluster.compile();
    plant_link(cluster.root(&host).join("etc"), outside.path());
    let (outcome, _report) = cluster.apply();
    outcome
        .code(1)
        .stderr_has("/etc is a symbolic link under the host root");
    assert_untouched(outside.path());
}
