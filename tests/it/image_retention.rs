//! Old releases' images against the real Docker engine: each host keeps the images of a
//! container's last `keep_releases` releases, so applying the previous lockfile (a
//! rollback) ships nothing, and loses the older ones once a release is healthy on every
//! host that runs it, and not before. On hosts that pull from the cluster's registry, an
//! image goes with the digest it was pulled by.

use std::collections::BTreeSet;
use std::process::Command;

use crate::image_builder::Registry;
use crate::support::app_cluster::AppCluster;
use crate::support::busybox_image::{BusyboxImage, Containers, WEB_MODULE, add_web_module};
use crate::support::download_server::DownloadServer;

const BASE_IMAGE: &str = "cairn-test/base:1";

/// The web servers' rollout: one host at a time (by name), gated by the page answering,
/// the images of the last two releases kept. The deadline is long: on a loaded machine a
/// healthy replacement may take seconds to answer, and only a failing gate waits it out.
const ROLLOUT: &str = r#"
[node.rollout]
max_parallel = 1
min_healthy_seconds = 0
deadline_seconds = 60
keep_releases = 2
"#;

/// The deadline of the test whose gate fails on purpose, which waits it out once.
const FAILING_GATE_DEADLINE: &str = "deadline_seconds = 15";

/// The tests' web module with `ROLLOUT` below its container, its health check failing on a
/// host with `/broken` in its root.
fn web_module_keeping_two_releases() -> String {
    let container_end = "deps = [\"file:/srv/web/index.html\"]\n";
    let module = WEB_MODULE
        .replacen(container_end, &format!("{container_end}{ROLLOUT}"), 1)
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

/// The images of the test's releases, removed however the test ends, under every name
/// each has: its tag, and the digest it was pulled by from a registry.
struct Images {
    /// The releases' tags, oldest first.
    tags: Vec<String>,
    /// The registry's repository the hosts pulled them from, if any.
    pulled_from: Option<String>,
}

impl Drop for Images {
    fn drop(&mut self) {
        for reference in self.tags.iter().chain(&self.pulled_from) {
            let listed = Command::new("docker")
                .args(["image", "ls", "--quiet", "--no-trunc", reference])
                .output()
                .unwrap();
            for id in String::from_utf8_lossy(&listed.stdout).lines() {
                let _ = Command::new("docker")
                    .args(["image", "rm", "--force", id])
                    .output();
            }
        }
    }
}

/// What a test leaves on the engine, removed however it ends: its containers first (the
/// fields drop in this order), as an image cannot be removed while a container uses it.
struct Leftovers {
    _containers: Containers,
    images: Images,
}

/// Two sandbox hosts on this machine's engine (`PREFIXone`, `PREFIXtwo`, replaced in that
/// order) running the web server.
struct WebCluster {
    prefix: &'static str,
    cluster: AppCluster,
    leftovers: Leftovers,
    /// The busybox the image of a cluster with a registry is built from.
    _downloads: Option<DownloadServer>,
}

impl WebCluster {
    /// The cluster, its web server installed at release 1, and that apply's report. Without
    /// `registry`, the image is `docker build`'s on the test base, sent to each host that
    /// lacks it; with the cluster's `registry`, cairn's builder makes it from an empty base
    /// and a static busybox, pushes it there, and each host that lacks it pulls it by
    /// digest.
    fn at_release_1(
        prefix: &'static str,
        registry: Option<&Registry>,
    ) -> (Self, serde_json::Value) {
        let hosts = [format!("{prefix}one"), format!("{prefix}two")];
        let mut cluster = AppCluster::local(&[&hosts[0], &hosts[1]]);
        let port = crate::support::free_ports::free_ports("127.0.0.1", hosts.len());
        let downloads = match registry {
            None => {
                BusyboxImage {
                    applets: &["sh", "httpd", "cat", "sleep"],
                    ..BusyboxImage::default()
                }
                .ensure(BASE_IMAGE);
                add_web_module(&cluster.sandbox, &web_module_keeping_two_releases(), port);
                None
            }
            Some(registry) => Some(web_module_pulled_from(&mut cluster, registry, port)),
        };
        let containers = Containers(
            hosts
                .iter()
                .flat_map(|host| [format!("{host}-web"), format!("{host}-web.previous")])
                .collect(),
        );
        let mut web = Self {
            prefix,
            cluster,
            leftovers: Leftovers {
                _containers: containers,
                images: Images {
                    tags: Vec::new(),
                    pulled_from: registry.map(web_repository),
                },
            },
            _downloads: downloads,
        };
        web.compile_release(1);
        let (outcome, report) = web.cluster.apply();
        outcome.success();
        assert_eq!(report["pruned"], serde_json::json!({}), "{report}");
        (web, report)
    }

    fn hosts(&self) -> [String; 2] {
        [format!("{}one", self.prefix), format!("{}two", self.prefix)]
    }

    /// The tags of the releases compiled so far, oldest first.
    fn releases(&self) -> &[String] {
        &self.leftovers.images.tags
    }

    /// Compiles release `number` of the web image (its entrypoint says which, and which
    /// test); the image's tag.
    fn compile_release(&mut self, number: u32) -> String {
        let sandbox = &self.cluster.sandbox;
        let serve = sandbox.read("modules/web/serve.sh");
        let entrypoint: String = serve
            .lines()
            .filter(|line| !line.starts_with("# release"))
            .map(|line| format!("{line}\n"))
            .collect();
        sandbox.write(
            "modules/web/serve.sh",
            &format!("{entrypoint}{}\n", release_line(number, self.prefix)),
        );
        self.cluster.compile();
        let (id, _) = &sandbox.nodes()["cluster:image:web"];
        let tag = format!("cairn/web:{id}");
        self.leftovers.images.tags.push(tag.clone());
        tag
    }

    /// What `host`'s web server serves, and the release line of the script it runs.
    fn served(&self, host: &str) -> String {
        let output = Command::new("docker")
            .args(["exec", &format!("{host}-web"), "busybox", "sh", "-c"])
            .arg("busybox wget -q -O - \"http://127.0.0.1:$PORT/index.html\" && busybox grep '^# release' /usr/local/bin/serve")
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// Adds the web module to `cluster` with an image cairn's builder makes (see
/// [`web_module_built_by_cairn`]), its script run by busybox's own name, the spec naming
/// `registry` the cluster's; each apply gets an image folder and store of the sandbox's
/// own. The server of the busybox the image is built from.
fn web_module_pulled_from(
    cluster: &mut AppCluster,
    registry: &Registry,
    port: u16,
) -> DownloadServer {
    let downloads = serve_busybox();
    add_web_module(
        &cluster.sandbox,
        &web_module_built_by_cairn(&downloads),
        port,
    );
    cluster.sandbox.edit("modules/web/serve.sh", |script| {
        script.replace("#!/bin/sh\nhttpd ", "#!/bin/busybox sh\nbusybox httpd ")
    });
    cluster.sandbox.edit("cluster.toml", |text| {
        format!("{text}\n[images]\nregistry = \"{}\"\n", registry.address)
    });
    let own = |folder: &str| cluster.sandbox.path().join(folder).display().to_string();
    cluster.environment = vec![
        ("CAIRN_IMAGES".to_string(), own("images")),
        ("CAIRN_STORE".to_string(), own("store")),
    ];
    downloads
}

/// The line of release `number`'s entrypoint that says which it is.
fn release_line(number: u32, prefix: &str) -> String {
    format!("# release {number} of image_retention's {prefix}")
}

/// A static busybox (Debian's busybox-static) served on loopback.
fn serve_busybox() -> DownloadServer {
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy("/bin/busybox", folder.path().join("busybox"))
        .expect("/bin/busybox (Debian's busybox-static; .ci/run installs it)");
    DownloadServer::serve(folder, "busybox")
}

/// [`web_module_keeping_two_releases`] with an image cairn's builder makes (and so pushes
/// to the cluster's registry): an empty base and the busybox `downloads` serves.
fn web_module_built_by_cairn(downloads: &DownloadServer) -> String {
    let module = web_module_keeping_two_releases().replacen(
        &format!("base = \"{BASE_IMAGE}\"\n"),
        &format!(
            "base = \"scratch\"\nartifacts = [{{ url = \"{}\", sha256 = \"{}\", path = \"/bin/busybox\", mode = \"0755\" }}]\n",
            downloads.url("busybox"),
            downloads.sha256("busybox")
        ),
        1,
    );
    assert!(
        module.contains("base = \"scratch\""),
        "the web module changed: {module}"
    );
    module
}

/// The image id of `image` on this machine's engine, if it has it.
fn image_id(image: &str) -> Option<String> {
    let output = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output()
        .unwrap();
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Whether this machine's engine (every sandbox host's) has `image`.
fn engine_has(image: &str) -> bool {
    image_id(image).is_some()
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

/// Applies releases 2 and 3 after release 1, two kept: release 2 prunes nothing; release
/// 3 prunes release 1 on both hosts, whose histories hold releases 3 and 2, and the engine
/// has their tags but not release 1's. Release 2's lockfile is kept as `release-2.lock`.
/// The two applies' reports.
fn apply_releases_2_and_3(web: &mut WebCluster) -> [serde_json::Value; 2] {
    let release_2 = web.compile_release(2);
    let (outcome, second) = web.cluster.apply();
    outcome.success();
    assert_eq!(
        second["pruned"],
        serde_json::json!({}),
        "two releases: both kept"
    );
    let sandbox = web.cluster.sandbox.path();
    std::fs::copy(sandbox.join("cluster.lock"), sandbox.join("release-2.lock")).unwrap();

    let release_3 = web.compile_release(3);
    let (outcome, third) = web.cluster.apply();
    outcome
        .success()
        .stderr_has("pruned 1 old image of web on 2 hosts\n");
    let release_1 = &web.releases()[0];
    for host in web.hosts() {
        assert_eq!(
            third["pruned"]["web"]["hosts"][&host],
            serde_json::json!([release_1]),
            "{third}"
        );
        assert_eq!(
            history(&web.cluster, &host),
            [release_3.as_str(), &release_2]
        );
    }
    assert!(engine_has(&release_3) && engine_has(&release_2));
    assert!(!engine_has(release_1), "release 1 is beyond the two kept");
    [second, third]
}

/// Applies release 2's lockfile again: a rollback. Every host has its image still, so none
/// is sent or pulled; each serves release 2 again, release 3 second in its history and on
/// the engine still. The apply's report.
fn roll_back_to_release_2(web: &WebCluster) -> serde_json::Value {
    let sandbox = web.cluster.sandbox.path();
    std::fs::copy(sandbox.join("release-2.lock"), sandbox.join("cluster.lock")).unwrap();
    let (outcome, report) = web.cluster.apply();
    let outcome = outcome.success();
    assert!(!outcome.stderr.contains("pruned"), "{}", outcome.stderr);
    let [_, release_2, release_3] = web.releases() else {
        panic!("three releases: {:?}", web.releases());
    };
    for host in web.hosts() {
        let summary = container_summary(&report, &host);
        assert!(
            summary.contains(&format!("from {release_2}"))
                && !summary.contains("image sent")
                && !summary.contains("image pulled"),
            "the host had release 2's image: {summary}"
        );
        assert_eq!(
            history(&web.cluster, &host),
            [release_2.as_str(), release_3]
        );
        assert_eq!(
            web.served(&host),
            format!("hello from {host}\n{}\n", release_line(2, web.prefix))
        );
    }
    assert!(engine_has(release_3), "release 3 is one of the last two");
    report
}

/// The digest the hosts pulled the image `tag` by from the cluster's `registry`
/// (`REGISTRY/cairn/web@sha256:…`), as the apply's summaries say. The hosts share one
/// engine: a host that found the image there, another host having pulled it first, says
/// nothing of it; none is sent it.
fn pulled_by(
    web: &WebCluster,
    report: &serde_json::Value,
    tag: &str,
    registry: &Registry,
) -> String {
    let summaries = web.hosts().map(|host| {
        let summary = container_summary(report, &host);
        (host, summary)
    });
    let pulled = summaries
        .iter()
        .find_map(|(_, summary)| summary.split_once(" (image pulled as "))
        .and_then(|(_, after)| after.split_once(')'))
        .map(|(pullable, _)| pullable.to_string())
        .unwrap_or_else(|| panic!("no host pulled {tag}: {summaries:?}"));
    assert!(
        pulled.starts_with(&format!("{}@sha256:", web_repository(registry))),
        "{pulled}"
    );
    for (host, summary) in &summaries {
        let started = format!("started {host}-web from {tag}");
        let after = summary
            .strip_prefix(&started)
            .unwrap_or_else(|| panic!("{summary}"));
        let after = after
            .strip_prefix(&format!(" (image pulled as {pulled})"))
            .unwrap_or(after);
        assert!(after.is_empty() || after.starts_with("; "), "{summary}");
    }
    pulled
}

/// The web image's repository in the cluster's `registry`.
fn web_repository(registry: &Registry) -> String {
    format!("{}/cairn/web", registry.address)
}

/// The digest references (`REGISTRY/cairn/web@sha256:…`) this machine's engine holds of
/// the registry's web image, as `docker image ls --digests` lists them.
fn digest_references(registry: &Registry) -> BTreeSet<String> {
    let repository = web_repository(registry);
    let output = Command::new("docker")
        .args([
            "image",
            "ls",
            "--digests",
            "--format",
            "{{.Repository}}@{{.Digest}}",
            &repository,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// With two releases kept, release 3 removes release 1's image from both hosts and keeps
/// releases 3 and 2; rolling back to release 2 then ships nothing.
#[test]
fn hosts_keep_the_last_two_releases_images_and_a_rollback_ships_nothing() {
    let (mut web, _) = WebCluster::at_release_1("keep", None);
    apply_releases_2_and_3(&mut web);
    roll_back_to_release_2(&web);
}

/// On hosts that pull from the cluster's registry, a release's image has two names on the
/// engine: its tag and the digest it was pulled by (`REGISTRY/cairn/web@sha256:…`).
/// Pruning removes both, so release 1's image leaves the engine (its id is gone, not merely
/// its tag); releases 3 and 2 keep both names, and rolling back to release 2 pulls nothing.
///
/// Both hosts are sandboxes of this machine's one engine, so a host pulls only an image
/// the other has not pulled yet: release 1, a first install on both hosts at once, is
/// pulled by one or both; releases 2 and 3 replace the one before a host at a time, so
/// `pullone` pulls them and `pulltwo` finds them there. Whichever host prunes first
/// removes release 1, and the other finds it gone. That every host with an engine of its
/// own pulls, and prunes its own copy, is not shown here.
#[test]
fn with_the_clusters_registry_pruning_removes_the_digest_an_image_was_pulled_by_too() {
    let registry = Registry::start();
    let (mut web, first) = WebCluster::at_release_1("pull", Some(&registry));
    let release_1_id = image_id(&web.releases()[0]).expect("release 1 is on the engine");
    let pulled_1 = pulled_by(&web, &first, &web.releases()[0], &registry);
    assert_eq!(
        image_id(&pulled_1).as_ref(),
        Some(&release_1_id),
        "one image, two names"
    );
    let [second, third] = apply_releases_2_and_3(&mut web);
    assert!(
        image_id(&release_1_id).is_none() && image_id(&pulled_1).is_none(),
        "release 1's image is gone, with the digest it was pulled by"
    );
    let mut kept = BTreeSet::new();
    for (report, tag) in [&second, &third].into_iter().zip(&web.releases()[1..]) {
        let pulled = pulled_by(&web, report, tag, &registry);
        let summary = container_summary(report, "pullone");
        assert!(
            summary.contains(&format!(" (image pulled as {pulled})")),
            "replaced first, pullone pulls: {summary}"
        );
        assert!(
            engine_has(tag) && image_id(tag) == image_id(&pulled),
            "kept, one image under two names: {tag}, {pulled}"
        );
        kept.insert(pulled);
    }
    assert_eq!(
        digest_references(&registry),
        kept,
        "releases 2 and 3 keep theirs"
    );

    let report = roll_back_to_release_2(&web);
    assert_eq!(
        report["hosts"]["cluster"]["skipped"],
        serde_json::json!(["cluster:image:web"]),
        "release 2's image is neither built nor pushed again: {report}"
    );
    assert_eq!(digest_references(&registry), kept);
}

/// A release whose health gate fails on one host prunes nothing, so the host put back
/// still has every image; once the release is healthy on every host, the releases beyond
/// the last two go.
#[test]
fn a_release_whose_gate_fails_on_one_host_prunes_nothing_until_it_is_healthy_everywhere() {
    let (mut web, _) = WebCluster::at_release_1("gate", None);
    web.cluster
        .sandbox
        .edit("modules/web/module.toml", |module| {
            module.replacen("deadline_seconds = 60", FAILING_GATE_DEADLINE, 1)
        });
    let release_1 = web.releases()[0].clone();
    let release_2 = web.compile_release(2);
    web.cluster.apply().0.success();

    // Release 3's gate fails on gatetwo, replaced last: gateone runs it already.
    std::fs::write(web.cluster.root("gatetwo").join("broken"), "").unwrap();
    let release_3 = web.compile_release(3);
    let (outcome, report) = web.cluster.apply();
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
        history(&web.cluster, "gateone"),
        [release_3.as_str(), &release_2, &release_1]
    );
    assert_eq!(
        history(&web.cluster, "gatetwo"),
        [release_2.as_str(), &release_3, &release_1],
        "the host put back runs release 2 again"
    );

    // Healthy everywhere now: the releases beyond the last two go.
    std::fs::remove_file(web.cluster.root("gatetwo").join("broken")).unwrap();
    let (outcome, _report) = web.cluster.apply();
    outcome
        .success()
        .stderr_has("pruned 1 old image of web on 2 hosts\n");
    assert!(!engine_has(&release_1));
    for host in ["gateone", "gatetwo"] {
        assert_eq!(
            history(&web.cluster, host),
            [release_3.as_str(), &release_2],
            "{host}"
        );
    }
}

/// A container name that leaves the lockfile (its module no longer used) is removed from
/// its hosts as an orphan, and takes the images of its releases and its history with it:
/// nothing of it stays on the hosts' disks.
#[test]
fn a_container_name_that_leaves_the_lockfile_takes_its_images_and_history_with_it() {
    let (mut web, _) = WebCluster::at_release_1("gone", None);
    let release_2 = web.compile_release(2);
    let (outcome, report) = web.cluster.apply();
    outcome.success();
    assert_eq!(
        report["pruned"],
        serde_json::json!({}),
        "two releases: both kept"
    );
    let release_1 = web.releases()[0].clone();
    for host in web.hosts() {
        assert_eq!(
            history(&web.cluster, &host),
            [release_2.as_str(), &release_1]
        );
    }

    // The module left out, and its settings with it.
    web.cluster.sandbox.edit("cluster.toml", |spec| {
        let (before, web_settings) = spec.split_once("[web]\n").expect("the web settings");
        let after = web_settings
            .split_once("\n[")
            .map_or(String::new(), |(_, rest)| format!("\n[{rest}"));
        format!("{before}{after}").replace("exclude_modules = [", "exclude_modules = [\"web\", ")
    });
    web.cluster.compile();
    let (outcome, report) = web.cluster.apply();
    outcome.success();
    for host in web.hosts() {
        assert_eq!(
            report["hosts"][&host]["orphans_removed"],
            serde_json::json!([
                format!("{host}:health:web-http"),
                format!("{host}:container:web"),
                format!("{host}:file:/srv/web/index.html")
            ]),
            "{report}"
        );
        assert_eq!(
            report["pruned"]["web"]["hosts"][&host],
            serde_json::json!([release_2, release_1]),
            "{report}"
        );
        let histories = web.cluster.host_file(&host, "/var/lib/cairn/releases");
        assert_eq!(
            std::fs::read_dir(&histories).unwrap().count(),
            0,
            "{host}'s history of web is gone"
        );
    }
    assert!(!engine_has(&release_1) && !engine_has(&release_2));
}
