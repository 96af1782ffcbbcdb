//! The imported cluster as a commented cluster spec: a header saying where it comes from
//! and what was not imported, then [cluster], the hosts in inventory order, and each
//! settings section, every value with a comment naming its source.

use std::fmt::Write;

use crate::imported_cluster::{
    ImportedCluster, ImportedHost, SpecSection, toml_string, toml_strings,
};

pub fn write_spec(cluster: &ImportedCluster) -> String {
    let mut out = String::new();
    write_header(cluster, &mut out);
    write_cluster(cluster, &mut out);
    for host in &cluster.hosts {
        write_host(host, &mut out);
    }
    for section in &cluster.sections {
        write_section(section, &mut out);
    }
    out
}

fn write_header(cluster: &ImportedCluster, out: &mut String) {
    let _ = writeln!(
        out,
        "# Imported by `cairn import` from {}.",
        cluster.sources.join(" and ")
    );
    out.push_str("# Review it, then `cairn compile` it. Each value says where it comes from.\n");
    if !cluster.secrets.is_empty() {
        out.push_str("#\n# The passwords are not written here: each is a file of secrets/ (mode 0600), which the\n");
        out.push_str("# spec references as { file = \"secrets/...\" }. Keep secrets/ out of version control.\n");
    }
    if !cluster.findings.is_empty() {
        out.push_str("#\n# Not imported, or imported by a guess (also said on stderr):\n");
        for finding in &cluster.findings {
            let _ = writeln!(
                out,
                "#   {}: {}",
                finding.place,
                finding.message.replace('\n', " ")
            );
        }
    }
    out.push('\n');
}

fn write_cluster(cluster: &ImportedCluster, out: &mut String) {
    out.push_str("[cluster]\n");
    let _ = writeln!(out, "name = {}", toml_string(&cluster.name));
    let _ = writeln!(out, "domain = {}", toml_string(&cluster.domain));
    if !cluster.excluded_modules.is_empty() {
        for (module, why) in &cluster.excluded_modules {
            let _ = writeln!(out, "# `{module}` left out: {why}");
        }
        let modules: Vec<String> = cluster
            .excluded_modules
            .iter()
            .map(|(module, _)| module.clone())
            .collect();
        let _ = writeln!(out, "exclude_modules = {}", toml_strings(&modules));
    }
    out.push_str("# Keys the fingerprints of the secrets in the lockfile; made by the import.\n");
    out.push_str("fingerprint_key = { file = \"secrets/fingerprint.key\" }\n\n");
}

fn write_host(host: &ImportedHost, out: &mut String) {
    let _ = writeln!(out, "# {}", host.origin);
    if let Some(original) = &host.inventory_name {
        let _ = writeln!(out, "# `{original}` in the inventory");
    }
    let _ = writeln!(out, "[hosts.{}]", host.name);
    let _ = writeln!(out, "address = {}", toml_string(&host.address));
    if let Some(id) = host.id {
        let _ = writeln!(out, "id = {id}");
    }
    if let Some(user) = &host.user {
        let _ = writeln!(out, "user = {}", toml_string(user));
    }
    if let Some(port) = host.port {
        let _ = writeln!(out, "port = {port}");
    }
    if host.become_sudo {
        out.push_str("become = \"sudo\"\n");
    }
    if let Some(path) = &host.become_password {
        let _ = writeln!(out, "become_password = {{ file = {} }}", toml_string(path));
    }
    let _ = writeln!(out, "roles = {}\n", toml_strings(&host.roles));
}

fn write_section(section: &SpecSection, out: &mut String) {
    let _ = writeln!(out, "[{}]", section.name);
    for entry in &section.entries {
        if let Some(comment) = &entry.comment {
            let _ = writeln!(out, "# {comment}");
        }
        let _ = writeln!(out, "{} = {}", entry.key, entry.toml);
    }
    out.push('\n');
}
