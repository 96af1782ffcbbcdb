//! Old releases' images against the real Docker engine: each host keeps the images of a
//! container's last `keep_releases` releases, so applying the previous lockfile (a
//! rollback) ships nothing, and loses the older ones once a release is healthy on every
//! host that runs it, and not before.

use std::process::Command;

use crate::support::app_cluster::AppCluster;
use crate::support::busybox_image::{BusyboxImage, Containers, WEB_MODULE, add_web_module};

const BASE_IMAGE: &str = "cairn-test/base:1";

/// The web servers' rollout: one host at a time (by name), gated by the page answering,
/// the images of the last two releases kept.
const ROLLOUT: &str = r#"
[node.rollout]
max_parallel = 1
min_healthy_seconds = 0
deadline_seconds = 5
keep_releases = 2
"#;

/// The tests' web module with `ROLLOUT` below its container, its health check tried three
/// times and failing on a host with `/broken` in its root.
fn web_module_keeping_two_releases() -> String {
    let container_end = "deps = [\"file:/srv/web/index.html\"]\n";
    let module = WEB_MODULE
        .replacen(container_end, &format!("{container_end}{ROLLOUT}"), 1)
        .replacen("retries = 20", "retries = 3", 1)
        .replacen(
            "run = \"docker exec",
            "run = \"test ! -e \\\"$CAIRN_ROOT/broken\\\" && docker exec",
            1,
        );
    assert!(
        module.contains("[node.rollout]") && module.contains("/broken"),
        "the web module changed: {module}"
    );
    module
}

/// The images of the test's releases, removed however the test ends.
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        for image in &self.0 {
            let _ = Command::new("docker").args(["image", "rm", image]).output();
        }
    }
}

/// Two sandbox hosts on this machine's engine (`PREFIXone`, `PREFIXtwo`), their web
/// server installed at release 1.
fn cluster_at_release_1(prefix: &str) -> (AppCluster, Containers, Images) {
    BusyboxImage {
        applets: &["sh", "httpd", "cat", "sleep"],
        ..BusyboxImage::default()
    }
    .ensure(BASE_IMAGE);
    let hosts = [format!("{prefix}one"), format!("{prefix}two")];
    let cluster = AppCluster::local(&[&hosts[0], &hosts[1]]);
    let port = crate::support::ssh_fixture::free_port("127.0.0.1");
    add_web_module(&cluster.sandbox, &web_module_keeping_two_releases(), port);
    let containers = Containers(
        hosts
            .iter()
            .flat_map(|host| [format!("{host}-web"), format!("{host}-web.previous")])
            .collect(),
    );
    let mut images = Images(Vec::new());
    images.0.push(compile_release(&cluster, prefix, 1));
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(report["pruned"], serde_json::json!({}), "{report}");
    (cluster, containers, images)
}

/// Compiles release `number` of the web image (its entrypoint says which, and which
/// test); the image's tag.
fn compile_release(cluster: &AppCluster, prefix: &str, number: u32) -> String {
    let serve = cluster.sandbox.read("modules/web/serve.sh");
    let entrypoint: String = serve
        .lines()
        .filter(|line| !line.starts_with("# release"))
        .map(|line| format!("{line}\n"))
        .collect();
    cluster.sandbox.write(
        "modules/web/serve.sh",
        &format!("{entrypoint}# release {number} of image_retention's {prefix}\n"),
    );
    cluster.compile();
    let (id, _) = &cluster.sandbox.nodes()["cluster:image:web"];
    format!("cairn/web:{id}")
}

/// Whether this machine's engine (every sandbox host's) has `image`.
fn engine_has(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .unwrap()
        .status
        .success()
}

/// The images `host`'s release history of `web` lists, most recent first.
fn history(cluster: &AppCluster, host: &str) -> Vec<String> {
    let folder = cluster.host_file(host, "/var/lib/cairn/releases");
    let entries: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    assert_eq!(entries.len(), 1, "one history, web's: {entries:?}");
    assert!(entries[0].starts_with("container=web\n"), "{}", entries[0]);
    entries[0]
        .lines()
        .filter_map(|line| line.strip_prefix("image="))
        .map(str::to_string)
        .collect()
}

/// What the apply's summary said of the container node of `host`.
fn container_summary(report: &serde_json::Value, host: &str) -> String {
    report["hosts"][host]["summaries"][format!("{host}:container:web")]
        .as_str()
        .unwrap_or_else(|| panic!("{host}:container:web did not run: {report}"))
        .to_string()
}

#[test]
fn hosts_keep_the_last_two_releases_images_and_a_rollback_ships_nothing() {
    let (cluster, _containers, mut images) = cluster_at_release_1("keep");
    let release_1 = images.0[0].clone();
    let release_2 = compile_release(&cluster, "keep", 2);
    images.0.push(release_2.clone());
    let (outcome, report) = cluster.apply();
    outcome.success();
    assert_eq!(
        report["pruned"],
        serde_json::json!({}),
        "two releases: both kept"
    );
    std::fs::copy(
        cluster.sandbox.path().join("cluster.lock"),
        cluster.sandbox.path().join("release-2.lock"),
    )
    .unwrap();

    let release_3 = compile_release(&cluster, "keep", 3);
    images.0.push(release_3.clone());
    let (outcome, report) = cluster.apply();
    outcome
        .success()
        .stderr_has("pruned 1 old image of web on 2 hosts\n");
    for host in ["keepone", "keeptwo"] {
        assert_eq!(
            report["pruned"]["web"]["hosts"][host],
            serde_json::json!([release_1]),
            "{report}"
        );
        assert_eq!(history(&cluster, host), [release_3.as_str(), &release_2]);
    }
    assert!(engine_has(&release_3) && engine_has(&release_2));
    assert!(!engine_has(&release_1), "release 1 is beyond the two kept");

    // Rolling back is applying the lockfile before: its image is on every host still.
    std::fs::copy(
        cluster.sandbox.path().join("release-2.lock"),
        cluster.sandbox.path().join("cluster.lock"),
    )
    .unwrap();
    let (outcome, report) = cluster.apply();
    let outcome = outcome.success();
    assert!(!outcome.stderr.contains("pruned"), "{}", outcome.stderr);
    for host in ["keepone", "keeptwo"] {
        let summary = container_summary(&report, host);
        assert!(
            summary.contains(&format!("from {release_2}")) && !summary.contains("image sent"),
            "the host had release 2's image: {summary}"
        );
        assert_eq!(history(&cluster, host), [release_2.as_str(), &release_3]);
    }
    assert!(engine_has(&release_3), "release 3 is one of the last two");
}

#[test]
fn a_release_whose_gate_fails_on_one_host_prunes_nothing_until_it_is_healthy_everywhere() {
    let (cluster, _containers, mut images) = cluster_at_release_1("gate");
    let release_1 = images.0[0].clone();
    let release_2 = compile_release(&cluster, "gate", 2);
    images.0.push(release_2.clone());
    cluster.apply().0.success();

    // Release 3's gate fails on gatetwo, replaced last: gateone runs it already.
    std::fs::write(cluster.root("gatetwo").join("broken"), "").unwrap();
    let release_3 = compile_release(&cluster, "gate", 3);
    images.0.push(release_3.clone());
    let (outcome, report) = cluster.apply();
    let outcome = outcome.code(1);
    assert!(!outcome.stderr.contains("pruned"), "{}", outcome.stderr);
    assert_eq!(report["pruned"], serde_json::json!({}), "{report}");
    assert_eq!(
        report["hosts"]["gatetwo"]["failed"][0]["name"],
        "gatetwo:container:web"
    );
    assert!(
        engine_has(&release_1),
        "nothing is pruned while a host fails"
    );
    assert_eq!(
        history(&cluster, "gateone"),
        [release_3.as_str(), &release_2, &release_1]
    );
    assert_eq!(
        history(&cluster, "gatetwo"),
        [release_2.as_str(), &release_3, &release_1],
        "the host put back runs release 2 again"
    );

    // Healthy everywhere now: the releases beyond the last two go.
    std::fs::remove_file(cluster.root("gatetwo").join("broken")).unwrap();
    let (outcome, _report) = cluster.apply();
    outcome
        .success()
        .stderr_has("pruned 1 old image of web on 2 hosts\n");
    assert!(!engine_has(&release_1));
    for host in ["gateone", "gatetwo"] {
        assert_eq!(
            history(&cluster, host),
            [release_3.as_str(), &release_2],
            "{host}"
        );
    }
}
