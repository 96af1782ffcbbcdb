//! What the built-in modules render, judged by the real programs that read it (Debian's
//! haproxy, keepalived, bash and the Docker engine on this machine): the config files as
//! a host gets them from `cairn apply` (secrets substituted), each entrypoint script, and
//! each Dockerfile built against a stand-in base image. Each check of a file has a negative
//! control, a deliberately broken copy the same program must reject, so none passes
//! because the program accepts anything; each image build proves itself by what its RUN
//! line left in the image (the stand-in apt-get's record of the packages it was given).
//! host-base's own scripts (SELinux's mode, the package sources, the check that a host is
//! initialised) run with sh as cairn runs them, on sandbox folders and on this machine,
//! which has no SELinux: stand-ins on their PATH answer for a host's setenforce, Docker and
//! chronyd, and a kernel with SELinux is a folder bind-mounted over `/sys/fs`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Sandbox;
use crate::support::busybox_image::BusyboxImage;

/// Every role of the built-in modules, on sandbox hosts of this machine. The host
/// initialisation module is left out, as in the quick start: it manages packages and
/// services, which a sandbox has not. The test appends the keepalived interface.
const SPEC: &str = r#"[cluster]
name = "real-programs"
domain = "real-programs.example"
exclude_modules = ["host-base"]
fingerprint_key = { file = "secrets/fingerprint.key" }

[hosts.lb1]
id = 1
address = "10.0.0.11"
transport = "local"
root = "sandbox/lb1"
roles = ["loadbalancer"]

[hosts.lb2]
id = 2
address = "10.0.0.12"
transport = "local"
root = "sandbox/lb2"
roles = ["loadbalancer"]

[hosts.master1]
id = 3
address = "10.0.0.21"
transport = "local"
root = "sandbox/master1"
roles = ["master"]

[hosts.agent1]
address = "10.0.0.41"
transport = "local"
root = "sandbox/agent1"
roles = ["agent"]

[hosts.db1]
id = 4
address = "10.0.0.31"
transport = "local"
root = "sandbox/db1"
roles = ["mysql"]

[hosts.db2]
id = 5
address = "10.0.0.32"
transport = "local"
root = "sandbox/db2"
roles = ["mysql"]

[hosts.control]
id = 6
address = "10.0.0.1"
transport = "local"
root = "sandbox/control"
roles = ["control"]

[preflight]
min_free_disk = { "/" = "1GiB" }

[images]
base = "cairn-test/real-programs-base:3"

[haproxy]
services = ["marathon:8080", "console:8000"]

[mysql]
master = "db1"
slave = "db2"
replication_password = { file = "secrets/replication-password" }
root_password = { file = "secrets/root-password" }

# The downloads of the components Debian does not package: the Dockerfile builds get
# stand-ins in their build contexts (see `build_context`), so the checksums are never
# checked here; `apply_docker.rs` fetches and checks real ones.
[consul]
artifact_url = "http://10.0.0.1:8080/artifacts/consul_1.16.1_linux_amd64.zip"
artifact_sha256 = "1d48942fa9f1d0df3f56a1622c7a46e9b85924ed9976338912101bb5519aadf1"

[mesos]
artifact_url = "http://10.0.0.1:8080/artifacts/mesos.tar.gz"
artifact_sha256 = "1111111111111111111111111111111111111111111111111111111111111111"

[marathon]
artifact_url = "http://10.0.0.1:8080/artifacts/marathon.tgz"
artifact_sha256 = "2222222222222222222222222222222222222222222222222222222222222222"

[cadvisor]
artifact_url = "http://10.0.0.1:8080/artifacts/cadvisor"
artifact_sha256 = "3333333333333333333333333333333333333333333333333333333333333333"

[keepalived]
vip = "10.0.0.100/24"
auth_pass = { file = "secrets/vrrp-password" }
"#;

/// The stand-in base image the spec's `[images] base` names: Debian's static busybox and
/// an `apt-get` that records its arguments. Made once per machine and kept.
const BASE_IMAGE: &str = "cairn-test/real-programs-base:3";

/// Where the stand-in `apt-get` records its invocations, one a line.
const APT_GET_RECORD: &str = "/var/log/apt-get.log";

/// A VRRP password of the eight characters keepalived reads.
const VRRP_PASSWORD: &str = "vrrp-pw8";

/// The load balancers and the state each one's keepalived starts in.
const LOAD_BALANCERS: [(&str, &str); 2] = [("lb1", "MASTER"), ("lb2", "BACKUP")];

/// The images the built-in modules define, all of them present in `SPEC`.
const BUILT_IN_IMAGES: [&str; 10] = [
    "cadvisor",
    "consul",
    "haproxy",
    "keepalived",
    "marathon",
    "mesos",
    "mysql",
    "registry",
    "repository",
    "zookeeper",
];

/// The spec in a sandbox, with its secrets.
fn platform_sandbox(vrrp_password: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    let spec = format!("{SPEC}interface = \"{}\"\n", network_interface());
    sandbox
        .write("cluster.toml", &spec)
        .write("secrets/fingerprint.key", "real-programs-fingerprint-key\n")
        .write("secrets/vrrp-password", &format!("{vrrp_password}\n"))
        .write("secrets/replication-password", "replication-secret\n")
        .write("secrets/root-password", "root-secret\n");
    sandbox
}

/// A network interface this machine has, other than loopback: keepalived's check refuses
/// an interface it cannot find, and refuses loopback for VRRP. The default route's
/// interface, else the first other one.
pub(crate) fn network_interface() -> String {
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let default_route = routes.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&"00000000")).then(|| fields[0].to_string())
    });
    if let Some(interface) = default_route {
        return interface;
    }
    let mut interfaces: Vec<String> = std::fs::read_dir("/sys/class/net")
        .expect("/sys/class/net lists the network interfaces")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| {
            // ARPHRD_LOOPBACK is type 772.
            std::fs::read_to_string(path.join("type")).is_ok_and(|kind| kind.trim() != "772")
        })
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    interfaces.sort();
    interfaces
        .into_iter()
        .next()
        .expect("a network interface other than loopback")
}

/// Where a host's file lives in the sandbox.
fn host_file(sandbox: &Sandbox, host: &str, path: &str) -> PathBuf {
    sandbox
        .path()
        .join("sandbox")
        .join(host)
        .join(path.trim_start_matches('/'))
}

/// A copy of `file` beside it, edited to be broken; the edit must change the text.
fn broken_copy(file: &Path, edit: impl FnOnce(&str) -> String) -> PathBuf {
    let text = std::fs::read_to_string(file).expect("a readable file");
    let broken = edit(&text);
    assert_ne!(
        broken,
        text,
        "the edit of {} changed nothing",
        file.display()
    );
    let copy = file.with_extension("broken");
    std::fs::write(&copy, broken).expect("a written copy");
    copy
}

/// What a program said of its input: whether it exited 0, what it printed on its standard
/// output, and everything it printed with its exit code (for messages).
pub(crate) struct Verdict {
    invocation: String,
    accepted: bool,
    stdout: String,
    output: String,
}

pub(crate) fn judge(program: &str, arguments: &[&str]) -> Verdict {
    let output = Command::new(program)
        .args(arguments)
        .output()
        .unwrap_or_else(|error| panic!("{program} runs: {error}"));
    Verdict::of(format!("{program} {}", arguments.join(" ")), &output)
}

impl Verdict {
    /// What a program's run, described by `invocation`, says of what it was given.
    fn of(invocation: String, output: &std::process::Output) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        Verdict {
            invocation,
            accepted: output.status.success(),
            output: format!(
                "exit {:?}\n{stdout}{}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            ),
            stdout,
        }
    }

    pub(crate) fn accepts(self, text_of: &Path) {
        assert!(
            self.accepted,
            "`{}` rejects it:\n{}\n--- the file\n{}",
            self.invocation,
            self.output,
            std::fs::read_to_string(text_of).unwrap_or_default()
        );
    }

    pub(crate) fn rejects(self) {
        assert!(
            !self.accepted,
            "`{}` accepts a broken file: the check proves nothing\n{}",
            self.invocation, self.output
        );
    }
}

pub(crate) fn haproxy_check(config: &Path) -> Verdict {
    judge("haproxy", &["-c", "-f", &config.display().to_string()])
}

/// keepalived 2.2.7's configuration test: exit 0 when the file is sound, 5 (or more) when
/// it reports a problem, warnings such as a truncated password included. It looks on this
/// machine for the interface and for the track script's program (curl, which the keepalived
/// image installs), so both must be here.
pub(crate) fn keepalived_check(config: &Path) -> Verdict {
    assert!(
        Path::new("/usr/bin/curl").exists(),
        "/usr/bin/curl is missing: install curl (.ci/run does)"
    );
    judge(
        "keepalived",
        &["--config-test", "--use-file", &config.display().to_string()],
    )
}

/// Each load balancer's file at `path` holds what `inspect(host, state, text)` looks for
/// and passes `check`; a copy of one host's file with `broken`'s edit fails it.
fn assert_each_load_balancers_file_passes_and_a_broken_copy_fails(
    sandbox: &Sandbox,
    path: &str,
    check: fn(&Path) -> Verdict,
    inspect: impl Fn(&str, &str, &str),
    broken: (&str, impl FnOnce(&str) -> String),
) {
    for (host, state) in LOAD_BALANCERS {
        let config = host_file(sandbox, host, path);
        let text = std::fs::read_to_string(&config)
            .unwrap_or_else(|error| panic!("{host}'s {path}: {error}"));
        inspect(host, state, &text);
        check(&config).accepts(&config);
    }
    let (host, edit) = broken;
    let broken = broken_copy(&host_file(sandbox, host, path), edit);
    check(&broken).rejects();
}

#[test]
fn haproxy_accepts_the_haproxy_cfg_each_load_balancer_gets_and_rejects_a_broken_copy() {
    let sandbox = platform_sandbox(VRRP_PASSWORD);
    sandbox.apply_files();
    assert_each_load_balancers_file_passes_and_a_broken_copy_fails(
        &sandbox,
        "/etc/cairn/haproxy/haproxy.cfg",
        haproxy_check,
        |host, _state, text| {
            for service in ["backend marathon", "bind *:8080", "backend console"] {
                assert!(text.contains(service), "{host} lacks {service:?}:\n{text}");
            }
        },
        ("lb1", |text| {
            text.replace("balance roundrobin", "balance no-such-algorithm")
        }),
    );
}

#[test]
fn keepalived_accepts_the_keepalived_conf_of_the_master_and_of_the_backup_and_rejects_a_broken_copy()
 {
    let sandbox = platform_sandbox(VRRP_PASSWORD);
    sandbox.apply_files();
    assert_each_load_balancers_file_passes_and_a_broken_copy_fails(
        &sandbox,
        "/etc/cairn/keepalived/keepalived.conf",
        keepalived_check,
        |host, state, text| {
            for (line, what) in [
                (format!("state {state}\n"), "its state"),
                (
                    format!("auth_pass {VRRP_PASSWORD}\n"),
                    "the password, not its placeholder",
                ),
            ] {
                assert!(text.contains(&line), "{host} lacks {what}:\n{text}");
            }
        },
        ("lb2", |text| {
            text.replace("virtual_router_id 51\n", "virtual_router_id 256\n")
        }),
    );
}

/// The spec reference says keepalived uses the first 8 characters of `auth_pass`, but
/// keepalived's check (which the image's entrypoint runs before starting keepalived)
/// rejects a longer one ("Truncating auth_pass to 8 characters", exit 5). Either compile
/// refuses such a password, naming the setting, or the host's config passes the check.
#[test]
fn a_vrrp_password_longer_than_keepalived_reads_never_reaches_a_host_in_a_config_keepalived_rejects()
 {
    let sandbox = platform_sandbox("a-vrrp-password-of-24-ch");
    let compiled = sandbox.compile();
    if compiled.code == Some(2) {
        compiled.stderr_has("auth_pass");
        return;
    }
    compiled.success();
    sandbox.apply_files();
    for (host, _) in LOAD_BALANCERS {
        let config = host_file(&sandbox, host, "/etc/cairn/keepalived/keepalived.conf");
        keepalived_check(&config).accepts(&config);
    }
}

/// Every image node of the sandbox's lockfile, as `cairn show --json` prints it.
pub(crate) fn images(sandbox: &Sandbox) -> Vec<serde_json::Value> {
    sandbox.compile().success();
    sandbox
        .show_json()
        .as_array()
        .expect("an array of nodes")
        .iter()
        .filter(|node| node["kind"] == "image")
        .cloned()
        .collect()
}

pub(crate) fn image_name(image: &serde_json::Value) -> String {
    image["inputs"]["name"]
        .as_str()
        .expect("an image's name")
        .to_string()
}

/// An image's files: path, mode and content.
pub(crate) fn image_files(image: &serde_json::Value) -> Vec<(String, u32, String)> {
    image["inputs"]["files"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|file| {
            let mode = file["mode"].as_str().expect("a mode");
            (
                file["path"].as_str().expect("a path").to_string(),
                u32::from_str_radix(mode, 8).expect("an octal mode"),
                file["content"].as_str().expect("a content").to_string(),
            )
        })
        .collect()
}

pub(crate) fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|item| item.as_str().expect("a string").to_string())
        .collect()
}

#[test]
fn bash_parses_every_entrypoint_script_of_every_image_and_rejects_a_broken_copy() {
    let sandbox = platform_sandbox(VRRP_PASSWORD);
    let scripts = sandbox.path().join("scripts");
    let mut checked = BTreeSet::new();
    for image in images(&sandbox) {
        let name = image_name(&image);
        let entrypoint = strings(&image["inputs"]["entrypoint"]);
        for (path, _, content) in image_files(&image) {
            if !content.starts_with("#!/bin/bash") && entrypoint.first() != Some(&path) {
                continue;
            }
            let script = scripts.join(&name).join(path.trim_start_matches('/'));
            std::fs::create_dir_all(script.parent().unwrap()).unwrap();
            std::fs::write(&script, &content).unwrap();
            judge("bash", &["-n", &script.display().to_string()]).accepts(&script);
            checked.insert(name.clone());
        }
    }
    for name in BUILT_IN_IMAGES {
        assert!(checked.contains(name), "no script of image {name} checked");
    }

    let script = scripts.join("haproxy/usr/local/bin/cairn-entrypoint");
    let broken = broken_copy(&script, |text| format!("{text}if true; then\n"));
    judge("bash", &["-n", &broken.display().to_string()]).rejects();
}

/// Makes the stand-in base image once per machine: Debian's static busybox (the shell and
/// `rm` the Dockerfile's RUN line needs) and an `apt-get` that records its arguments and
/// installs nothing.
fn ensure_base_image() {
    let apt_get = format!(
        "#!/bin/sh\n# A stand-in for apt-get: records its arguments, installs nothing.\necho \"$*\" >> {APT_GET_RECORD}\n"
    );
    BusyboxImage {
        applets: &[
            "sh", "rm", "cat", "mkdir", "ln", "chown", "chmod", "readlink", "stat",
        ],
        files: &[
            ("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644),
            ("etc/group", b"root:x:0:\n", 0o644),
            // Stand-ins for shadow's groupadd and useradd, which the Dockerfiles run with
            // the options they give: each adds its line, as the real ones do.
            (
                "usr/sbin/groupadd",
                b"#!/bin/sh\nwhile [ $# -gt 1 ]; do case \"$1\" in --gid) gid=$2; shift;; esac; shift; done\necho \"$1:x:$gid:\" >> /etc/group\n",
                0o755,
            ),
            (
                "usr/sbin/useradd",
                b"#!/bin/sh\nwhile [ $# -gt 1 ]; do case \"$1\" in --uid) uid=$2; shift;; --gid) gid=$2; shift;; --home-dir) home=$2; shift;; --shell) shell=$2; shift;; esac; shift; done\necho \"$1:x:$uid:$gid::$home:$shell\" >> /etc/passwd\n",
                0o755,
            ),
            ("usr/bin/apt-get", apt_get.as_bytes(), 0o755),
        ],
        folders: &["var/log"],
    }
    .ensure(BASE_IMAGE);
}

fn docker(arguments: &[&str]) -> Verdict {
    judge("docker", arguments)
}

/// Removes the images a test built, however it ends.
struct BuiltImages(Vec<String>);

impl Drop for BuiltImages {
    fn drop(&mut self) {
        for tag in &self.0 {
            let _ = Command::new("docker")
                .args(["image", "rm", "--force", tag])
                .output();
        }
    }
}

/// The build context the executor lays out (executor/src/kinds/image.rs): the rendered
/// Dockerfile, and each file of the image under `files/<path>` with its mode.
fn build_context(folder: &Path, image: &serde_json::Value) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(folder).unwrap();
    let dockerfile = image["inputs"]["dockerfile"]
        .as_str()
        .expect("a Dockerfile");
    std::fs::write(folder.join("Dockerfile"), dockerfile).unwrap();
    for (path, mode, content) in image_files(image) {
        let target = folder.join("files").join(path.trim_start_matches('/'));
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, content).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    // Each download where the executor places it, `artifacts/<sha256>`: a stand-in folder
    // for an archive it would unpack, a stand-in file for one it places as it is.
    for artifact in image["inputs"]["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let target = folder
            .join("artifacts")
            .join(artifact["sha256"].as_str().expect("an artifact's sha256"));
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        if artifact["unpack"] == true {
            std::fs::create_dir_all(&target).unwrap();
            std::fs::write(target.join("stand-in-artifact"), "unpacked\n").unwrap();
        } else {
            std::fs::write(&target, "stand-in artifact\n").unwrap();
        }
    }
}

/// Builds one image with `docker build`, as the executor does but under the test's tag,
/// then checks in a container of it that the entrypoint arrived executable and that the
/// stand-in apt-get ran `update`, then one `install` of exactly the packages the lockfile
/// pins. A failure comes back as text, so every image's is reported at once.
fn build_and_check(image: &serde_json::Value, folder: &Path, tag: &str) -> Result<(), String> {
    let name = image_name(image);
    let dockerfile = image["inputs"]["dockerfile"].as_str().unwrap();
    if !dockerfile.contains(&format!("\nFROM {BASE_IMAGE}\n")) {
        return Err(format!(
            "{name} is not built from {BASE_IMAGE}:\n{dockerfile}"
        ));
    }
    build_context(folder, image);
    let build = docker(&[
        "build",
        "--quiet",
        "--tag",
        tag,
        &folder.display().to_string(),
    ]);
    if !build.accepted {
        return Err(format!(
            "`{}` fails:\n{}\n--- Dockerfile\n{dockerfile}",
            build.invocation, build.output
        ));
    }

    let entrypoint = strings(&image["inputs"]["entrypoint"]);
    let script = format!(
        "test -x \"$0\" || {{ echo \"$0 is not executable\" >&2; exit 1; }}; cat {APT_GET_RECORD}"
    );
    let run = docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/sh",
        tag,
        "-c",
        &script,
        entrypoint
            .first()
            .ok_or(format!("{name} has no entrypoint"))?,
    ]);
    if !run.accepted {
        return Err(format!("{name}: `{}`: {}", run.invocation, run.output));
    }
    let record = run.stdout;
    let invocations: Vec<Vec<&str>> = record
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    let update = invocations.iter().position(|words| words == &["update"]);
    let installs: Vec<usize> = (0..invocations.len())
        .filter(|index| invocations[*index].first() == Some(&"install"))
        .collect();
    let (Some(update), [install]) = (update, installs.as_slice()) else {
        return Err(format!(
            "{name}: apt-get did not run `update` then one `install`:\n{record}"
        ));
    };
    let installed: Vec<String> = invocations[*install][1..]
        .iter()
        .filter(|word| !word.starts_with('-'))
        .map(|word| word.to_string())
        .collect();
    let packages = strings(&image["inputs"]["packages"]);
    if update > *install || packages.is_empty() || installed != packages {
        return Err(format!(
            "{name}: apt-get installed {installed:?}, the lockfile pins {packages:?}:\n{record}"
        ));
    }
    check_setup(image, tag)
}

/// The image's declared users, links and folders (what cairn's own builder makes in place
/// of the packages' scripts) are in the image the Dockerfile built, as declared.
fn check_setup(image: &serde_json::Value, tag: &str) -> Result<(), String> {
    let name = image_name(image);
    let inputs = &image["inputs"];
    let items = |field: &str| inputs[field].as_array().cloned().unwrap_or_default();
    let text = |item: &serde_json::Value, field: &str| item[field].as_str().unwrap().to_string();
    let mut script = String::from("cat /etc/passwd");
    let mut expected = Vec::new();
    for user in items("users") {
        let id = user["id"].as_i64().unwrap();
        expected.push(format!(
            "{}:x:{id}:{id}::{}:/usr/sbin/nologin",
            text(&user, "name"),
            text(&user, "home")
        ));
    }
    for link in items("links") {
        script.push_str(&format!(
            "; echo \"link $(readlink {})\"",
            text(&link, "path")
        ));
        expected.push(format!("link {}", text(&link, "target")));
    }
    for directory in items("directories") {
        script.push_str(&format!(
            "; stat -c 'folder %n %U %a' {}",
            text(&directory, "path")
        ));
        expected.push(format!(
            "folder {} {} {}",
            text(&directory, "path"),
            text(&directory, "owner"),
            text(&directory, "mode").trim_start_matches('0')
        ));
    }
    if expected.is_empty() {
        return Ok(());
    }
    let run = docker(&["run", "--rm", "--entrypoint", "/bin/sh", tag, "-c", &script]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let missing: Vec<&String> = expected
        .iter()
        .filter(|line| !lines.contains(&line.as_str()))
        .collect();
    if !run.accepted || !missing.is_empty() {
        return Err(format!(
            "{name}: the built image lacks {missing:?} of its declared setup:\n{}",
            run.output
        ));
    }
    Ok(())
}

#[test]
fn the_docker_engine_builds_every_image_dockerfile_and_its_run_line_installs_exactly_the_pinned_packages()
 {
    ensure_base_image();
    let sandbox = platform_sandbox(VRRP_PASSWORD);
    let images = images(&sandbox);
    let names: Vec<String> = images.iter().map(image_name).collect();
    for name in BUILT_IN_IMAGES {
        assert!(
            names.iter().any(|found| found == name),
            "the lockfile lacks image {name}"
        );
    }
    let tags: Vec<String> = names
        .iter()
        .map(|name| format!("cairn-test/real-programs-{name}:{}", std::process::id()))
        .collect();
    let _built = BuiltImages(tags.clone());
    // In parallel: each build spends most of its time waiting on the engine.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let builds: Vec<_> = images
            .iter()
            .zip(&names)
            .zip(&tags)
            .map(|((image, name), tag)| {
                let folder = sandbox.path().join("build").join(name);
                scope.spawn(move || build_and_check(image, &folder, tag))
            })
            .collect();
        builds
            .into_iter()
            .filter_map(|build| build.join().expect("a build thread").err())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// One host with host-initialisation, as a sandbox, and `extra` appended: the spec of the
/// scripts host-base runs on a host (commands, their guards, probes).
fn host_base_sandbox(extra: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write(
        "cluster.toml",
        &format!(
            "[cluster]\nname = \"initialised\"\ndomain = \"initialised.example\"\nexclude_modules = [\"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\n\n\
             [hosts.node1]\naddress = \"10.0.0.11\"\ntransport = \"local\"\n\
             root = \"sandbox/node1\"\nroles = []\n\n\
             [repository]\nurl = \"http://10.0.0.1:8080/debian\"\n\n\
             [registry]\naddress = \"10.0.0.1:5000\"\n\n\
             [ntp]\nservers = [\"10.0.0.1\"]\n{extra}"
        ),
    );
    sandbox.compile().success();
    sandbox
}

/// An input of one node of the sandbox's lockfile (a command's `run` or `unless`, a probe's
/// `run`).
fn script_of(nodes: &serde_json::Value, node: &str, key: &str) -> String {
    nodes
        .as_array()
        .expect("an array of nodes")
        .iter()
        .find(|found| found["name"] == node)
        .unwrap_or_else(|| panic!("{node} is not in the lockfile"))["inputs"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{node} has no {key}"))
        .to_string()
}

/// Programs standing in for those of a host, first on the PATH of the scripts run here:
/// each records that it ran (`calls`), then runs its given shell text. With `selinux`,
/// the scripts also see a kernel with SELinux: a folder of the stand-ins' own, holding
/// `selinux/enforce`, bind-mounted over `/sys/fs` in a mount namespace of each run's own.
struct StandIns {
    folder: tempfile::TempDir,
    selinux: bool,
}

impl StandIns {
    fn new(programs: &[(&str, &str)]) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let folder = tempfile::tempdir().expect("a temporary folder");
        for (program, body) in programs {
            let path = folder.path().join(program);
            std::fs::write(
                &path,
                format!(
                    "#!/bin/sh\necho \"{program} $*\" >> '{}'\n{body}\n",
                    folder.path().join("calls").display()
                ),
            )
            .expect("a stand-in");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .expect("an executable stand-in");
        }
        Self {
            folder,
            selinux: false,
        }
    }

    /// The scripts see SELinux in the kernel, enforcing (`1`) or permissive (`0`); the
    /// stand-in `setenforce` changes it as the real one does.
    fn with_selinux(programs: &[(&str, &str)], enforce: &str) -> Self {
        let mut stand_ins = Self::new(programs);
        let selinux = stand_ins.folder.path().join("sysfs/selinux");
        std::fs::create_dir_all(&selinux).expect("a stand-in selinuxfs");
        std::fs::write(selinux.join("enforce"), enforce).expect("a stand-in selinuxfs");
        stand_ins.selinux = true;
        stand_ins
    }

    /// The stand-in kernel's `enforce`.
    fn enforce(&self) -> String {
        std::fs::read_to_string(self.folder.path().join("sysfs/selinux/enforce"))
            .expect("a stand-in selinuxfs")
    }

    /// What the stand-ins were called with, one call a line.
    fn calls(&self) -> String {
        std::fs::read_to_string(self.folder.path().join("calls")).unwrap_or_default()
    }

    /// Runs `script` with sh, as cairn runs a command or a probe on a host whose root is
    /// `root` (empty: a host of its own), the stand-ins first on its PATH.
    fn run(&self, script: &str, root: &str) -> Verdict {
        let path = format!(
            "{}:{}",
            self.folder.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = if self.selinux {
            let mut command = Command::new("unshare");
            command.args([
                "--mount",
                "sh",
                "-c",
                "mount --bind \"$1\" /sys/fs && exec sh -c \"$2\"",
                "sh",
                &self.folder.path().join("sysfs").display().to_string(),
                script,
            ]);
            command
        } else {
            let mut command = Command::new("sh");
            command.args(["-c", script]);
            command
        };
        let output = command
            .env("CAIRN_ROOT", root)
            .env("CAIRN_CONTAINER_PREFIX", "")
            .env("PATH", path)
            .output()
            .expect("sh runs");
        Verdict::of(
            format!("sh -c <script> with CAIRN_ROOT={root:?}:\n{script}"),
            &output,
        )
    }
}

/// The stand-in `setenforce`: writes its argument where the kernel takes it.
const SETENFORCE: (&str, &str) = ("setenforce", "echo \"$1\" > /sys/fs/selinux/enforce");

/// This machine has no SELinux (Debian's kernel does not enable it): the premise of the
/// tests that run host-base's SELinux scripts on a host of its own.
fn assert_no_selinux_here() {
    for path in ["/sys/fs/selinux/enforce", "/etc/selinux/config"] {
        assert!(
            !Path::new(path).exists(),
            "{path} exists: this test needs a machine without SELinux"
        );
    }
}

/// The SELinux command's guard, the command and its probe, for `mode`.
fn selinux_scripts(mode: &str) -> (String, String, String) {
    let sandbox = host_base_sandbox(&format!("\n[selinux]\nmode = \"{mode}\"\n"));
    let nodes = sandbox.show_json();
    (
        script_of(&nodes, "node1:command:selinux-mode", "unless"),
        script_of(&nodes, "node1:command:selinux-mode", "run"),
        script_of(&nodes, "node1:health:selinux-mode", "run"),
    )
}

#[test]
fn on_a_host_without_selinux_the_selinux_command_and_probe_succeed_and_change_nothing() {
    assert_no_selinux_here();
    let (guard, command, probe) = selinux_scripts("permissive");
    let stand_ins = StandIns::new(&[SETENFORCE]);

    let guarded = stand_ins.run(&guard, "");
    assert!(
        guarded.accepted,
        "the guard holds: nothing to do\n{}",
        guarded.output
    );
    let ran = stand_ins.run(&command, "");
    assert!(ran.accepted, "{}\n{}", ran.invocation, ran.output);
    let reported = stand_ins.run(&probe, "");
    assert!(
        reported.accepted,
        "{}\n{}",
        reported.invocation, reported.output
    );
    assert_eq!(reported.stdout, "SELinux: this host has none\n");
    assert_eq!(stand_ins.calls(), "", "setenforce never runs here");
    assert_no_selinux_here();

    // Enforcing cannot be had on such a host, and the probe says so.
    let (_, _, probe) = selinux_scripts("enforcing");
    let reported = stand_ins.run(&probe, "");
    assert!(!reported.accepted, "{}", reported.output);
    assert!(
        reported
            .output
            .contains("this host has none, so it cannot be enforcing"),
        "{}",
        reported.output
    );
}

#[test]
fn on_a_host_with_selinux_enforcing_the_command_makes_it_permissive_at_once() {
    assert_no_selinux_here();
    let (guard, command, probe) = selinux_scripts("permissive");
    let stand_ins = StandIns::with_selinux(&[SETENFORCE], "1");
    let reported = stand_ins.run(&probe, "");
    assert!(
        !reported.accepted
            && reported
                .output
                .contains("the host runs enforcing, not permissive"),
        "{}",
        reported.output
    );
    assert!(
        !stand_ins.run(&guard, "").accepted,
        "the guard sees work to do"
    );
    let ran = stand_ins.run(&command, "");
    assert!(ran.accepted, "{}", ran.output);
    assert_eq!(stand_ins.calls(), "setenforce 0\n");
    assert_eq!(stand_ins.enforce().trim(), "0");
    assert!(stand_ins.run(&guard, "").accepted, "then the guard holds");
    let reported = stand_ins.run(&probe, "");
    assert!(reported.accepted, "{}", reported.output);
    assert_eq!(
        reported.stdout,
        "SELinux: the host runs permissive and boots none\n"
    );

    // Wanted enforcing, a permissive host is not what the spec says.
    let (_, _, probe) = selinux_scripts("enforcing");
    let reported = stand_ins.run(&probe, "");
    assert!(
        !reported.accepted
            && reported
                .output
                .contains("the host runs permissive, not enforcing"),
        "{}",
        reported.output
    );
}

#[test]
fn on_a_sandbox_the_selinux_command_edits_the_sandboxs_config_alone_and_the_probe_follows() {
    let (guard, command, probe) = selinux_scripts("permissive");
    // The machine runs SELinux enforcing; the sandbox must leave it so.
    let stand_ins = StandIns::with_selinux(&[SETENFORCE], "1");
    let root = tempfile::tempdir().expect("a sandbox root");
    let root_text = root.path().display().to_string();
    let config = root.path().join("etc/selinux/config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();

    std::fs::write(
        &config,
        "# the host's\nSELINUX=enforcing\nSELINUXTYPE=targeted\n",
    )
    .unwrap();
    let reported = stand_ins.run(&probe, &root_text);
    assert!(
        !reported.accepted
            && reported
                .output
                .contains("boots the host enforcing, not permissive"),
        "{}",
        reported.output
    );
    assert!(
        !stand_ins.run(&guard, &root_text).accepted,
        "the guard sees work to do"
    );
    let ran = stand_ins.run(&command, &root_text);
    assert!(ran.accepted, "{}", ran.output);
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "# the host's\nSELINUX=permissive\nSELINUXTYPE=targeted\n"
    );
    assert!(
        stand_ins.run(&guard, &root_text).accepted,
        "then the guard holds"
    );
    let reported = stand_ins.run(&probe, &root_text);
    assert!(reported.accepted, "{}", reported.output);
    assert!(
        !root.path().join(".autorelabel").exists(),
        "no relabel from enforcing"
    );

    // From disabled, the host relabels its files when it boots with SELinux again.
    std::fs::write(&config, "SELINUX=disabled\n").unwrap();
    let ran = stand_ins.run(&command, &root_text);
    assert!(ran.accepted, "{}", ran.output);
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "SELINUX=permissive\n"
    );
    assert!(root.path().join(".autorelabel").exists());
    assert_eq!(
        stand_ins.calls(),
        "",
        "a sandbox never sets the machine's mode"
    );
    assert_eq!(stand_ins.enforce(), "1");
}

#[test]
fn the_other_package_sources_are_disabled_and_cairns_alone_stays() {
    let sandbox = host_base_sandbox("");
    let nodes = sandbox.show_json();
    let guard = script_of(&nodes, "node1:command:only-cluster-sources", "unless");
    let command = script_of(&nodes, "node1:command:only-cluster-sources", "run");
    let stand_ins = StandIns::new(&[]);
    let root = tempfile::tempdir().expect("a sandbox root");
    let root_text = root.path().display().to_string();
    let sources = root.path().join("etc/apt/sources.list.d");
    std::fs::create_dir_all(&sources).unwrap();
    for name in [
        "cairn.sources",
        "debian.sources",
        "docker.list",
        "old.list.save",
    ] {
        std::fs::write(sources.join(name), "Types: deb\n").unwrap();
    }

    assert!(
        !stand_ins.run(&guard, &root_text).accepted,
        "the guard sees other sources"
    );
    let ran = stand_ins.run(&command, &root_text);
    assert!(ran.accepted, "{}", ran.output);
    let mut left: Vec<String> = std::fs::read_dir(&sources)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "cairn.sources",
            "debian.sources.disabled",
            "docker.list.disabled",
            "old.list.save"
        ]
    );
    assert!(
        stand_ins.run(&guard, &root_text).accepted,
        "then the guard holds"
    );
}

/// The probe's own logic: Docker and chronyd of this machine are not a host's, so
/// stand-ins answer for them, failing, then succeeding.
#[test]
fn the_host_initialised_probe_reports_every_failed_condition_at_once() {
    let sandbox = host_base_sandbox("");
    let probe = script_of(&sandbox.show_json(), "node1:health:host-initialised", "run");
    let root = tempfile::tempdir().expect("a sandbox root");
    let root_text = root.path().display().to_string();
    let file = |relative: &str, content: &str| {
        let path = root.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    };
    file("etc/hostname", "debian\n");
    file(
        "etc/apt/sources.list",
        "deb http://deb.debian.org/debian bookworm main\n",
    );
    file("etc/apt/sources.list.d/cairn.sources", "Types: deb\n");
    file("etc/apt/sources.list.d/debian.sources", "Types: deb\n");

    let failing = StandIns::new(&[("docker", "exit 1"), ("chronyc", "exit 1")]);
    let reported = failing.run(&probe, &root_text);
    assert!(!reported.accepted, "{}", reported.output);
    for condition in [
        "Docker does not answer".to_string(),
        "chronyd does not answer".to_string(),
        format!("{root_text}/etc/hostname does not say node1"),
        format!("{root_text}/etc/apt/sources.list.d/debian.sources is a package source"),
        format!("{root_text}/etc/apt/sources.list names a package source"),
    ] {
        assert!(
            reported.output.contains(&condition),
            "{condition}:\n{}",
            reported.output
        );
    }

    file("etc/hostname", "node1\n");
    file("etc/apt/sources.list", "# Managed by cairn\n");
    std::fs::remove_file(root.path().join("etc/apt/sources.list.d/debian.sources")).unwrap();
    let answering = StandIns::new(&[("docker", "exit 0"), ("chronyc", "exit 0")]);
    let reported = answering.run(&probe, &root_text);
    assert!(reported.accepted, "{}", reported.output);
    assert_eq!(answering.calls(), "docker info\nchronyc -n tracking\n");
}
