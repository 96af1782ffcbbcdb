//! `cairn diff --applied LOCK`: LOCK against what each host has applied, as the host's state
//! entries record it. Per host: the nodes it lacks (added), the nodes it has that LOCK no
//! longer holds (removed), the nodes whose id differs, split into those whose own inputs
//! changed and those that changed only because of a dependency (listed under their root
//! cause), files edited by hand since (drift), and the blast radius. Exit 0 when the hosts
//! have exactly what LOCK holds, 1 when something differs, 2 when a host cannot be read.

use crate::support::app_cluster::AppCluster;
use crate::support::app_cluster_checks::applied_locally;
use crate::support::{Outcome, cairn};

const HOSTS: [&str; 2] = ["alpha", "beta"];

/// `cairn diff --applied cluster.lock` with more arguments, in the cluster's folder.
fn diff_applied(cluster: &AppCluster, arguments: &[&str]) -> Outcome {
    cairn()
        .current_dir(cluster.sandbox.path())
        .args(["diff", "--applied", "cluster.lock"])
        .args(arguments)
        .args(&cluster.connection)
        .run()
}

/// The names in a JSON list of node names, or of objects with a `name`.
fn listed(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| {
            item.as_str()
                .or_else(|| item["name"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn hosts_that_applied_the_lockfile_have_no_differences_in_any_form() {
    let cluster = applied_locally(&HOSTS);

    let text = diff_applied(&cluster, &[]).success();
    assert_eq!(
        text.stdout,
        "no changes: all 2 hosts have applied what the lockfile holds\n"
    );
    let json = diff_applied(&cluster, &["--json"]).success().json();
    assert_eq!(json["equal"], true);
    for host in HOSTS {
        assert_eq!(json["hosts"][host]["equal"], true, "{json}");
    }
    let stat = diff_applied(&cluster, &["--stat"]).success();
    assert_eq!(
        stat.stdout,
        "no changes\nhosts: 2 read, 0 unreachable; files drifted: 0\n"
    );
}

#[test]
fn a_lockfile_never_applied_is_every_node_added() {
    let cluster = AppCluster::local(&["alpha"]);
    cluster.compile();

    let outcome = diff_applied(&cluster, &["--json"]).code(1);
    let alpha = &outcome.json()["hosts"]["alpha"];
    assert_eq!(
        listed(&alpha["added"]),
        [
            "alpha:file:/etc/app/app.conf",
            "alpha:file:/etc/app/shared.txt",
            "alpha:command:marker",
            "alpha:health:marker-present",
        ],
        "checks are never recorded, so never added"
    );
}

#[test]
fn a_changed_setting_changes_its_file_itself_and_the_file_s_dependants_follow_it() {
    let cluster = applied_locally(&HOSTS);
    cluster.sandbox.replace(
        "cluster.toml",
        "[app]\n",
        "[app]\ngreeting = \"good morning\"\n",
    );
    cluster.compile();

    let outcome = diff_applied(&cluster, &[]).code(1);
    assert_eq!(
        outcome.stdout,
        "\
alpha
  ~ file:/etc/app/app.conf
      its inputs changed since the host applied it

beta
  ~ file:/etc/app/app.conf
      its inputs changed since the host applied it

changed only because of a dependency
  because of alpha:file:/etc/app/app.conf:
    alpha:command:marker
    alpha:health:marker-present
  because of beta:file:/etc/app/app.conf:
    beta:command:marker
    beta:health:marker-present

6 nodes changed (4 only because of a dependency), 0 added, 0 removed, 0 drifted; on 2 of 2 hosts
"
    );

    let json = diff_applied(&cluster, &["--json"]).code(1).json();
    let changed = json["hosts"]["alpha"]["changed"].as_array().unwrap();
    let cause_of = |name: &str| {
        let change = changed
            .iter()
            .find(|change| change["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not among {changed:?}"));
        (
            change["cause"].as_str().unwrap().to_string(),
            listed(&change["root_causes"]),
        )
    };
    assert_eq!(
        cause_of("alpha:file:/etc/app/app.conf"),
        ("inputs_changed".to_string(), vec![])
    );
    assert_eq!(
        cause_of("alpha:health:marker-present"),
        (
            "dependency_changed".to_string(),
            vec!["alpha:file:/etc/app/app.conf".to_string()]
        ),
        "the root cause is the config, not the command between them"
    );

    let stat = diff_applied(&cluster, &["--stat"]).code(1);
    assert_eq!(
        stat.stdout,
        "\
HOST   KIND         ADDED  REMOVED  CHANGED
alpha  file             0        0        1
alpha  command          0        0        1
alpha  health           0        0        1
beta   file             0        0        1
beta   command          0        0        1
beta   health           0        0        1
total                   0        0        6
hosts: 2 read, 0 unreachable; files drifted: 0
"
    );

    // Applied, the lockfile is what the hosts have.
    cluster.apply().0.success();
    diff_applied(&cluster, &[]).success();
}

#[test]
fn a_role_moved_to_another_host_is_removed_from_one_and_added_to_the_other() {
    let cluster = AppCluster::local(&HOSTS);
    cluster.sandbox.write(
        "modules/web/module.toml",
        "[module]\nname = \"web\"\ndescription = \"a second role\"\nroles = [\"web\"]\n\n\
         [[node]]\nkind = \"file\"\npath = \"/etc/web/site.conf\"\ncontent = \"listen 80\\n\"\n",
    );
    let give_web_to = |host: &str| {
        cluster.write_spec();
        cluster.sandbox.replace(
            "cluster.toml",
            &format!("hosts/{host}\"\nroles = [\"app\"]"),
            &format!("hosts/{host}\"\nroles = [\"app\", \"web\"]"),
        );
        cluster.compile();
    };
    give_web_to("alpha");
    cluster.apply().0.success();
    give_web_to("beta");

    let outcome = diff_applied(&cluster, &[]).code(1);
    assert_eq!(
        outcome.stdout,
        "\
alpha
  - file:/etc/web/site.conf

beta
  + file:/etc/web/site.conf

blast radius (LOCK applied over what the hosts have)
  alpha: removes 1 node (file:/etc/web/site.conf)

0 nodes changed (0 only because of a dependency), 1 added, 1 removed, 0 drifted; on 2 of 2 hosts
"
    );

    cluster.apply().0.success();
    diff_applied(&cluster, &[]).success();
    assert!(!cluster.host_file("alpha", "/etc/web/site.conf").exists());
}

#[test]
fn a_node_removed_from_its_module_is_removed_from_every_host() {
    let cluster = applied_locally(&HOSTS);
    cluster.sandbox.replace("modules/app/module.toml", "[[node]]\nkind = \"file\"\npath = \"/etc/app/shared.txt\"\ncontent = \"the same on every host\\n\"\n", "");
    cluster.compile();

    let json = diff_applied(&cluster, &["--json"]).code(1).json();
    for host in HOSTS {
        let host_diff = &json["hosts"][host];
        assert_eq!(
            listed(&host_diff["removed"]),
            [format!("{host}:file:/etc/app/shared.txt")]
        );
        assert_eq!(
            listed(&host_diff["impact"]["removed"]),
            [format!("{host}:file:/etc/app/shared.txt")]
        );
        assert!(listed(&host_diff["added"]).is_empty());
        assert!(listed(&host_diff["changed"]).is_empty(), "{host_diff}");
    }

    cluster.apply().0.success();
    diff_applied(&cluster, &[]).success();
}

#[test]
fn a_file_edited_by_hand_is_drift_said_beside_the_change_that_will_overwrite_it() {
    let cluster = applied_locally(&HOSTS);
    std::fs::write(
        cluster.host_file("alpha", "/etc/app/app.conf"),
        "edited by hand\n",
    )
    .unwrap();
    std::fs::remove_file(cluster.host_file("beta", "/etc/app/shared.txt")).unwrap();

    // Drift alone is a difference: the hosts no longer have what the lockfile holds.
    let outcome = diff_applied(&cluster, &[]).code(1);
    assert_eq!(
        outcome.stdout,
        "\
alpha
  ! file:/etc/app/app.conf
      drifted: the file's content changed since it was applied; applying rewrites it

beta
  ! file:/etc/app/shared.txt
      drifted: the file is missing; applying rewrites it

0 nodes changed (0 only because of a dependency), 0 added, 0 removed, 2 drifted; on 2 of 2 hosts
"
    );

    cluster.sandbox.edit("modules/app/app.conf.j2", |text| {
        format!("{text}# edited\n")
    });
    cluster.compile();
    let json = diff_applied(&cluster, &["--json"]).code(1).json();
    let conf = &json["hosts"]["alpha"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["name"] == "alpha:file:/etc/app/app.conf")
        .unwrap()
        .clone();
    assert_eq!(conf["cause"], "inputs_changed");
    assert_eq!(conf["drift"], "content_changed");
    let text = diff_applied(&cluster, &[]).code(1).stdout;
    assert!(
        text.contains(
            "  ~ file:/etc/app/app.conf\n      its inputs changed since the host applied it\n      \
             and on the host the file's content changed since it was applied: applying overwrites that\n"
        ),
        "{text}"
    );
}

#[test]
fn no_form_of_the_report_shows_a_secret() {
    let cluster = applied_locally(&["alpha"]);
    // app.conf holds the token; its template changes.
    cluster
        .sandbox
        .replace("modules/app/app.conf.j2", "token = ", "the token = ");
    cluster.compile();

    for form in [&[][..], &["--json"], &["--stat"]] {
        let outcome = diff_applied(&cluster, form).code(1);
        assert!(
            !outcome.stdout.contains("the-token-value"),
            "a secret's value is shown:\n{}",
            outcome.stdout
        );
    }
}

#[test]
fn an_unreachable_host_is_named_with_exit_2_and_the_others_are_still_reported() {
    let cluster = applied_locally(&HOSTS);
    // beta is now reached over SSH, at a port where nothing listens.
    let port = crate::support::free_ports::free_port("127.0.0.1");
    cluster.sandbox.replace(
        "cluster.toml",
        "[hosts.beta]\naddress = \"127.0.0.1\"\nport = 22\ntransport = \"local\"",
        &format!("[hosts.beta]\naddress = \"127.0.0.1\"\nport = {port}\ntransport = \"ssh\""),
    );
    cluster.sandbox.edit("modules/app/app.conf.j2", |text| {
        format!("{text}# edited\n")
    });
    cluster.compile();

    let outcome = diff_applied(&cluster, &["--persist", "0"])
        .code(2)
        .stderr_has("cannot read the state of host `beta`");
    assert!(
        outcome
            .stdout
            .contains("alpha\n  ~ file:/etc/app/app.conf\n"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("beta\n  unreachable: "),
        "{}",
        outcome.stdout
    );

    // Within --limit, beta is not read at all.
    let json = diff_applied(&cluster, &["--limit", "alpha", "--json"])
        .code(1)
        .json();
    assert!(json["hosts"].get("beta").is_none(), "{json}");
    cluster.apply_with(&["--limit", "alpha"]).0.success();
    diff_applied(&cluster, &["--limit", "alpha"]).success();
}

#[test]
fn connection_options_without_applied_are_refused() {
    let cluster = applied_locally(&["alpha"]);
    cairn()
        .current_dir(cluster.sandbox.path())
        .args(["diff", "cluster.lock", "cluster.lock", "--limit", "alpha"])
        .run()
        .code(2)
        .stderr_has("--applied");
}
