//! Rollouts against the real Docker engine: a changed container is replaced host by host,
//! in the order `cairn plan` showed (the hosts `last_where` finds last), each replacement
//! waiting for its gates; a replacement whose gate fails stops the rollout, and the hosts
//! not reached keep serving the release they ran.

use std::process::Command;

use crate::support::app_cluster::{AppCluster, ran_besides_checks};
use crate::support::busybox_image::{BusyboxImage, Containers, WEB_MODULE, add_web_module};

const BASE_IMAGE: &str = "cairn-test/base:1";

/// The web servers' rollout: one at a time, the host with `/leader` in its root last, each
/// drained and undrained (noted in `/turns`), gated by its page answering (its health
/// check) for one second.
const ROLLOUT: &str = r#"
[node.rollout]
max_parallel = 1
last_where = "test -e \"$CAIRN_ROOT/leader\""
last_are = "the leader"
drain = "echo drained >> \"$CAIRN_ROOT/turns\""
undrain = "echo undrained >> \"$CAIRN_ROOT/turns\""
min_healthy_seconds = 1
deadline_seconds = 8
"#;

/// What the drain and undrain commands noted on `host`.
fn turns(cluster: &AppCluster, host: &str) -> String {
    std::fs::read_to_string(cluster.root(host).join("turns")).unwrap_or_default()
}

/// The tests' web module with `ROLLOUT` below its container, its health check tried three
/// times and wanting the page of its own host: tests running beside this one serve pages
/// on ports near its own, which the check of a host whose server is down may reach.
fn rolled_web_module() -> String {
    let container_end = "deps = [\"file:/srv/web/index.html\"]\n";
    WEB_MODULE
        .replacen(container_end, &format!("{container_end}{ROLLOUT}"), 1)
        .replacen("retries = 20", "retries = 3", 1)
        .replacen(
            "grep -q '^hello from'",
            "grep -q '^hello from {{ host.name }}'",
            1,
        )
}

/// Three sandbox hosts on this machine's engine (`PREFIXone`, `PREFIXthree`,
/// `PREFIXtwo`), installed: every web server running the first release, `PREFIXone` the
/// leader.
fn installed_cluster(prefix: &str) -> (AppCluster, u16, Containers) {
    let hosts: Vec<String> = ["one", "three", "two"]
        .iter()
        .map(|suffix| format!("{prefix}{suffix}"))
        .collect();
    let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
    BusyboxImage {
        applets: &["sh", "httpd", "cat", "sleep"],
        ..BusyboxImage::default()
    }
    .ensure(BASE_IMAGE);
    let cluster = AppCluster::local(&hosts);
    let port = crate::support::free_ports::free_ports("127.0.0.1", hosts.len());
    let module = rolled_web_module();
    assert!(
        module.contains("[node.rollout]") && module.contains("'^hello from {{ host.name }}'"),
        "the web module changed: {module}"
    );
    add_web_module(&cluster.sandbox, &module, port);
    let containers = Containers(hosts.iter().map(|host| format!("{host}-web")).collect());
    cluster.compile();
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert!(
        cluster.plan()["rollouts"].as_array().unwrap().is_empty(),
        "a first install replaces nothing: {report}"
    );
    std::fs::write(cluster.root(&format!("{prefix}one")).join("leader"), "").unwrap();
    (cluster, port, containers)
}

/// Copies the cluster's lockfile to `previous.lock`: the release a rollback goes back to.
fn keep_the_lockfile_as_previous(cluster: &AppCluster) {
    std::fs::copy(
        cluster.sandbox.path().join("cluster.lock"),
        cluster.sandbox.path().join("previous.lock"),
    )
    .unwrap();
}

/// Applies `previous.lock` (a rollback), which must succeed and run nothing but checks on
/// `hosts`: each already runs that release.
fn applying_the_previous_lockfile_runs_nothing(cluster: &AppCluster, hosts: &[&str]) {
    std::fs::copy(
        cluster.sandbox.path().join("previous.lock"),
        cluster.sandbox.path().join("cluster.lock"),
    )
    .unwrap();
    let (outcome, report) = cluster.apply();
    outcome.success();
    for host in hosts {
        assert_eq!(
            ran_besides_checks(&report, host),
            Vec::<String>::new(),
            "{host}"
        );
    }
}

fn page(port: u16) -> String {
    let output = Command::new("curl")
        .args(["-s", &format!("http://127.0.0.1:{port}/index.html")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The page at `port` once it is `expected` (a container put back starts serving a moment
/// after it starts), or what it was after ten seconds.
fn page_soon(port: u16, expected: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let served = page(port);
        if served == expected || std::time::Instant::now() > deadline {
            return served;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Applies a release whose first turn (on `host`) fails: the apply exits 1
/// and says the rollout stopped there, the two other hosts not reached. The report.
fn apply_stopping_at(cluster: &AppCluster, host: &str) -> serde_json::Value {
    let (outcome, report) = cluster.apply();
    outcome.code(1).stderr_has(&format!(
        "rollout web: stopped at {host}, 2 hosts not reached\n"
    ));
    report
}

/// Adds `setting` (a `key = value` line) to the spec's `[rollouts.web]`.
fn set_rollout(cluster: &AppCluster, setting: &str) {
    cluster.sandbox.edit("cluster.toml", |text| {
        format!("{text}\n[rollouts.web]\n{setting}\n")
    });
}

/// When the container node of `host` started and ended, in the report, in milliseconds.
fn replacement_span(report: &serde_json::Value, host: &str) -> (u64, u64) {
    let name = format!("{host}:container:web");
    let started = report["hosts"][host]["started_ms"][&name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} did not run: {report}"));
    let duration = report["hosts"][host]["durations_ms"][&name]
        .as_u64()
        .unwrap();
    (started, started + duration)
}

#[test]
fn a_changed_container_is_replaced_one_host_at_a_time_in_the_order_plan_showed() {
    let (cluster, port, _containers) = installed_cluster("roll");
    cluster
        .sandbox
        .replace("modules/web/module.toml", "hello from", "hello again from");
    cluster.compile();

    let plan = cluster.plan();
    let rollout = &plan["rollouts"][0];
    assert_eq!(rollout["container"], "web");
    assert_eq!(
        rollout["order"],
        serde_json::json!(["rollthree", "rolltwo", "rollone"]),
        "by name, the leader last: {plan}"
    );
    assert_eq!(rollout["last"], serde_json::json!(["rollone"]));
    assert_eq!(rollout["at_once"], 1);

    let (outcome, report) = cluster.apply();
    let outcome = outcome.success();
    for line in [
        "rollout web: rollthree replaced, 1 of 3\n",
        "rollout web: rolltwo replaced, 2 of 3\n",
        "rollout web: rollone replaced, 3 of 3\n",
    ] {
        assert!(outcome.stderr.contains(line), "{}", outcome.stderr);
    }
    let spans: Vec<(u64, u64)> = ["rollthree", "rolltwo", "rollone"]
        .iter()
        .map(|host| replacement_span(&report, host))
        .collect();
    for pair in spans.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "each replacement starts after the one before passed its gates: {spans:?}"
        );
    }
    let summary = report["hosts"]["rolltwo"]["summaries"]["rolltwo:container:web"]
        .as_str()
        .unwrap();
    assert!(
        summary.contains("gates passed (health:web-http), healthy 1 s"),
        "{summary}"
    );
    assert_eq!(page(port), "hello again from rollone\n");
    for host in ["rollone", "rollthree", "rolltwo"] {
        assert_eq!(turns(&cluster, host), "drained\nundrained\n", "{host}");
    }
}

#[test]
fn a_replacement_that_fails_its_gate_stops_the_rollout_and_the_others_keep_serving() {
    let (cluster, port, _containers) = installed_cluster("fail");
    keep_the_lockfile_as_previous(&cluster);
    // A bad release: the server listens where nobody asks, so its health check fails.
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "PORT = \"{{ web.port + host.role_index.app - 1 }}\"",
        "PORT = \"{{ web.port + host.role_index.app + 99 }}\"",
    );
    cluster.compile();

    let report = apply_stopping_at(&cluster, "failthree");
    let failed = &report["hosts"]["failthree"]["failed"][0];
    assert_eq!(failed["name"], "failthree:container:web");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("its gate health:web-http did not pass before the deadline"),
        "{failed}"
    );
    assert!(
        failed["error"].as_str().unwrap().contains(
            "the previous container failthree-web is back in its place and passes its gates"
        ),
        "{failed}"
    );
    assert_eq!(
        page_soon(port + 1, "hello from failthree\n"),
        "hello from failthree\n",
        "the failed host serves the release before again"
    );
    for host in ["failtwo", "failone"] {
        let not_run = report["hosts"][host]["not_run"].to_string();
        assert!(
            not_run.contains(
                "the rollout of container `web` stopped: its replacement on failthree failed"
            ),
            "{host}: {not_run}"
        );
    }
    assert_eq!(
        page(port),
        "hello from failone\n",
        "the hosts not reached still run the release before"
    );
    assert_eq!(page(port + 2), "hello from failtwo\n");
    assert_eq!(
        turns(&cluster, "failthree"),
        "drained\nundrained\n",
        "the failed host is undrained once put back"
    );
    assert_eq!(turns(&cluster, "failtwo"), "", "never drained");

    // Rolling back is applying the lockfile before: every host has it already, the failed
    // one since its previous container was put back.
    applying_the_previous_lockfile_runs_nothing(&cluster, &["failone", "failthree", "failtwo"]);
}

#[test]
fn a_gate_that_misses_one_probe_after_the_healthy_time_and_passes_the_next_lets_the_rollout_go_on()
{
    let (cluster, port, _containers) = installed_cluster("miss");
    // The new release's check counts its probes on each host and fails the second: the
    // first passes the gate, the second is the first after the healthy time (a probe lost
    // to a loaded host), the third passes.
    cluster
        .sandbox
        .replace("modules/web/module.toml", "hello from", "hello again from");
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "run = \"docker exec",
        "run = \"n=$(cat \\\"$CAIRN_ROOT/probes\\\" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > \\\"$CAIRN_ROOT/probes\\\"; test $n != 2 && docker exec",
    );
    cluster.compile();

    let (outcome, report) = cluster.apply();
    let outcome = outcome.success();
    assert!(
        outcome
            .stderr
            .contains("rollout web: missone replaced, 3 of 3\n"),
        "{}",
        outcome.stderr
    );
    for host in ["missone", "missthree", "misstwo"] {
        let summary = report["hosts"][host]["summaries"][format!("{host}:container:web")]
            .as_str()
            .unwrap();
        assert!(
            summary.contains(
                "gates passed (health:web-http), healthy 1 s (health:web-http passed at the second attempt after it)"
            ),
            "{host}: {summary}"
        );
    }
    assert_eq!(page(port + 2), "hello again from misstwo\n");
}

#[test]
fn a_replacement_that_passes_its_gate_then_stops_serving_within_the_healthy_time_is_put_back() {
    let (cluster, port, _containers) = installed_cluster("flap");
    // A bad release: its server stops answering after six seconds, though the container
    // keeps running; the gate passes at first, and fails once the healthy time is over.
    cluster.sandbox.write(
        "modules/web/serve.sh",
        "#!/bin/sh\nhttpd -f -p \"$PORT\" -h /www &\ntrap 'exit 0' TERM\nsleep 6\nkill $!\nwhile :; do sleep 1; done\n",
    );
    set_rollout(&cluster, "min_healthy_seconds = 10");
    cluster.compile();

    let report = apply_stopping_at(&cluster, "flapthree");
    let error = report["hosts"]["flapthree"]["failed"][0]["error"]
        .as_str()
        .unwrap();
    assert!(
        error.contains("its gate health:web-http passed, then failed 10 s later (3 attempts)")
            && error.contains(
                "the previous container flapthree-web is back in its place and passes its gates"
            ),
        "{error}"
    );
    assert_eq!(
        page_soon(port + 1, "hello from flapthree\n"),
        "hello from flapthree\n",
        "the failed host serves the release before again"
    );
    assert_eq!(turns(&cluster, "flaptwo"), "", "never drained");
}

#[test]
fn a_replacement_whose_container_cannot_start_puts_the_previous_one_back() {
    let (cluster, port, _containers) = installed_cluster("runfail");
    // Docker refuses to create the new container.
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "network = \"host\"",
        "network = \"host\"\ncap_add = [\"NOT_A_CAPABILITY\"]",
    );
    cluster.compile();

    let (outcome, report) = cluster.apply();
    outcome.code(1);
    let failed = report["hosts"]["runfailthree"]["failed"].to_string();
    assert!(failed.contains("runfailthree:container:web"), "{failed}");
    assert_eq!(
        page_soon(port + 1, "hello from runfailthree\n"),
        "hello from runfailthree\n",
        "the container it replaced runs again"
    );
    let not_run = report["hosts"]["runfailtwo"]["not_run"].to_string();
    assert!(
        not_run.contains("its replacement on runfailthree failed"),
        "{not_run}"
    );
}

#[test]
fn a_replacement_whose_container_stops_at_start_fails_its_gate_without_waiting_out_the_deadline() {
    let (cluster, port, _containers) = installed_cluster("exits");
    // A bad release: httpd refuses the port, so the container exits as it starts (and
    // Docker's restart policy starts it again, and again).
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "PORT = \"{{ web.port + host.role_index.app - 1 }}\"",
        "PORT = \"not-a-port\"",
    );
    set_rollout(&cluster, "deadline_seconds = 300");
    cluster.compile();

    let report = apply_stopping_at(&cluster, "exitsthree");
    let failed = &report["hosts"]["exitsthree"]["failed"][0];
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("its gate health:web-http did not pass")
            && error.contains("the new container stopped after it started")
            && error.contains("`docker logs exitsthree-web` on exitsthree says why"),
        "{error}"
    );
    assert!(
        error.contains(
            "the previous container exitsthree-web is back in its place and passes its gates"
        ),
        "{error}"
    );
    let (started, ended) = replacement_span(&report, "exitsthree");
    assert!(
        ended - started < 60_000,
        "the turn ended once the container stopped, not at the 300 s deadline: {} ms",
        ended - started
    );
    assert_eq!(
        page_soon(port + 1, "hello from exitsthree\n"),
        "hello from exitsthree\n",
        "the failed host serves the release before again"
    );
}

/// The page of `host`, as its sandbox root holds it.
fn page_on_disk(cluster: &AppCluster, host: &str) -> String {
    std::fs::read_to_string(cluster.host_file(host, "/srv/web/index.html")).unwrap()
}

/// What `host` keeps of the files of a turn (none once the turn is over).
fn kept_previous_files(cluster: &AppCluster, host: &str) -> Vec<String> {
    match std::fs::read_dir(cluster.host_file(host, "/var/lib/cairn/previous")) {
        Ok(entries) => entries
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_bad_page_fails_the_first_turn_which_puts_the_page_back_and_the_hosts_not_reached_keep_theirs()
{
    let (cluster, port, _containers) = installed_cluster("badpage");
    keep_the_lockfile_as_previous(&cluster);
    // A bad release of the page alone: the health check wants it to start `hello from`.
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "content = \"hello from {{ host.name }}\\n\"",
        "content = \"goodbye from {{ host.name }}\\n\"",
    );
    cluster.compile();

    let report = apply_stopping_at(&cluster, "badpagethree");
    let failed = report["hosts"]["badpagethree"]["failed"].to_string();
    assert!(
        failed.contains(
            "the previous container badpagethree-web is back in its place and passes its gates"
        ),
        "put back with the page it served, it serves again: {failed}"
    );
    assert!(
        failed.contains("badpagethree:file:/srv/web/index.html")
            && failed.contains("the turn of badpagethree:container:web, which writes it, failed"),
        "the page fails with its turn: {failed}"
    );
    assert_eq!(
        page_soon(port + 1, "hello from badpagethree\n"),
        "hello from badpagethree\n"
    );
    for host in ["badpageone", "badpagethree", "badpagetwo"] {
        assert_eq!(
            page_on_disk(&cluster, host),
            format!("hello from {host}\n"),
            "{host} holds the page of the release it runs"
        );
        assert_eq!(kept_previous_files(&cluster, host), Vec::<String>::new());
    }
    for host in ["badpageone", "badpagetwo"] {
        let not_run = report["hosts"][host]["not_run"].to_string();
        assert!(
            not_run.contains(&format!("{host}:file:/srv/web/index.html"))
                && not_run.contains("its replacement on badpagethree failed"),
            "{host}'s page is not written, for the rollout's reason: {not_run}"
        );
    }

    // Every host's state says the release before: applying it runs nothing.
    applying_the_previous_lockfile_runs_nothing(
        &cluster,
        &["badpageone", "badpagethree", "badpagetwo"],
    );
}

#[test]
fn each_host_gets_the_new_page_in_its_own_turn() {
    let (cluster, port, _containers) = installed_cluster("ownturn");
    // Each drain notes every host's page as it finds it, before the turn writes anything.
    cluster.sandbox.replace(
        "modules/web/module.toml",
        r#"drain = "echo drained >> \"$CAIRN_ROOT/turns\"""#,
        r#"drain = 'cat "$CAIRN_ROOT"/../*/srv/web/index.html | tr "\n" "|" >> "$CAIRN_ROOT/turns"; echo " drained" >> "$CAIRN_ROOT/turns"'"#,
    );
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "content = \"hello from {{ host.name }}\\n\"",
        "content = \"hello from {{ host.name }} again\\n\"",
    );
    cluster.compile();

    let plan = cluster.plan();
    assert_eq!(
        plan["rollouts"][0]["files_in_turn"],
        serde_json::json!({
            "ownturnone": ["/srv/web/index.html"],
            "ownturnthree": ["/srv/web/index.html"],
            "ownturntwo": ["/srv/web/index.html"],
        }),
        "{plan}"
    );
    let plan_text = crate::support::cairn()
        .current_dir(cluster.sandbox.path())
        .args(["plan", "cluster.lock"])
        .args(&cluster.connection)
        .run()
        .success();
    assert!(
        plan_text
            .stdout
            .contains("; writes /srv/web/index.html in each host's turn\n"),
        "{}",
        plan_text.stdout
    );

    let (outcome, report) = cluster.apply();
    outcome.success();
    let before = "hello from ownturnone|hello from ownturnthree|hello from ownturntwo|";
    let after_three = "hello from ownturnone|hello from ownturnthree again|hello from ownturntwo|";
    let after_two =
        "hello from ownturnone|hello from ownturnthree again|hello from ownturntwo again|";
    for (host, seen) in [
        ("ownturnthree", before),
        ("ownturntwo", after_three),
        ("ownturnone", after_two),
    ] {
        assert_eq!(
            turns(&cluster, host),
            format!("{seen} drained\nundrained\n"),
            "{host}'s drain found the pages of the hosts before it new, the others' old"
        );
        assert_eq!(
            page_on_disk(&cluster, host),
            format!("hello from {host} again\n")
        );
        assert_eq!(kept_previous_files(&cluster, host), Vec::<String>::new());
    }
    let summary =
        &report["hosts"]["ownturntwo"]["summaries"]["ownturntwo:file:/srv/web/index.html"];
    assert_eq!(
        summary, "written in the turn of ownturntwo:container:web",
        "{report}"
    );
    assert_eq!(page(port), "hello from ownturnone again\n");
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(
        ran_besides_checks(&report, "ownturntwo"),
        Vec::<String>::new()
    );
}

#[test]
fn an_apply_killed_in_a_turn_leaves_the_state_before_and_a_failed_turn_next_puts_that_back() {
    let (cluster, port, _containers) = installed_cluster("killed");
    // The first undrain of a host holding `kill-once` kills the apply (SIGKILL): the new
    // page is written and the new container passed its gates, nothing is recorded.
    cluster.sandbox.replace(
        "modules/web/module.toml",
        r#"undrain = "echo undrained >> \"$CAIRN_ROOT/turns\"""#,
        r#"undrain = 'if [ -e "$CAIRN_ROOT/kill-once" ]; then rm "$CAIRN_ROOT/kill-once"; pid=$$; while [ "$pid" -gt 1 ]; do pid=$(cut -d " " -f 4 /proc/$pid/stat); if [ "$(cat /proc/$pid/comm)" = cairn ]; then kill -9 "$pid"; exit 0; fi; done; fi; echo undrained >> "$CAIRN_ROOT/turns"'"#,
    );
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "content = \"hello from {{ host.name }}\\n\"",
        "content = \"hello from {{ host.name }} again\\n\"",
    );
    cluster.compile();
    std::fs::write(cluster.root("killedthree").join("kill-once"), "").unwrap();
    let (outcome, _) = cluster.apply();
    assert_eq!(outcome.code, None, "killed: {}", outcome.stderr);
    assert_eq!(
        page_on_disk(&cluster, "killedthree"),
        "hello from killedthree again\n"
    );
    assert_eq!(
        page_on_disk(&cluster, "killedtwo"),
        "hello from killedtwo\n"
    );
    let plan = cluster.plan();
    assert_eq!(
        plan["rollouts"][0]["files_in_turn"]["killedthree"],
        serde_json::json!(["/srv/web/index.html"]),
        "the turn was not recorded, so it runs again: {plan}"
    );

    // The next release is bad, and its first turn (killedthree's again) fails: the page put
    // back is the one the host's state names, not the one the killed turn wrote.
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "content = \"hello from {{ host.name }} again\\n\"",
        "content = \"goodbye from {{ host.name }}\\n\"",
    );
    cluster.compile();
    apply_stopping_at(&cluster, "killedthree");
    assert_eq!(
        page_on_disk(&cluster, "killedthree"),
        "hello from killedthree\n"
    );
    assert_eq!(
        page_soon(port + 1, "hello from killedthree\n"),
        "hello from killedthree\n"
    );
    assert_eq!(
        kept_previous_files(&cluster, "killedthree"),
        Vec::<String>::new()
    );

    // The good release again converges: every host on it, then nothing left to run.
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "content = \"goodbye from {{ host.name }}\\n\"",
        "content = \"hello from {{ host.name }} again\\n\"",
    );
    cluster.compile();
    cluster.apply().0.success();
    let (outcome, report) = cluster.apply();
    outcome.success();
    for host in ["killedone", "killedthree", "killedtwo"] {
        assert_eq!(
            page_on_disk(&cluster, host),
            format!("hello from {host} again\n")
        );
        assert_eq!(
            ran_besides_checks(&report, host),
            Vec::<String>::new(),
            "{host}"
        );
    }
}

#[test]
fn a_replacement_whose_container_cannot_start_puts_its_new_page_back_before_the_previous_one_starts()
 {
    let (cluster, port, _containers) = installed_cluster("runpage");
    // A release of a new page and a container Docker refuses to create.
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "network = \"host\"",
        "network = \"host\"\ncap_add = [\"NOT_A_CAPABILITY\"]",
    );
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "content = \"hello from {{ host.name }}\\n\"",
        "content = \"hello from {{ host.name }} again\\n\"",
    );
    cluster.compile();

    let (outcome, report) = cluster.apply();
    outcome.code(1);
    let failed = report["hosts"]["runpagethree"]["failed"].to_string();
    assert!(
        failed.contains("docker run runpagethree-web")
            && failed.contains("runpagethree:file:/srv/web/index.html"),
        "{failed}"
    );
    assert_eq!(
        page_on_disk(&cluster, "runpagethree"),
        "hello from runpagethree\n"
    );
    assert_eq!(
        page_soon(port + 1, "hello from runpagethree\n"),
        "hello from runpagethree\n",
        "the container it replaced runs again, on its page"
    );
    assert_eq!(
        kept_previous_files(&cluster, "runpagethree"),
        Vec::<String>::new()
    );
}

/// Shell lines killing the apply (SIGKILL to the `cairn` process this runs under) the first
/// time they run on a host holding `kill-once`, as an operator's Ctrl-C or a lost control
/// host would stop it.
const KILL_ONCE: &str = r#"if [ -e \"$CAIRN_ROOT/kill-once\" ]; then rm \"$CAIRN_ROOT/kill-once\"; pid=$$; while [ \"$pid\" -gt 1 ]; do pid=$(cut -d ' ' -f 4 /proc/$pid/stat); if [ \"$(cat /proc/$pid/comm)\" = cairn ]; then kill -9 \"$pid\"; exit 1; fi; done; fi; "#;

#[test]
fn an_apply_killed_in_a_turn_leaves_a_drained_host_that_the_next_apply_undrains_first_and_a_rollback_removes_the_turns_new_file()
 {
    let (cluster, _port, _containers) = installed_cluster("leftover");
    keep_the_lockfile_as_previous(&cluster);
    // A release with a page new to every host, which only the container reads (so it is
    // written in each host's turn); the first gate on a host holding `kill-once` kills the
    // apply: the host is drained, the new page written, nothing recorded.
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "deps = [\"file:/srv/web/index.html\"]\n",
        "deps = [\"file:/srv/web/index.html\", \"file:/srv/web/new.html\"]\n",
    );
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "[[node]]\nkind = \"container\"",
        "[[node]]\nkind = \"file\"\npath = \"/srv/web/new.html\"\ncontent = \"new in this release\\n\"\n\n[[node]]\nkind = \"container\"",
    );
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "run = \"docker exec",
        &format!("run = \"{KILL_ONCE}docker exec"),
    );
    cluster.compile();
    let plan = cluster.plan();
    assert_eq!(
        plan["rollouts"][0]["files_in_turn"]["leftoverthree"],
        serde_json::json!(["/srv/web/new.html"]),
        "{plan}"
    );
    std::fs::write(cluster.root("leftoverthree").join("kill-once"), "").unwrap();
    let (outcome, _) = cluster.apply();
    assert_eq!(outcome.code, None, "killed: {}", outcome.stderr);
    assert_eq!(turns(&cluster, "leftoverthree"), "drained\n");
    let new_page = cluster.host_file("leftoverthree", "/srv/web/new.html");
    assert!(new_page.exists(), "the turn wrote the new page");

    // Rolling back to the release before, where the container is unchanged: the plan says
    // the host was left drained and the new page is cairn's to remove.
    std::fs::copy(
        cluster.sandbox.path().join("previous.lock"),
        cluster.sandbox.path().join("cluster.lock"),
    )
    .unwrap();
    let plan = cluster.plan();
    let host_plan = &plan["hosts"]["leftoverthree"];
    assert_eq!(
        host_plan["left_drained"],
        serde_json::json!(["leftoverthree:container:web"]),
        "{plan}"
    );
    assert_eq!(
        host_plan["orphans"],
        serde_json::json!(["leftoverthree:file:/srv/web/new.html"]),
        "{plan}"
    );
    let (outcome, report) = cluster.apply();
    outcome.success();
    let host_report = &report["hosts"]["leftoverthree"];
    assert_eq!(
        host_report["undrained"],
        serde_json::json!(["leftoverthree:container:web"]),
        "{report}"
    );
    // Undrained first; then the rollback's own turn puts the release before in place of
    // the new container the killed turn started.
    assert_eq!(
        turns(&cluster, "leftoverthree"),
        "drained\nundrained\ndrained\nundrained\n"
    );
    assert_eq!(
        host_report["orphans_removed"],
        serde_json::json!(["leftoverthree:file:/srv/web/new.html"]),
        "{report}"
    );
    assert!(!new_page.exists(), "the rollback removed the new page");
    assert_eq!(
        kept_previous_files(&cluster, "leftoverthree"),
        Vec::<String>::new()
    );

    // Nothing is left over: the next plan has nothing to undrain or remove.
    let plan = cluster.plan();
    assert_eq!(
        plan["hosts"]["leftoverthree"]["left_drained"],
        serde_json::json!([])
    );
    assert_eq!(
        plan["hosts"]["leftoverthree"]["orphans"],
        serde_json::json!([])
    );
    applying_the_previous_lockfile_runs_nothing(
        &cluster,
        &["leftoverone", "leftoverthree", "leftovertwo"],
    );
}

#[test]
fn a_put_back_whose_page_cannot_be_put_back_says_so_and_still_awaits_its_gates() {
    let (cluster, _port, _containers) = installed_cluster("stuck");
    // A bad page, and the first gate on a host holding `stuck-once` makes the page a
    // folder, which the put back cannot replace with the page before.
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "run = \"docker exec",
        r#"run = "if [ -e \"$CAIRN_ROOT/stuck-once\" ]; then rm \"$CAIRN_ROOT/stuck-once\" \"$CAIRN_ROOT/srv/web/index.html\"; mkdir -p \"$CAIRN_ROOT/srv/web/index.html/stuck\"; fi; docker exec"#,
    );
    cluster.sandbox.replace(
        "modules/web/module.toml",
        "content = \"hello from {{ host.name }}\\n\"",
        "content = \"goodbye from {{ host.name }}\\n\"",
    );
    cluster.compile();
    std::fs::write(cluster.root("stuckthree").join("stuck-once"), "").unwrap();

    let report = apply_stopping_at(&cluster, "stuckthree");
    let failed = report["hosts"]["stuckthree"]["failed"].to_string();
    assert!(
        failed.contains("the previous container stuckthree-web is back in its place, but these files of its turn could not be put back as they were")
            && failed.contains(": /srv/web/index.html"),
        "the put back says which file it could not put back: {failed}"
    );
    assert!(
        failed.contains("but its gate health:web-http does not pass"),
        "the gates of the container put back were awaited: {failed}"
    );
    assert!(
        report["hosts"]["stuckthree"]["ran"]
            .as_array()
            .unwrap()
            .iter()
            .all(|name| name != "stuckthree:file:/srv/web/index.html"),
        "the page is not recorded: the next apply writes it again: {report}"
    );
}
