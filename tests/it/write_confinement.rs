//! A host with a `root` is written under that root and nowhere else: no path setting, no
//! module's file path and no link planted under the root makes apply write outside it
//! (each trick of issue 13's finding 5, and the temporary files of finding 7).

use std::path::{Path, PathBuf};

use crate::support::app_cluster::AppCluster;
use crate::support::app_cluster_checks::applied_locally;

/// A cluster of one sandbox host, `alpha`, and a folder outside its root that nothing may
/// write into.
fn sandbox_and_outside() -> (AppCluster, tempfile::TempDir) {
    (AppCluster::local(&["alpha"]), folder_outside())
}

/// [`sandbox_and_outside`], compiled and applied once.
fn applied_sandbox_and_outside() -> (AppCluster, tempfile::TempDir) {
    (applied_locally(&["alpha"]), folder_outside())
}

/// A folder holding one file, `precious`, that nothing may change.
fn folder_outside() -> tempfile::TempDir {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("precious"), "untouched\n").unwrap();
    outside
}

/// The shared file of the app module is written at `path` instead.
fn set_shared_file_path(cluster: &AppCluster, path: &str) {
    cluster.sandbox.replace(
        "modules/app/module.toml",
        "path = \"/etc/app/shared.txt\"",
        &format!("path = \"{path}\""),
    );
}

/// Compile refuses a path that climbs with `..`, and nothing outside was touched.
fn assert_compile_refuses_the_climb(cluster: &AppCluster, outside: &Path) {
    cluster
        .sandbox
        .compile()
        .code(2)
        .stderr_has("holds a `..` component");
    assert_untouched(outside);
}

/// Compiles, plants a link at `path` under `host`'s root to `target`, and applies: the apply
/// fails saying that `path` is a symbolic link under the host root, and nothing in
/// `outside` changed.
fn apply_refused_over_a_link(
    cluster: &AppCluster,
    host: &str,
    path: &str,
    target: &Path,
    outside: &Path,
) -> crate::support::Outcome {
    cluster.compile();
    plant_link(cluster.host_file(host, path), target);
    let (outcome, _report) = cluster.apply();
    let outcome = outcome
        .code(1)
        .stderr_has(&format!("{path} is a symbolic link under the host root"));
    assert_untouched(outside);
    outcome
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

/// The app's template writes `greeting: …` from now on, and an apply succeeds without
/// touching anything in `outside`.
fn change_the_template_and_apply(cluster: &AppCluster, outside: &Path) {
    cluster
        .sandbox
        .replace("modules/app/app.conf.j2", "greeting = {{", "greeting: {{");
    cluster.compile();
    cluster.apply().0.success();
    assert_untouched(outside);
}

/// alpha's app.conf is the changed template's.
fn assert_the_new_greeting_written(cluster: &AppCluster) {
    let conf = std::fs::read_to_string(cluster.host_file("alpha", "/etc/app/app.conf")).unwrap();
    assert!(conf.starts_with("greeting: hello"), "{conf}");
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
    set_shared_file_path(&cluster, &escape);
    assert_compile_refuses_the_climb(&cluster, outside.path());
}

#[test]
fn a_path_setting_climbing_out_of_the_root_is_refused_at_compile() {
    let (cluster, outside) = sandbox_and_outside();
    set_shared_file_path(&cluster, "/etc/app/{{ app.greeting }}");
    let climb = format!("../../../../../../..{}/escaped", outside.path().display());
    cluster.sandbox.replace(
        "cluster.toml",
        "[app]\n",
        &format!("[app]\ngreeting = \"{climb}\"\n"),
    );
    assert_compile_refuses_the_climb(&cluster, outside.path());
}

#[test]
fn a_folder_linked_out_of_the_root_is_refused_and_nothing_is_written_through_it() {
    let (cluster, outside) = sandbox_and_outside();
    apply_refused_over_a_link(&cluster, "alpha", "/etc", outside.path(), outside.path());
}

#[test]
fn a_state_folder_linked_out_of_the_root_is_refused_and_the_written_file_said() {
    let (cluster, outside) = sandbox_and_outside();
    let outside = outside.path();
    apply_refused_over_a_link(&cluster, "alpha", "/var/lib/cairn/state", outside, outside)
        .stderr_has(
            "/etc/app/app.conf was written in full, but recording it in cairn's state failed",
        );
}

#[test]
fn cairns_folder_linked_out_of_the_root_fails_the_host_before_any_node() {
    let (cluster, outside) = sandbox_and_outside();
    apply_refused_over_a_link(
        &cluster,
        "alpha",
        "/var/lib/cairn",
        outside.path(),
        outside.path(),
    );
}

#[test]
fn links_planted_at_temporary_names_redirect_no_write() {
    let (cluster, outside) = applied_sandbox_and_outside();
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
    change_the_template_and_apply(&cluster, outside.path());
    assert_the_new_greeting_written(&cluster);
}

#[test]
fn links_to_folders_planted_at_a_files_and_an_entrys_own_name_are_replaced_not_followed() {
    let (cluster, outside) = applied_sandbox_and_outside();
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
    change_the_template_and_apply(&cluster, outside.path());
    assert!(!conf.is_symlink(), "the file replaced the link");
    assert_the_new_greeting_written(&cluster);
}

#[test]
fn a_lock_file_linked_out_of_the_root_is_refused() {
    let (cluster, outside) = sandbox_and_outside();
    let dangling = outside.path().join("made-by-cairn");
    apply_refused_over_a_link(
        &cluster,
        "alpha",
        "/var/lib/cairn/lock",
        &dangling,
        outside.path(),
    );
}

/// Finding 7: a write that fails leaves no empty temporary file behind it.
#[test]
fn a_failed_write_leaves_no_temporary_file() {
    let (cluster, _outside) = sandbox_and_outside();
    cluster.sandbox.replace(
        "modules/app/module.toml",
        "content = \"the same on every host\\n\"",
        "content = \"the same on every host\\n\"\nowner = \"no-such-user-of-cairn\"",
    );
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
    let outside = folder_outside();
    apply_refused_over_a_link(&cluster, &host, "/etc", outside.path(), outside.path());
}
