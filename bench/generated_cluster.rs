//! The generated cluster the benchmarks share: a spec of any number of hosts (3 masters
//! running ZooKeeper, 2 load balancers running HAProxy and Keepalived, one host running
//! the example's in-house console, every other host with the preflight checks and host
//! initialisation), written into a folder with the modules and secrets it needs.

use std::fmt::Write as _;
use std::path::Path;

use crate::common::copy_folder;

/// Writes `cluster.toml` of `hosts` hosts into `folder`, with `examples/modules` copied
/// to `modules/` and the secrets under `secrets/`.
pub fn write_cluster(folder: &Path, hosts: usize) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    std::fs::create_dir_all(folder.join("secrets")).expect("a folder");
    copy_folder(&examples.join("modules"), &folder.join("modules"));
    std::fs::write(folder.join("secrets/console-session-key"), "bench-key\n").expect("a secret");
    std::fs::write(
        folder.join("secrets/fingerprint.key"),
        "bench-fingerprint-key\n",
    )
    .expect("a key");
    // keepalived takes at most 8 characters.
    std::fs::write(folder.join("secrets/keepalived-auth-pass"), "bench-kp\n").expect("a secret");
    std::fs::write(folder.join("cluster.toml"), generate_spec(hosts)).expect("a spec");
}

pub fn generate_spec(hosts: usize) -> String {
    let mut spec = String::new();
    // The components whose images take downloads from outside Debian are left out, so the
    // generated cluster stays the one earlier figures were measured on.
    spec.push_str(
        "[cluster]\nname = \"bench\"\ndomain = \"bench.cairn.test\"\nexclude_modules = [\"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\nmodules = [\"modules\"]\n\
         fingerprint_key = { file = \"secrets/fingerprint.key\" }\n\n",
    );
    for index in 0..hosts {
        let roles = match index {
            0..=2 => "[\"master\"]",
            3..=4 => "[\"loadbalancer\"]",
            5 => "[\"console\"]",
            _ => "[]",
        };
        // The numbered modules' hosts (ZooKeeper, keepalived) have ids.
        let id = if index <= 4 {
            format!("id = {}\n", index + 1)
        } else {
            String::new()
        };
        let _ = writeln!(
            spec,
            "[hosts.host{index:05}]\naddress = \"10.{}.{}.{}\"\nroles = {roles}\n{id}",
            index / 65_536,
            (index / 256) % 256,
            index % 256
        );
    }
    spec.push_str(
        "[repository]\nurl = \"http://10.0.0.1:8080/debian\"\n\n[registry]\naddress = \"10.0.0.1:5000\"\n\n\
         [ntp]\nservers = [\"10.0.0.1\"]\n\n[haproxy]\nservices = [\"marathon:8080\", \"console:8000\"]\n\n\
         [keepalived]\nvip = \"10.0.0.100/24\"\ninterface = \"eth0\"\nauth_pass = { file = \"secrets/keepalived-auth-pass\" }\n\n\
         [console]\nsession_key = { file = \"secrets/console-session-key\" }\n",
    );
    spec
}
