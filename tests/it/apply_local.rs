//! `cairn apply` on sandbox hosts of this machine (the local transport): convergence, the
//! skip, drift, orphans, failures contained, the host lock.

use crate::support::app_cluster::{AppCluster, names, ran_besides_checks};
use crate::support::app_cluster_checks::{
    APP_CONF_AND_DEPENDANTS, MARKER_AND_ITS_HEALTH, applied_locally, assert_apply_runs,
    assert_converged,
};

const HOSTS: [&str; 3] = ["alpha", "beta", "gamma"];

/// A process holding the host lock at `lock` (flock) for 30 seconds, or until killed: it
/// holds the lock itself, so killing it releases the lock.
fn hold_the_lock(lock: &std::path::Path) -> std::process::Child {
    let holder = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec 9>>'{}' && flock 9 && exec sleep 30",
            lock.display()
        ))
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    holder
}

#[test]
fn a_first_apply_converges_and_a_second_runs_only_the_checks() {
    let cluster = AppCluster::local(&HOSTS);
    cluster.compile();
    let (outcome, report) = cluster.apply();
    outcome.success();
    for host in HOSTS {
        assert_converged(&cluster, &report, host);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cluster.host_file(host, "/etc/app/app.conf"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let (outcome, report) = cluster.apply();
    outcome.success();
    for host in HOSTS {
        assert_eq!(ran_besides_checks(&report, host), Vec::<String>::new());
        assert_eq!(names(&report, host, "skipped").len(), 4);
        assert!(
            names(&report, host, "ran")
                .iter()
                .all(|name| name.starts_with("check:"))
        );
        assert!(
            !names(&report, host, "ran").is_empty(),
            "the checks run every time"
        );
    }
    let runs = std::fs::read_to_string(cluster.host_file("alpha", "/var/app/runs")).unwrap();
    assert_eq!(runs.lines().count(), 1, "the command ran once");
}

#[test]
fn changing_one_template_reruns_exactly_that_file_and_its_dependants() {
    let cluster = applied_locally(&HOSTS);

    cluster.sandbox.edit("modules/app/app.conf.j2", |text| {
        format!("{text}# edited\n")
    });
    cluster.compile();
    let (outcome, report) = cluster.apply();
    outcome.success();
    for host in HOSTS {
        assert_eq!(ran_besides_checks(&report, host), APP_CONF_AND_DEPENDANTS);
        assert!(names(&report, host, "skipped").contains(&"file:/etc/app/shared.txt".to_string()));
    }
}

#[test]
fn a_drifted_file_is_rewritten_and_what_depends_on_it_runs_again() {
    let cluster = applied_locally(&HOSTS);

    let conf = cluster.host_file("beta", "/etc/app/app.conf");
    std::fs::write(&conf, "edited by hand\n").unwrap();
    std::fs::remove_file(cluster.host_file("gamma", "/etc/app/shared.txt")).unwrap();

    let plan = cluster.plan();
    let beta = plan["hosts"]["beta"]["nodes"].as_array().unwrap();
    let conf_plan = beta
        .iter()
        .find(|node| node["name"] == "beta:file:/etc/app/app.conf")
        .unwrap();
    assert_eq!(conf_plan["action"], "run");
    assert_eq!(conf_plan["reason"], "drifted: the file's content changed");

    let report = assert_apply_runs(&cluster, &[], "beta", &APP_CONF_AND_DEPENDANTS);
    assert_eq!(
        ran_besides_checks(&report, "gamma"),
        ["file:/etc/app/shared.txt"]
    );
    assert_eq!(ran_besides_checks(&report, "alpha"), Vec::<String>::new());
    assert!(
        std::fs::read_to_string(&conf)
            .unwrap()
            .starts_with("greeting = hello from beta")
    );
}

#[test]
fn a_node_no_longer_in_the_lockfile_is_removed_from_the_host() {
    let cluster = applied_locally(&HOSTS);
    let shared = cluster.host_file("alpha", "/etc/app/shared.txt");
    assert!(shared.exists());

    cluster.sandbox.replace("modules/app/module.toml", "[[node]]\nkind = \"file\"\npath = \"/etc/app/shared.txt\"\ncontent = \"the same on every host\\n\"\n", "");
    cluster.compile();
    let plan = cluster.plan();
    assert_eq!(
        plan["hosts"]["alpha"]["orphans"][0],
        "alpha:file:/etc/app/shared.txt"
    );

    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(
        names(&report, "alpha", "orphans_removed"),
        ["file:/etc/app/shared.txt"]
    );
    assert!(!shared.exists());
    let (_, report) = cluster.apply();
    assert!(
        report["hosts"]["alpha"]["orphans_removed"]
            .as_array()
            .unwrap()
            .is_empty(),
        "forgotten once removed"
    );
}

#[test]
fn a_failing_node_stops_its_dependants_and_nothing_else_and_a_rerun_resumes() {
    let cluster = AppCluster::local(&HOSTS);
    cluster.compile();
    std::fs::create_dir_all(cluster.root("beta")).unwrap();
    std::fs::write(cluster.host_file("beta", "/fail-here"), "").unwrap();

    let (outcome, report) = cluster.apply();
    outcome.code(1).stderr_has("beta:command:marker");
    assert_eq!(
        report["hosts"]["beta"]["failed"][0]["name"],
        "beta:command:marker"
    );
    assert_eq!(names(&report, "beta", "not_run"), ["health:marker-present"]);
    assert!(
        report["hosts"]["beta"]["not_run"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("beta:command:marker did not succeed")
    );
    assert!(
        cluster.host_file("beta", "/etc/app/app.conf").exists(),
        "what does not depend on the failure is done"
    );
    for host in ["alpha", "gamma"] {
        assert_eq!(report["hosts"][host]["succeeded"], true);
    }

    std::fs::remove_file(cluster.host_file("beta", "/fail-here")).unwrap();
    let report = assert_apply_runs(&cluster, &[], "beta", &MARKER_AND_ITS_HEALTH);
    assert_eq!(ran_besides_checks(&report, "alpha"), Vec::<String>::new());
}

#[test]
fn a_host_held_by_another_apply_is_refused_and_the_others_proceed() {
    let cluster = AppCluster::local(&HOSTS);
    cluster.compile();
    let lock = cluster.host_file("gamma", "/var/lib/cairn/lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let mut holder = hold_the_lock(&lock);

    let (outcome, report) = cluster.apply();
    outcome
        .code(1)
        .stderr_has("another cairn apply holds the lock of host `gamma`");
    assert_eq!(report["hosts"]["alpha"]["succeeded"], true);
    assert_eq!(report["hosts"]["gamma"]["succeeded"], false);
    holder.kill().unwrap();
    holder.wait().unwrap();
    cluster.apply().0.success();
}

#[test]
fn a_missing_secret_fails_the_nodes_that_need_it_without_showing_a_value() {
    let cluster = AppCluster::local(&["alpha"]);
    cluster.compile();
    std::fs::remove_file(cluster.sandbox.path().join("secrets/token")).unwrap();
    let (outcome, report) = cluster.apply();
    outcome
        .code(1)
        .stderr_has("secret `app.token`: cannot read");
    assert_eq!(
        report["hosts"]["alpha"]["failed"][0]["name"],
        "alpha:file:/etc/app/app.conf"
    );
    assert!(cluster.host_file("alpha", "/etc/app/shared.txt").exists());
}

#[test]
fn a_follow_up_that_failed_after_a_drift_repair_runs_again_on_the_next_apply() {
    let cluster = applied_locally(&["alpha"]);

    // The file drifts; its repair makes the command that depends on it run, and it fails.
    std::fs::write(
        cluster.host_file("alpha", "/etc/app/app.conf"),
        "edited by hand\n",
    )
    .unwrap();
    std::fs::write(cluster.host_file("alpha", "/fail-here"), "").unwrap();
    let (outcome, report) = cluster.apply();
    outcome.code(1);
    assert_eq!(
        report["hosts"]["alpha"]["failed"][0]["name"],
        "alpha:command:marker"
    );

    // The file is repaired now, but the command has still not run after it: it runs.
    std::fs::remove_file(cluster.host_file("alpha", "/fail-here")).unwrap();
    assert_apply_runs(&cluster, &[], "alpha", &MARKER_AND_ITS_HEALTH);
}

#[test]
fn a_renamed_host_keeps_the_files_its_new_nodes_manage() {
    let cluster = applied_locally(&["alpha"]);
    // Same machine, same root, another name: the old entries are orphans, their paths not.
    cluster
        .sandbox
        .replace("cluster.toml", "[hosts.alpha]", "[hosts.alphanew]");
    cluster.compile();
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(names(&report, "alphanew", "orphans_removed").len(), 4);
    let conf = std::fs::read_to_string(cluster.host_file("alpha", "/etc/app/app.conf")).unwrap();
    assert_eq!(
        conf,
        "greeting = hello from alphanew\ntoken = the-token-value\n"
    );
    assert!(cluster.host_file("alpha", "/etc/app/shared.txt").exists());
}

#[test]
fn an_apply_waits_for_the_actions_of_a_killed_one_before_running_its_own() {
    let cluster = AppCluster::local(&["alpha"]);
    cluster.sandbox.edit("modules/app/module.toml", |text| {
        format!(
            "{text}\n[[node]]\nkind = \"command\"\nname = \"slow\"\n\
             run = \"echo start >> \\\"$CAIRN_ROOT/slow.log\\\"; sleep 3; echo end >> \\\"$CAIRN_ROOT/slow.log\\\"\"\n"
        )
    });
    cluster.compile();
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(cluster.sandbox.path())
        .args(["apply", "cluster.lock"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log = cluster.host_file("alpha", "/slow.log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("start")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow command never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Killed mid-command: the command itself goes on running on the host.
    first.kill().unwrap();
    first.wait().unwrap();

    // The new apply waits for the old command to end; the old command then recorded itself,
    // so the new apply finds it done. Without the wait it would read the host mid-command
    // and start a second, overlapping run.
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert!(names(&report, "alpha", "skipped").contains(&"command:slow".to_string()));
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines, ["start", "end"], "the command ran once, to its end");
}

#[test]
fn a_sandbox_host_installs_no_packages_and_manages_no_services_and_says_why() {
    let sandbox = crate::support::Sandbox::new();
    sandbox
        .write(
            "modules/tool/module.toml",
            r##"[module]
name = "tool"
description = "a packaged tool"
roles = ["tool"]

[[node]]
kind = "package"
name = "tool"
packages = ["curl"]

[[node]]
kind = "file"
path = "/etc/tool.conf"
content = "# read by the tool\n"

[[node]]
kind = "service"
unit = "tool.service"
deps = ["package:tool", "file:/etc/tool.conf"]
"##,
        )
        .write(
            "cluster.toml",
            &format!(
                "[cluster]\nname = \"sandboxed\"\ndomain = \"sandboxed.test\"\nmodules = [\"modules\"]\n\
                 exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\", \"preflight\"]\n\n\
                 [hosts.box]\naddress = \"127.0.0.1\"\ntransport = \"local\"\nroot = \"{}/box\"\nroles = [\"tool\"]\n",
                sandbox.path().display()
            ),
        );
    sandbox.compile().success();
    let outcome = sandbox.cairn(&["apply", "cluster.lock", "--json"]).code(1);
    let report = outcome.json();
    assert_eq!(names(&report, "box", "ran"), ["file:/etc/tool.conf"]);
    let not_run = &report["hosts"]["box"]["not_run"];
    let reason_of = |name: &str| {
        not_run
            .as_array()
            .unwrap()
            .iter()
            .find(|node| node["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not among {not_run}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        reason_of("box:package:tool")
            .contains("a sandbox host (one with a `root`) installs no packages"),
        "{not_run}"
    );
    assert!(
        reason_of("box:service:tool.service").contains("manages no services"),
        "{not_run}"
    );
}

/// Finding 7 of issue 13: a plan read while an apply runs shows a half-applied host, and
/// says why, instead of letting it pass for drift.
#[test]
fn plan_says_an_apply_is_running_on_a_host_whose_lock_is_held() {
    let cluster = applied_locally(&["alpha", "beta"]);
    let lock = cluster.host_file("beta", "/var/lib/cairn/lock");
    let mut holder = hold_the_lock(&lock);

    let plan = cluster.plan();
    assert_eq!(plan["hosts"]["beta"]["apply_running"], true);
    assert_eq!(plan["hosts"]["alpha"]["apply_running"], false);
    let text = crate::support::cairn()
        .current_dir(cluster.sandbox.path())
        .args(["plan", "cluster.lock"])
        .run()
        .success()
        .stdout;
    let beta = text.split("beta:").nth(1).expect("beta's plan");
    assert!(beta.contains("an apply is running on this host"), "{text}");
    assert!(
        !text
            .split("beta:")
            .next()
            .unwrap()
            .contains("apply is running")
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(cluster.plan()["hosts"]["beta"]["apply_running"], false);
}
