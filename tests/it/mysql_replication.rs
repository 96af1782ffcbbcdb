//! The mysql module's master and slave, run for real: cairn applies each host's config
//! into its sandbox, then MariaDB (this machine's, from Debian) starts in a network
//! namespace per host on exactly what cairn rendered (the config, the image's entrypoint,
//! the container's environment with its secrets), and replication must run between them.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::Sandbox;
use crate::support::namespace_container::{NamespaceContainer, wait_for};
use crate::support::network_namespaces::{NetworkHost, PrivateNetwork};

const ROOT_PASSWORD: &str = "root-secret";
/// A quote and a backslash, which the entrypoint must quote in its SQL; `secret-of-replication`
/// is what a search of the data directory looks for, since SQL text doubles the quote.
const REPLICATION_PASSWORD: &str = r"it's \secret-of-replication";
const WRITER_PASSWORD: &str = "writer-secret";
/// The application user's initial password (`[mysql] app_initial_password`).
const APP_PASSWORD: &str = "shop-initial-secret";

/// The spec: `db1` the master and `db2` the slave, at their namespaces' addresses, each a
/// sandbox reached locally.
fn spec(network: &PrivateNetwork) -> String {
    let mut spec = String::from(
        "[cluster]\nname = \"replication\"\ndomain = \"replication.example\"\n\
         exclude_modules = [\"host-base\", \"consul\", \"mesos\", \"marathon\", \"cadvisor\"]\nfingerprint_key = { file = \"secrets/fingerprint.key\" }\n\n",
    );
    for (index, network_host) in network.hosts.iter().enumerate() {
        spec.push_str(&format!(
            "[hosts.db{number}]\naddress = \"{address}\"\ntransport = \"local\"\n\
             root = \"hosts/db{number}\"\nroles = [\"mysql\"]\nid = {number}\n\n",
            number = index + 1,
            address = network_host.address,
        ));
    }
    spec.push_str(
        "[preflight]\nfilesystem_paths = []\nmin_free_disk = { \"/\" = \"1MiB\" }\n\n\
         [mysql]\nmaster = \"db1\"\nslave = \"db2\"\n\
         root_password = { file = \"secrets/root-password\" }\n\
         replication_password = { file = \"secrets/replication-password\" }\n\
         app_user = \"shop\"\napp_database = \"shop\"\n\
         app_initial_password = { file = \"secrets/app-password\" }\n",
    );
    spec
}

/// The master (`db1`) and the slave (`db2`), started from what cairn applied; every
/// process of theirs is stopped when dropped.
struct MysqlPair {
    master: NamespaceContainer,
    slave: NamespaceContainer,
    network: PrivateNetwork,
    sandbox: Sandbox,
    started: Instant,
}

impl MysqlPair {
    /// Applies the spec (images and containers held back), then starts both containers at
    /// once, as apply would.
    fn start(tag: &str) -> Self {
        let network = PrivateNetwork::create(tag, 2);
        let sandbox = Sandbox::new();
        sandbox
            .write("cluster.toml", &spec(&network))
            .write("secrets/root-password", &format!("{ROOT_PASSWORD}\n"))
            .write(
                "secrets/replication-password",
                &format!("{REPLICATION_PASSWORD}\n"),
            )
            .write("secrets/app-password", &format!("{APP_PASSWORD}\n"))
            .write("secrets/fingerprint.key", "test-fingerprint-key\n");
        sandbox.apply_files();
        let nodes = sandbox.show_json();
        let secrets = BTreeMap::from([
            ("mysql.root_password".to_string(), ROOT_PASSWORD.to_string()),
            (
                "mysql.replication_password".to_string(),
                REPLICATION_PASSWORD.to_string(),
            ),
            (
                "mysql.app_initial_password".to_string(),
                APP_PASSWORD.to_string(),
            ),
        ]);
        let start = |host: &str, network_host: &NetworkHost| {
            let root = sandbox.path().join("hosts").join(host);
            assert!(
                root.join("etc/cairn/mysql/cairn.cnf").is_file(),
                "apply wrote {host}'s cairn.cnf"
            );
            NamespaceContainer::start(&nodes, host, "mysql", &root, network_host, &secrets)
        };
        let started = Instant::now();
        let master = start("db1", &network.hosts[0]);
        let slave = start("db2", &network.hosts[1]);
        Self {
            master,
            slave,
            network,
            sandbox,
            started,
        }
    }

    /// A client of the master (`index` 0) or the slave (1), from inside its namespace.
    fn client(&self, index: usize, user: &str, password: &str) -> Client<'_> {
        Client::new(&self.sandbox, &self.network.hosts[index], user, password)
    }

    /// The data directory of `db1` or `db2`, on the host's side.
    fn data_directory(&self, host: &str) -> PathBuf {
        self.sandbox
            .path()
            .join("hosts")
            .join(host)
            .join("var/lib/mysql")
    }

    /// Both containers' logs, for a failure's message.
    fn logs(&self) -> String {
        logs(&self.master, &self.slave)
    }

    /// Waits until both servers answer as root over TCP and the slave's replication
    /// threads both run; the slave's status.
    fn wait_for_replication(&mut self) -> BTreeMap<String, String> {
        let master_root = Client::new(&self.sandbox, &self.network.hosts[0], "root", ROOT_PASSWORD);
        let slave_root = Client::new(&self.sandbox, &self.network.hosts[1], "root", ROOT_PASSWORD);
        let limit = Duration::from_secs(60);
        let (master, slave) = (&mut self.master, &mut self.slave);
        wait_for(
            "the master answers",
            limit,
            &mut [&mut *master, &mut *slave],
            || master_root.query("SELECT 1"),
        );
        wait_for(
            "the slave answers",
            limit,
            &mut [&mut *master, &mut *slave],
            || slave_root.query("SELECT 1"),
        );
        let status = wait_for(
            "replication runs on the slave",
            limit,
            &mut [&mut *master, &mut *slave],
            || {
                let status = slave_root.slave_status()?;
                let running = |field: &str| status.get(field).map(String::as_str) == Some("Yes");
                if running("Slave_IO_Running") && running("Slave_SQL_Running") {
                    Ok(status)
                } else {
                    Err(format!("{status:#?}"))
                }
            },
        );
        eprintln!("replication runs after {:?}", self.started.elapsed());
        status
    }
}

/// The master's and the slave's logs, for a failure's message.
fn logs(master: &NamespaceContainer, slave: &NamespaceContainer) -> String {
    format!(
        "--- db1's log (master)\n{}\n--- db2's log (slave)\n{}",
        master.output(),
        slave.output()
    )
}

/// A MariaDB client of one server, as one user, over TCP from inside its namespace; the
/// password is in an option file only the test's user may read, never in an argument.
struct Client<'a> {
    network_host: &'a NetworkHost,
    options: PathBuf,
}

impl<'a> Client<'a> {
    fn new(sandbox: &Sandbox, network_host: &'a NetworkHost, user: &str, password: &str) -> Self {
        let options = sandbox
            .path()
            .join(format!("client-{}-{user}.cnf", network_host.namespace));
        std::fs::write(
            &options,
            format!(
                "[client]\nuser = {user}\npassword = {password}\nhost = {host}\nport = 3306\n\
                 protocol = TCP\nconnect-timeout = 2\n",
                host = network_host.address
            ),
        )
        .expect("an option file");
        std::fs::set_permissions(&options, std::fs::Permissions::from_mode(0o600))
            .expect("an option file for its owner alone");
        Self {
            network_host,
            options,
        }
    }

    /// Runs `sql`; its output (tab-separated, no column names) or the client's error.
    fn query(&self, sql: &str) -> Result<String, String> {
        self.run(sql, &["--skip-column-names"])
    }

    fn run(&self, sql: &str, options: &[&str]) -> Result<String, String> {
        let output = self
            .network_host
            .command("mariadb")
            .arg(format!("--defaults-file={}", self.options.display()))
            .arg("--batch")
            .args(options)
            .args(["--execute", sql])
            .output()
            .expect("mariadb runs (mariadb-client)");
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout)
                .trim_end()
                .to_string())
        } else {
            Err(String::from_utf8_lossy(&output.stderr)
                .trim_end()
                .to_string())
        }
    }

    /// `SHOW SLAVE STATUS` as field → value (empty before any CHANGE MASTER).
    fn slave_status(&self) -> Result<BTreeMap<String, String>, String> {
        // A line of column names, then one of values.
        let text = self.run("SHOW SLAVE STATUS", &[])?;
        let mut lines = text.lines();
        let names = lines.next().unwrap_or_default();
        let values = lines.next().unwrap_or_default();
        Ok(names
            .split('\t')
            .zip(values.split('\t'))
            .map(|(field, value)| (field.to_string(), value.to_string()))
            .collect())
    }
}

/// Every file under `folder` whose bytes contain `needle` (a file the server removes
/// while this reads is passed over).
fn files_containing(folder: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).expect("a readable folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path).is_ok_and(|bytes| {
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        }) {
            found.push(path);
        }
    }
    found
}

#[test]
fn the_slave_replicates_the_master_with_the_configs_and_entrypoint_cairn_renders() {
    let mut pair = MysqlPair::start("db");
    let status = pair.wait_for_replication();
    let master_address = pair.network.hosts[0].address.clone();
    assert_eq!(
        status.get("Master_Host"),
        Some(&master_address),
        "{status:#?}"
    );
    assert_eq!(
        status.get("Using_Gtid").map(String::as_str),
        Some("Slave_Pos"),
        "{status:#?}"
    );

    let (master_root, slave_root) = (
        pair.client(0, "root", ROOT_PASSWORD),
        pair.client(1, "root", ROOT_PASSWORD),
    );
    let settings = |client: &Client| {
        client
            .query("SELECT @@server_id, @@read_only")
            .unwrap_or_else(|error| panic!("{error}\n{}", pair.logs()))
    };
    let (master_settings, slave_settings) = (settings(&master_root), settings(&slave_root));
    let (master_server_id, master_read_only) = master_settings.split_once('\t').unwrap();
    let (slave_server_id, slave_read_only) = slave_settings.split_once('\t').unwrap();
    assert_ne!(master_server_id, slave_server_id, "distinct server ids");
    assert_eq!(master_read_only, "0", "the master is writable");
    assert_eq!(slave_read_only, "1", "the slave is read-only");

    // A table, a row and a user without SUPER, all made on the master.
    master_root
        .query(&format!(
            "CREATE DATABASE replication_check; \
             CREATE TABLE replication_check.notes (id INT PRIMARY KEY, note VARCHAR(64)); \
             INSERT INTO replication_check.notes VALUES (1, 'written on the master'); \
             CREATE USER 'writer'@'%' IDENTIFIED BY '{WRITER_PASSWORD}'; \
             GRANT SELECT, INSERT ON replication_check.* TO 'writer'@'%';"
        ))
        .unwrap_or_else(|error| panic!("the master takes writes: {error}\n{}", pair.logs()));
    let master_position = master_root
        .query("SELECT @@gtid_binlog_pos")
        .expect("the master's binlog position");
    let waited = slave_root.query(&format!("SELECT MASTER_GTID_WAIT('{master_position}', 20)"));
    assert_eq!(
        waited,
        Ok("0".to_string()),
        "the slave reaches the master's position {master_position}: {:#?}\n{}",
        slave_root.slave_status(),
        pair.logs()
    );
    assert_eq!(
        slave_root.query("SELECT note FROM replication_check.notes WHERE id = 1"),
        Ok("written on the master".to_string()),
        "the master's row is on the slave"
    );

    // The writer may write on the master, and not on the slave, which is read-only.
    let master_writer = pair.client(0, "writer", WRITER_PASSWORD);
    let slave_writer = pair.client(1, "writer", WRITER_PASSWORD);
    assert_eq!(
        master_writer.query("INSERT INTO replication_check.notes VALUES (2, 'by the writer')"),
        Ok(String::new()),
        "the writer writes on the master"
    );
    let refused =
        slave_writer.query("INSERT INTO replication_check.notes VALUES (3, 'on the slave')");
    assert!(
        refused
            .as_ref()
            .is_err_and(|error| error.contains("ERROR 1290") && error.contains("--read-only")),
        "a write on the slave by a user without SUPER is refused as read-only: {refused:?}"
    );
    eprintln!("replication checked after {:?}", pair.started.elapsed());
}

#[test]
fn the_passwords_the_entrypoint_sets_reach_no_log_of_either_server() {
    let mut pair = MysqlPair::start("dbpw");
    // Replication runs: the slave has copied the master's binary log into its relay log.
    pair.wait_for_replication();
    // The slave keeps the replication password in master.info to reconnect: MariaDB has
    // no other way, so that one file may hold it. The binary and relay logs must not.
    let slave_master_info = pair.data_directory("db2").join("master.info");
    let mut found = Vec::new();
    for host in ["db1", "db2"] {
        for (password, needle) in [
            ("root", ROOT_PASSWORD),
            ("replication", "secret-of-replication"),
            ("application", APP_PASSWORD),
        ] {
            for file in files_containing(&pair.data_directory(host), needle) {
                if !(password == "replication" && file == slave_master_info) {
                    found.push(format!("{password} password in {}", file.display()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the init file's statements are written to the binary log (and from there to the \
         slave's relay and binary logs), passwords included: {found:#?}"
    );
}

#[test]
fn the_application_user_writes_its_own_database_with_its_initial_password_and_no_other() {
    let mut pair = MysqlPair::start("dbap");
    pair.wait_for_replication();
    let master_shop = pair.client(0, "shop", APP_PASSWORD);
    let slave_root = pair.client(1, "root", ROOT_PASSWORD);
    master_shop
        .query(
            "CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(64)); \
             INSERT INTO shop.orders VALUES (1, 'a cairn');",
        )
        .unwrap_or_else(|error| {
            panic!(
                "the application writes its database: {error}\n{}",
                pair.logs()
            )
        });
    let refused = master_shop.query("CREATE DATABASE elsewhere");
    assert!(
        refused
            .as_ref()
            .is_err_and(|error| error.contains("ERROR 1044")),
        "the application user has no privilege beyond its database: {refused:?}"
    );
    let position = pair
        .client(0, "root", ROOT_PASSWORD)
        .query("SELECT @@gtid_binlog_pos")
        .expect("the master's binlog position");
    assert_eq!(
        slave_root.query(&format!("SELECT MASTER_GTID_WAIT('{position}', 20)")),
        Ok("0".to_string())
    );
    assert_eq!(
        slave_root.query("SELECT item FROM shop.orders WHERE id = 1"),
        Ok("a cairn".to_string()),
        "the application's row is on the slave, whose database the init made too"
    );
    assert_eq!(
        pair.client(1, "shop", APP_PASSWORD)
            .query("SELECT COUNT(*) FROM shop.orders"),
        Ok("1".to_string()),
        "the slave has the application user too"
    );
}
