//! Apply benchmark: `cairn apply` against 100 real sshd servers on loopback, and the same
//! work by `ansible-playbook` in the same run.
//!
//! Each host gets 10 rendered files. Three scenarios, each timed end to end (process start
//! to exit): the first apply (everything written), a no-op re-apply (nothing changed), and
//! a re-apply after one template changed (one file per host rewritten). Ansible writes the
//! same files with the `template` module in one looped task, with pipelining on, 100
//! forks, no fact gathering, and SSH connection sharing (ControlPersist), its usual setup.
//!
//! `cargo bench --bench apply`; `CAIRN_BENCH_HOSTS` (100) and `CAIRN_BENCH_RUNS` (3)
//! change the size and the repetitions of the re-apply scenarios; `CAIRN_BENCH_ANSIBLE=0`
//! leaves Ansible out. Needs Debian's
//! openssh-server and `pip install ansible-core`; run as root.

#[path = "../tests/it/ssh_fixture.rs"]
#[allow(dead_code)]
mod ssh_fixture;

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
    write_ansible_project(folder, &fixture, FILES_PER_HOST);

    let cairn_binary = env!("CARGO_BIN_EXE_cairn");
    let cairn_command = |arguments: &[&str]| {
        let mut command = Command::new(cairn_binary);
        command.current_dir(folder).args(arguments);
        if arguments[0] == "apply" {
            command.args(fixture.arguments());
        }
        command
    };
    let run_ok = |mut command: Command, what: &str| -> Duration {
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
    };
    let ansible_wanted = std::env::var("CAIRN_BENCH_ANSIBLE").map_or(true, |value| value != "0");
    let ansible_available = ansible_wanted
        && Command::new("ansible-playbook")
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success());

    run_ok(cairn_command(&["compile", "cluster.toml"]), "cairn compile");
    let cairn_first = run_ok(
        cairn_command(&["apply", "cluster.lock"]),
        "cairn apply (first)",
    );
    let cairn_noop = best_of(runs, |_| {
        run_ok(
            cairn_command(&["apply", "cluster.lock"]),
            "cairn apply (no-op)",
        )
    });
    let cairn_change = best_of(runs, |iteration| {
        edit_template(folder, iteration);
        run_ok(cairn_command(&["compile", "cluster.toml"]), "cairn compile");
        run_ok(
            cairn_command(&["apply", "cluster.lock"]),
            "cairn apply (one change)",
        )
    });
    verify_files(folder, hosts, "cairn-hosts");

    let (ansible_first, ansible_noop, ansible_change) = if ansible_available {
        let ansible = || {
            let mut command = Command::new("ansible-playbook");
            command
                .current_dir(folder)
                .env("ANSIBLE_CONFIG", folder.join("ansible.cfg"))
                .args(["-i", "inventory.ini", "playbook.yml"]);
            command
        };
        let first = run_ok(ansible(), "ansible-playbook (first)");
        let noop = best_of(runs, |_| run_ok(ansible(), "ansible-playbook (no-op)"));
        let change = best_of(runs, |iteration| {
            edit_template(folder, iteration + 100);
            run_ok(ansible(), "ansible-playbook (one change)")
        });
        verify_files(folder, hosts, "ansible-hosts");
        (Some(first), Some(noop), Some(change))
    } else {
        eprintln!("ansible-playbook not found: `pip install ansible-core` for the comparison");
        (None, None, None)
    };

    let mut table = String::new();
    let _ = writeln!(
        table,
        "cairn apply vs ansible-playbook: {hosts} hosts (sshd on loopback), {FILES_PER_HOST} files each; re-apply scenarios best of {runs}"
    );
    let _ = writeln!(
        table,
        "{:<32} {:>10} {:>12} {:>8}",
        "scenario", "cairn", "ansible", "ratio"
    );
    for (scenario, cairn, ansible) in [
        ("first apply", cairn_first, ansible_first),
        ("no-op re-apply", cairn_noop, ansible_noop),
        ("one template changed", cairn_change, ansible_change),
    ] {
        let (ansible_text, ratio) = match ansible {
            Some(ansible) => (
                seconds(ansible),
                format!("{:.1}x", ansible.as_secs_f64() / cairn.as_secs_f64()),
            ),
            None => ("-".to_string(), "-".to_string()),
        };
        let _ = writeln!(
            table,
            "{scenario:<32} {:>10} {ansible_text:>12} {ratio:>8}",
            seconds(cairn)
        );
    }
    print!("{table}");
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

fn best_of(runs: usize, mut once: impl FnMut(usize) -> Duration) -> Duration {
    (0..runs.max(1))
        .map(&mut once)
        .min()
        .expect("at least one run")
}

/// Changes the first template, differently each time, for both tools.
fn edit_template(folder: &Path, iteration: usize) {
    for path in [
        folder.join("modules/bench/file0.j2"),
        folder.join("templates/file0.j2"),
    ] {
        let text = std::fs::read_to_string(&path).expect("the template");
        let base = text.split("# revision").next().unwrap_or(&text).to_string();
        std::fs::write(&path, format!("{base}# revision {iteration}\n")).expect("the template");
    }
}

fn template(index: usize) -> String {
    format!(
        "# file {index}, rendered for {{{{ host_name }}}}\n{{% for line in range(40) %}}setting_{index}_{{{{ line }}}} = value {{{{ line }}}} on {{{{ host_name }}}}\n{{% endfor %}}"
    )
}

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
        "[cluster]\nname = \"bench\"\ndomain = \"bench.example\"\nmodules = [\"modules\"]\nexclude_modules = [\"host-base\", \"preflight\"]\n\n",
    );
    for (index, server) in fixture.servers.iter().enumerate() {
        let _ = write!(
            spec,
            "[hosts.h{index:03}]\naddress = \"{}\"\nport = {}\nroot = \"{}\"\nroles = [\"bench\"]\n\n",
            server.address,
            server.port,
            folder
                .join("cairn-hosts")
                .join(format!("h{index:03}"))
                .display()
        );
    }
    std::fs::write(folder.join("cluster.toml"), spec).expect("the spec");
}

fn write_ansible_project(folder: &Path, fixture: &ssh_fixture::SshFixture, files: usize) {
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
                .join("ansible-hosts")
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
}

/// Both tools must have written every file, or the timing means nothing.
fn verify_files(folder: &Path, hosts: usize, tree: &str) {
    for index in 0..hosts {
        for file in 0..FILES_PER_HOST {
            let path: PathBuf = folder
                .join(tree)
                .join(format!("h{index:03}/etc/bench/file{file}.conf"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|_| panic!("{} is missing", path.display()));
            assert!(
                text.contains(&format!("on h{index:03}")),
                "{} has the wrong content",
                path.display()
            );
        }
    }
}
