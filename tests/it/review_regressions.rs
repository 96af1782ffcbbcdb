//! Regressions found in review, each named after what broke.

use std::collections::BTreeSet;

use crate::support::{MINIMAL_SPEC, Sandbox, cairn};

fn with_modules(spec: &str) -> String {
    spec.replace(
        "domain = \"test.example\"\n",
        "domain = \"test.example\"\nmodules = [\"modules\"]\n",
    )
}

#[test]
fn a_template_that_includes_another_is_rendered_for_each_host() {
    let sandbox = Sandbox::new();
    sandbox
        .write(
            "modules/whoami/module.toml",
            "[module]\nname = \"whoami\"\ndescription = \"x\"\nroles = [\"master\"]\n\n[[node]]\nkind = \"file\"\npath = \"/etc/whoami\"\ntemplate = \"whoami.j2\"\n",
        )
        .write("modules/whoami/name.j2", "I am {{ host.name }}\n")
        .write(
            "cluster.toml",
            &with_modules(MINIMAL_SPEC).replace(
                "[repository]",
                "[hosts.node2]\naddress = \"127.0.0.2\"\nroles = [\"master\"]\nid = 2\n\n[repository]",
            ),
        );
    // Templates are named by their origin: the module folder as the spec names it.
    sandbox.write(
        "modules/whoami/whoami.j2",
        "{% include \"modules/whoami/name.j2\" %}",
    );
    sandbox.compile().success();
    let contents: Vec<String> = ["node1", "node2"]
        .iter()
        .map(|host| {
            cairn()
                .current_dir(sandbox.path())
                .args([
                    "show",
                    "cluster.lock",
                    &format!("{host}:file:/etc/whoami"),
                    "--json",
                ])
                .run()
                .success()
                .json()["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(contents, ["I am node1\n", "I am node2\n"]);
}

#[test]
fn secrets_without_a_fingerprint_key_are_refused() {
    let sandbox = Sandbox::with_example("quickstart");
    std::fs::remove_file(sandbox.path().join("cluster.lock")).unwrap();
    sandbox.edit("cluster.toml", |text| {
        text.replace(
            "fingerprint_key = { file = \"secrets/fingerprint.key\" }\n",
            "",
        )
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("the spec has secrets")
        .stderr_has("no `fingerprint_key` in [cluster]")
        .stderr_has("head -c 32 /dev/urandom");
}

#[test]
fn a_spec_cannot_smuggle_a_secret_placeholder_into_a_template() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.toml", |text| {
        text.replace(
            "title = \"Quick-start console\"",
            "title = \"@@CAIRN_SECRET(console.session_key)@@\"",
        )
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("the spec holds the marker cairn uses for secret placeholders");
}

/// Both examples: the dcos-ha example has the images the quick-start leaves out
/// (keepalived's among them).
#[test]
fn every_rendered_shell_script_of_the_examples_parses() {
    let mut checked = BTreeSet::new();
    for example in ["quickstart", "dcos-ha"] {
        let sandbox = Sandbox::with_example(example);
        let nodes = sandbox.show_json();
        for node in nodes.as_array().unwrap() {
            let Some(files) = node["inputs"]["files"].as_array() else {
                continue;
            };
            for file in files {
                let content = file["content"].as_str().unwrap();
                if !content.starts_with("#!/bin/bash") {
                    continue;
                }
                let script = sandbox.path().join("script.sh");
                std::fs::write(&script, content).unwrap();
                let output = std::process::Command::new("bash")
                    .arg("-n")
                    .arg(&script)
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "{example}: {} {}: {}",
                    node["name"],
                    file["path"],
                    String::from_utf8_lossy(&output.stderr)
                );
                checked.insert(node["name"].as_str().unwrap().to_string());
            }
        }
    }
    for image in ["console", "haproxy", "keepalived", "zookeeper"] {
        assert!(
            checked.contains(&format!("cluster:image:{image}")),
            "the examples' images have entrypoint scripts, {image}'s among them: {checked:?}"
        );
    }
}

#[test]
fn a_node_moved_to_cluster_scope_in_a_lockfile_is_refused() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("cluster.lock", |text| {
        text.replace(
            "name = \"node1:file:/var/lib/zookeeper/myid\"",
            "name = \"cluster:file:/var/lib/zookeeper/myid\"",
        )
    });
    cairn()
        .current_dir(sandbox.path())
        .args(["show", "cluster.lock"])
        .run()
        .code(2)
        .stderr_has("only images are cluster-wide");
}

#[test]
fn a_container_depends_on_its_image_and_an_unknown_image_is_refused() {
    let sandbox = Sandbox::with_example("quickstart");
    let nodes = sandbox.nodes();
    assert!(
        nodes["node1:container:console"]
            .1
            .contains(&"cluster:image:console".to_string())
    );

    sandbox.edit("../modules/console/module.toml", |text| {
        text.replace("image = \"console\"", "image = \"consol\"")
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("depends on `cluster:image:consol`, which no module emits")
        .stderr_has("did you mean `console`?");
}

#[test]
fn sizes_and_paths_of_the_spec_are_checked_where_the_spec_writes_them() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "cluster.toml",
        &format!("{MINIMAL_SPEC}\n[preflight]\nmin_free_disk = {{ \"/\" = -5 }}\n"),
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("a size cannot be negative")
        .stderr_has("cluster.toml:21:");
    sandbox.write(
        "cluster.toml",
        &format!("{MINIMAL_SPEC}\n[preflight]\nfilesystem_paths = [\"var/lib\"]\n"),
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("`var/lib` is not an absolute path")
        .stderr_has("cluster.toml:21:21");
}

#[test]
fn a_spec_without_hosts_is_refused() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "cluster.toml",
        "[cluster]\nname = \"x\"\ndomain = \"x.example\"\n\n[hosts]\n",
    );
    sandbox
        .compile()
        .code(2)
        .stderr_has("[hosts] names no host");
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
fn an_absolute_secret_path_is_recorded_as_written_wherever_the_spec_is() {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "a-session-key\n").unwrap();
    let absolute = secret.path().display().to_string();
    let mut locks = Vec::new();
    for depth in ["a", "a/b/c"] {
        let sandbox = Sandbox::new();
        let examples = sandbox.path().join(depth);
        crate::support::copy_tree(&crate::support::repository().join("examples"), &examples);
        let folder = examples.join("quickstart");
        let spec = folder.join("cluster.toml");
        let relative = "session_key = { file = \"secrets/console-session-key\" }";
        let text = std::fs::read_to_string(&spec).unwrap();
        assert!(
            text.contains(relative),
            "the quick-start's session key is a file"
        );
        let text = text.replace(
            relative,
            &format!("session_key = {{ file = \"{absolute}\" }}"),
        );
        std::fs::write(&spec, text).unwrap();
        cairn()
            .current_dir(&folder)
            .args(["compile", "cluster.toml"])
            .run()
            .success();
        locks.push(std::fs::read_to_string(folder.join("cluster.lock")).unwrap());
    }
    assert!(locks[0].contains(&format!("file = \"{absolute}\"")));
    assert_eq!(locks[0], locks[1]);
}

#[test]
fn a_secret_in_an_image_or_a_command_is_refused() {
    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("../modules/console/entrypoint.sh.j2", |text| {
        format!("{text}# {{{{ console.session_key }}}}\n")
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("secret `console.session_key` is in an image");

    let sandbox = Sandbox::with_example("quickstart");
    sandbox.edit("../modules/console/module.toml", |text| {
        format!("{text}\n[[node]]\nkind = \"command\"\nname = \"leak\"\nrun = \"echo {{{{ console.session_key }}}}\"\n")
    });
    sandbox
        .compile()
        .code(2)
        .stderr_has("secret `console.session_key` is used where apply cannot keep it out of sight");
}

#[test]
fn a_path_with_a_backslash_is_refused() {
    let sandbox = Sandbox::new();
    sandbox
        .write(
            "modules/odd/module.toml",
            "[module]\nname = \"odd\"\ndescription = \"x\"\nroles = [\"master\"]\n\n[[node]]\nkind = \"file\"\npath = \"/etc/a\\\\b\"\ncontent = \"x\"\n",
        )
        .write("cluster.toml", &with_modules(MINIMAL_SPEC));
    sandbox
        .compile()
        .code(2)
        .stderr_has("a control character or a backslash");
}
