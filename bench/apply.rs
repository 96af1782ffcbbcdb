//! Apply benchmark: `cairn apply` against 100 real sshd servers on loopback, and the same
//! work by `ansible-playbook` and by `pyinfra` in the same run.
//!
//! Each host gets 10 rendered files. Three scenarios, each timed end to end (process start
//! to exit): the first apply (everything written), a no-op re-apply (nothing changed), and
//! a re-apply after one template changed (one file per host rewritten). Ansible writes the
//! same files with the `template` module in one looped task, with pipelining on, 100
//! forks, no fact gathering, and SSH connection sharing (ControlPersist), its usual setup.
//! pyinfra writes them with one `files.template` operation per file, 100 hosts in
//! parallel, without the confirmation prompt (`-y`).
//!
//! `cargo bench --bench apply`; `CAIRN_BENCH_HOSTS` (100) and `CAIRN_BENCH_RUNS` (3)
//! change the size and the repetitions of the re-apply scenarios; `CAIRN_BENCH_ANSIBLE=0`
//! and `CAIRN_BENCH_PYINFRA=0` leave Ansible or pyinfra out. Needs Debian's
//! openssh-server, `pip install ansible-core` and `pip install pyinfra`; run as root.

#[path = "../tests/it/support/free_ports.rs"]
#[allow(dead_code)]
mod free_ports;
#[path = "../tests/it/support/ssh_fixture.rs"]
#[allow(dead_code)]
mod ssh_fixture;

#[path = "common.rs"]
#[allow(dead_code)] // each benchmark uses some of what they share
mod common;

use common::env_number;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const FILES_PER_HOST: usize = 10;

fn main() {
    let hosts: usize = env_number("CAIRN_BENCH_HOSTS", 100);
    let runs: usize = env_number("CAIRN_BENCH_RUNS", 3);
    let addresses: Vec<String> = (1..=hosts)
        .map(|index| format!("127.0.{}.{}", 1 + index / 250, index % 250 + 1))
        .collect();
    let address_refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
    eprintln!("starting {hosts} sshd servers...");
    let fixture = ssh_fixture::SshFixture::start(&address_refs);
    let workspace = tempfile::tempdir().expect("a temporary folder");
    let folder = workspace.path();
    write_cairn_cluster(folder, &fixture, FILES_PER_HOST);
    let comparisons = [
        write_ansible_project(folder, &fixture, FILES_PER_HOST),
        write_pyinfra_project(folder, &fixture, FILES_PER_HOST),
    ];

    let cairn_binary = env!("CARGO_BIN_EXE_cairn");
    let cairn_command = |arguments: &[&str]| {
        let mut command = Command::new(cairn_binary);
        command.current_dir(folder).args(arguments);
        if arguments[0] == "apply" {
            command.args(fixture.arguments());
        }
        command
    };
    run_ok(cairn_command(&["compile", "cluster.toml"]), "cairn compile");
    let cairn = measure(
        runs,
        |scenario| {
            run_ok(
                cairn_command(&["apply", "cluster.lock"]),
                &format!("cairn apply ({scenario})"),
            )
        },
        || {
            edit_template(folder);
            run_ok(cairn_command(&["compile", "cluster.toml"]), "cairn compile");
        },
    );
    verify_files(folder, hosts, CAIRN_TREE);

    let compared: Vec<Option<Timings>> = comparisons
        .iter()
        .map(|tool| {
            if !tool.wanted() {
                return None;
            }
            if !tool.available() {
                eprintln!(
                    "{} not found: `{}` for the comparison",
                    tool.program, tool.install
                );
                return None;
            }
            let timings = measure(
                runs,
                |scenario| run_ok(tool.command(), &format!("{} ({scenario})", tool.program)),
                || edit_template(folder),
            );
            verify_files(folder, hosts, tool.tree);
            Some(timings)
        })
        .collect();

    print!("{}", table(hosts, runs, cairn, &comparisons, &compared));
}

const SCENARIOS: [&str; 3] = ["first apply", "no-op re-apply", "one template changed"];

/// The times of one tool, in the order of `SCENARIOS`.
type Timings = [Duration; 3];

/// Times the three scenarios: `apply` runs the tool once (given the scenario's name, for
/// its failure message), `edit` changes one template before each changed re-apply.
fn measure(runs: usize, apply: impl Fn(&str) -> Duration, mut edit: impl FnMut()) -> Timings {
    let first = apply("first");
    let noop = best_of(runs, || apply("no-op"));
    let change = best_of(runs, || {
        edit();
        apply("one change")
    });
    [first, noop, change]
}

/// A tool cairn is compared with: how to run it on the project written for it, and
/// where it writes each host's files.
struct Comparison {
    /// The program, also the name of its column.
    program: &'static str,
    /// `<switch>=0` leaves the tool out.
    switch: &'static str,
    /// How to install it, printed when it is missing.
    install: &'static str,
    arguments: Vec<String>,
    environment: Vec<(&'static str, PathBuf)>,
    directory: PathBuf,
    /// The folder (under the workspace) holding one folder per host.
    tree: &'static str,
}

impl Comparison {
    fn wanted(&self) -> bool {
        std::env::var(self.switch).map_or(true, |value| value != "0")
    }

    fn available(&self) -> bool {
        Command::new(self.program)
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    }

    fn command(&self) -> Command {
        let mut command = Command::new(self.program);
        command
            .current_dir(&self.directory)
            .envs(self.environment.clone())
            .args(&self.arguments);
        command
    }
}

fn table(
    hosts: usize,
    runs: usize,
    cairn: Timings,
    comparisons: &[Comparison],
    compared: &[Option<Timings>],
) -> String {
    let programs: Vec<&str> = comparisons.iter().map(|tool| tool.program).collect();
    let mut table = String::new();
    let _ = writeln!(
        table,
        "cairn apply vs {}: {hosts} hosts (sshd on loopback), {FILES_PER_HOST} files each; re-apply scenarios best of {runs}",
        programs.join(" and ")
    );
    let _ = write!(table, "{:<24} {:>10}", "scenario", "cairn");
    for program in &programs {
        let _ = write!(table, " {program:>16} {:>8}", "ratio");
    }
    table.push('\n');
    for (position, scenario) in SCENARIOS.into_iter().enumerate() {
        let cairn_time = cairn[position];
        let _ = write!(table, "{scenario:<24} {:>10}", seconds(cairn_time));
        for timings in compared {
            // The ratio is cairn's speed-up over the tool.
            let (time, ratio) = match timings {
                Some(timings) => {
                    let time = timings[position];
                    (
                        seconds(time),
                        format!("{:.1}x", time.as_secs_f64() / cairn_time.as_secs_f64()),
                    )
                }
                None => ("-".to_string(), "-".to_string()),
            };
            let _ = write!(table, " {time:>16} {ratio:>8}");
        }
        table.push('\n');
    }
    table
}

fn run_ok(mut command: Command, what: &str) -> Duration {
    let start = Instant::now();
    let output = command.output().expect("the command starts");
    let elapsed = start.elapsed();
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

fn best_of(runs: usize, mut once: impl FnMut() -> Duration) -> Duration {
    (0..runs.max(1))
        .map(|_| once())
        .min()
        .expect("at least one run")
}

/// The templates `edit_template` changes: the first one of each tool.
const EDITED_TEMPLATES: [&str; 3] = [
    "modules/bench/file0.j2",
    "templates/file0.j2",
    "pyinfra/templates/file0.j2",
];

/// Moves the first template of every tool to its next revision, so each changed
/// re-apply has one file per host to rewrite whichever tool ran before.
fn edit_template(folder: &Path) {
    let next = template_revision(folder).map_or(0, |revision| revision + 1);
    for template in EDITED_TEMPLATES {
        let path = folder.join(template);
        let text = std::fs::read_to_string(&path).expect("the template");
        let (body, _) = split_revision(&text);
        std::fs::write(&path, format!("{body}# revision {next}\n")).expect("the template");
    }
}

/// The revision the edited templates are at, if they were edited.
fn template_revision(folder: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(folder.join(EDITED_TEMPLATES[0])).expect("the template");
    split_revision(&text).1
}

/// A template or a file rendered from it, and the revision line `edit_template` added.
fn split_revision(text: &str) -> (&str, Option<usize>) {
    match text.split_once("# revision ") {
        Some((body, revision)) => (body, revision.trim().parse().ok()),
        None => (text, None),
    }
}

fn template(index: usize) -> String {
    format!(
        "# file {index}, rendered for {{{{ host_name }}}}\n{{% for line in range(40) %}}setting_{index}_{{{{ line }}}} = value {{{{ line }}}} on {{{{ host_name }}}}\n{{% endfor %}}"
    )
}

/// Where each tool writes: one folder per host under it, the host's root for the files.
const CAIRN_TREE: &str = "cairn-hosts";
const ANSIBLE_TREE: &str = "ansible-hosts";
const PYINFRA_TREE: &str = "pyinfra-hosts";

fn write_cairn_cluster(folder: &Path, fixture: &ssh_fixture::SshFixture, files: usize) {
    let module_folder = folder.join("modules/bench");
    std::fs::create_dir_all(&module_folder).expect("a folder");
    let mut manifest = String::from(
        "[module]\nname = \"bench\"\ndescription = \"the benchmark's files\"\nroles = [\"bench\"]\n",
    );
    for index in 0..files {
        let _ = write!(
            manifest,
            "\n[[node]]\nkind = \"file\"\npath = \"/etc/bench/file{index}.conf\"\ntemplate = \"file{index}.j2\"\n"
        );
        // cairn's templates see `host.name`; the text is the same as Ansible's.
        let text = template(index).replace("host_name", "host.name");
        std::fs::write(module_folder.join(format!("file{index}.j2")), text).expect("a template");
    }
    std::fs::write(module_folder.join("module.toml"), manifest).expect("the manifest");
    let mut spec = String::from(
        "[cluster]\nname = \"bench\"\ndomain = \"bench.example\"\nmodules = [\"modules\"]\nexclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\", \"preflight\"]\n\n",
    );
    for (index, server) in fixture.servers.iter().enumerate() {
        let _ = write!(
            spec,
            "[hosts.h{index:03}]\naddress = \"{}\"\nport = {}\nroot = \"{}\"\nroles = [\"bench\"]\n\n",
            server.address,
            server.port,
            folder
                .join(CAIRN_TREE)
                .join(format!("h{index:03}"))
                .display()
        );
    }
    std::fs::write(folder.join("cluster.toml"), spec).expect("the spec");
}

fn write_ansible_project(
    folder: &Path,
    fixture: &ssh_fixture::SshFixture,
    files: usize,
) -> Comparison {
    std::fs::create_dir_all(folder.join("templates")).expect("a folder");
    for index in 0..files {
        std::fs::write(
            folder.join(format!("templates/file{index}.j2")),
            template(index).replace("host_name", "inventory_hostname"),
        )
        .expect("a template");
    }
    let mut inventory = String::from("[bench]\n");
    for (index, server) in fixture.servers.iter().enumerate() {
        let _ = writeln!(
            inventory,
            "h{index:03} ansible_host={} ansible_port={} ansible_user=root sandbox_root={}",
            server.address,
            server.port,
            folder
                .join(ANSIBLE_TREE)
                .join(format!("h{index:03}"))
                .display()
        );
    }
    std::fs::write(folder.join("inventory.ini"), inventory).expect("the inventory");
    std::fs::write(
        folder.join("ansible.cfg"),
        format!(
            "[defaults]\nforks = 100\ngathering = explicit\nhost_key_checking = True\ninterpreter_python = /usr/bin/python3\n\
             private_key_file = {key}\nretry_files_enabled = False\n\n\
             [ssh_connection]\npipelining = True\nssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile={known_hosts}\n",
            key = fixture.identity().display(),
            known_hosts = fixture.known_hosts().display(),
        ),
    )
    .expect("ansible.cfg");
    let file_list: Vec<String> = (0..files).map(|index| index.to_string()).collect();
    std::fs::write(
        folder.join("playbook.yml"),
        format!(
            "- hosts: bench\n  gather_facts: false\n  tasks:\n    - name: directory\n      ansible.builtin.file:\n        path: \"{{{{ sandbox_root }}}}/etc/bench\"\n        state: directory\n    - name: files\n      ansible.builtin.template:\n        src: \"templates/file{{{{ item }}}}.j2\"\n        dest: \"{{{{ sandbox_root }}}}/etc/bench/file{{{{ item }}}}.conf\"\n        mode: \"0644\"\n      loop: [{}]\n",
            file_list.join(", ")
        ),
    )
    .expect("the playbook");
    Comparison {
        program: "ansible-playbook",
        switch: "CAIRN_BENCH_ANSIBLE",
        install: "pip install ansible-core",
        arguments: ["-i", "inventory.ini", "playbook.yml"]
            .map(String::from)
            .to_vec(),
        environment: vec![("ANSIBLE_CONFIG", folder.join("ansible.cfg"))],
        directory: folder.to_path_buf(),
        tree: ANSIBLE_TREE,
    }
}

/// A pyinfra project in `pyinfra/`: an inventory naming the hosts `h000`, ... like the
/// other tools' (so `host.name` renders the same text), and a deploy with one
/// `files.template` per file.
fn write_pyinfra_project(
    folder: &Path,
    fixture: &ssh_fixture::SshFixture,
    files: usize,
) -> Comparison {
    let project = folder.join("pyinfra");
    std::fs::create_dir_all(project.join("templates")).expect("a folder");
    for index in 0..files {
        std::fs::write(
            project.join(format!("templates/file{index}.j2")),
            template(index).replace("host_name", "host.name"),
        )
        .expect("a template");
    }
    // One group, `bench`: its hosts with their own data, then the data they share.
    let mut inventory = String::from("bench = (\n    [\n");
    for (index, server) in fixture.servers.iter().enumerate() {
        let _ = writeln!(
            inventory,
            r#"        ("h{index:03}", {{"ssh_hostname": "{}", "ssh_port": {}, "sandbox_root": "{}"}}),"#,
            server.address,
            server.port,
            folder
                .join(PYINFRA_TREE)
                .join(format!("h{index:03}"))
                .display()
        );
    }
    // Host keys are checked against the fixture's known_hosts: "yes" refuses an unknown
    // host rather than trusting it on first use (pyinfra's default is "accept-new").
    let _ = write!(
        inventory,
        r#"    ],
    {{
        "ssh_user": "root",
        "ssh_key": "{key}",
        "ssh_known_hosts_file": "{known_hosts}",
        "ssh_strict_host_key_checking": "yes",
    }},
)
"#,
        key = fixture.identity().display(),
        known_hosts = fixture.known_hosts().display(),
    );
    std::fs::write(project.join("inventory.py"), inventory).expect("the inventory");
    // `files.template` creates the folder itself (`create_remote_dir`), where Ansible
    // needs a task of its own; the mode is Ansible's.
    std::fs::write(
        project.join("deploy.py"),
        format!(
            r#"from pyinfra import host
from pyinfra.operations import files

for index in range({files}):
    files.template(
        name=f"file{{index}}",
        src=f"templates/file{{index}}.j2",
        dest=f"{{host.data.sandbox_root}}/etc/bench/file{{index}}.conf",
        mode="644",
    )
"#
        ),
    )
    .expect("the deploy");
    Comparison {
        program: "pyinfra",
        switch: "CAIRN_BENCH_PYINFRA",
        install: "pip install pyinfra",
        arguments: [
            "-y",
            "--parallel",
            &fixture.servers.len().to_string(),
            "inventory.py",
            "deploy.py",
        ]
        .map(String::from)
        .to_vec(),
        environment: Vec::new(),
        directory: project,
        tree: PYINFRA_TREE,
    }
}

/// Every tool must have written every file, with the host's name in it, the same text as
/// cairn's and the last revision of the edited template, or the timing means nothing.
fn verify_files(folder: &Path, hosts: usize, tree: &str) {
    let revision = template_revision(folder);
    for index in 0..hosts {
        for file in 0..FILES_PER_HOST {
            let relative = format!("h{index:03}/etc/bench/file{file}.conf");
            let path = folder.join(tree).join(&relative);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|_| panic!("{} is missing", path.display()));
            let cairn_text = std::fs::read_to_string(folder.join(CAIRN_TREE).join(&relative))
                .expect("cairn's file");
            let (body, file_revision) = split_revision(&text);
            assert!(
                body.contains(&format!("on h{index:03}\n")),
                "{} does not name its host",
                path.display()
            );
            assert_eq!(
                body,
                split_revision(&cairn_text).0,
                "{} differs from cairn's",
                path.display()
            );
            if file == 0 {
                assert_eq!(
                    file_revision,
                    revision,
                    "{} is not at the template's last revision",
                    path.display()
                );
            }
        }
    }
}
