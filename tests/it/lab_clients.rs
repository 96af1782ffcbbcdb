//! The lab platform's users during an upgrade: a ZooKeeper client, a sampler of the
//! ensemble's quorum, an HTTP client of the load balancers' VIP and a MySQL writer. Each
//! runs from `start` until `stop`, which says what it saw; none retries more than a client
//! of that service would.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::lab_platform::PlatformLab;

/// The ZooKeeper servers' client addresses.
pub(crate) const MASTERS: [&str; 3] = ["10.77.0.11", "10.77.0.12", "10.77.0.13"];
/// The load balancers' virtual IP, and HAProxy's statistics port with its `/healthz`.
pub(crate) const VIP: &str = "10.77.0.100";
pub(crate) const HAPROXY_STATS_PORT: u16 = 8404;

/// `tests/it/support/zookeeper_client.py` (Debian's python3-kazoo) writing and reading a
/// znode every 50 ms against the ensemble, until stopped.
pub(crate) struct ZookeeperClient(std::process::Child);

impl ZookeeperClient {
    /// Started and connected.
    pub(crate) fn start() -> Self {
        const PYTHON: &str = "/usr/bin/python3";
        let kazoo = Command::new(PYTHON).args(["-c", "import kazoo"]).status();
        assert!(
            kazoo.is_ok_and(|status| status.success()),
            "Debian's python3-kazoo is missing: .ci/run installs it"
        );
        let hosts: Vec<String> = MASTERS
            .iter()
            .map(|address| format!("{address}:2181"))
            .collect();
        let mut child = Command::new(PYTHON)
            .arg(crate::support::repository().join("tests/it/support/zookeeper_client.py"))
            .arg(hosts.join(","))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the ZooKeeper client starts");
        let mut connected = String::new();
        let stderr = child.stderr.as_mut().expect("its standard error");
        let mut byte = [0u8; 1];
        while !connected.ends_with('\n') && stderr.read(&mut byte).is_ok_and(|read| read == 1) {
            connected.push(byte[0] as char);
        }
        assert_eq!(
            connected, "connected\n",
            "the ZooKeeper client did not connect"
        );
        Self(child)
    }

    /// Stopped: what it measured (`operations`, `failed`, `slowest_ms`).
    pub(crate) fn stop(self) -> serde_json::Value {
        let Self(mut child) = self;
        drop(child.stdin.take());
        let output = child.wait_with_output().expect("the client ends");
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
            panic!(
                "the ZooKeeper client printed {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        })
    }
}

/// A thread doing `sample` every `period` until stopped, folding what each sample returns
/// into its state.
struct Sampler<State> {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<State>,
}

impl<State: Send + 'static> Sampler<State> {
    fn start(
        period: Duration,
        mut state: State,
        mut sample: impl FnMut(&mut State) + Send + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                sample(&mut state);
                std::thread::sleep(period);
            }
            state
        });
        Self { stop, thread }
    }

    fn stop(self) -> State {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the sampler ends")
    }
}

/// Asks each ZooKeeper server `ruok` every 100 ms, keeping the fewest that answered.
pub(crate) struct QuorumSampler(Sampler<usize>);

impl QuorumSampler {
    pub(crate) fn start() -> Self {
        Self(Sampler::start(
            Duration::from_millis(100),
            MASTERS.len(),
            |least| {
                let answering = MASTERS
                    .iter()
                    .filter(|address| answers_imok_within(address, SERVER_PATIENCE))
                    .count();
                *least = (*least).min(answering);
            },
        ))
    }

    /// Stopped: the fewest servers that answered a sample.
    pub(crate) fn stop(self) -> usize {
        self.0.stop()
    }
}

/// How long the quorum's sampler waits for a server's `imok`: the client's patience for an
/// operation. A server that answers later is slow (a loaded lab, a collection), not gone; a
/// server down refuses the connection at once. Half a second counted a slow one as down
/// once in a CI run whose client saw no operation fail.
const SERVER_PATIENCE: Duration = Duration::from_secs(2);

/// Whether the server at `address` answers `ruok` with `imok` within half a second.
pub(crate) fn answers_imok(address: &str) -> bool {
    answers_imok_within(address, Duration::from_millis(500))
}

/// Whether the server at `address` answers `ruok` with `imok` within `patience` (to
/// connect, then to answer).
fn answers_imok_within(address: &str, patience: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(
        &format!("{address}:2181").parse().expect("an address"),
        patience,
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(patience));
    let mut reply = String::new();
    stream.write_all(b"ruok").is_ok()
        && stream.read_to_string(&mut reply).is_ok()
        && reply == "imok"
}

/// What the VIP's client saw.
#[derive(Debug, Default)]
pub(crate) struct RequestsSeen {
    pub(crate) requests: usize,
    pub(crate) slowest: Duration,
    /// Each failed request: when (since the client started) and why.
    pub(crate) failures: Vec<(Duration, String)>,
}

/// `GET /healthz` through the VIP every 50 ms, each a new connection given 5 s (a client's
/// usual patience: a SYN lost while the VIP moves is sent again after 1 s), until stopped.
pub(crate) struct VipClient(Sampler<(Instant, RequestsSeen)>);

impl VipClient {
    pub(crate) fn start() -> Self {
        let state = (Instant::now(), RequestsSeen::default());
        Self(Sampler::start(
            Duration::from_millis(50),
            state,
            |(started, seen)| {
                let sent = Instant::now();
                let answer = get_healthz_through_the_vip();
                seen.requests += 1;
                seen.slowest = seen.slowest.max(sent.elapsed());
                if let Err(why) = answer {
                    seen.failures.push((sent - *started, why));
                }
            },
        ))
    }

    pub(crate) fn stop(self) -> RequestsSeen {
        self.0.stop().1
    }
}

/// One `GET /healthz` through the VIP: `Ok` on HTTP 200.
fn get_healthz_through_the_vip() -> Result<(), String> {
    let patience = Duration::from_secs(5);
    let address = format!("{VIP}:{HAPROXY_STATS_PORT}")
        .parse()
        .expect("an address");
    let mut stream =
        TcpStream::connect_timeout(&address, patience).map_err(|error| error.to_string())?;
    let _ = stream.set_read_timeout(Some(patience));
    stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: lab\r\n\r\n")
        .map_err(|error| error.to_string())?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(|error| error.to_string())?;
    match reply.lines().next() {
        Some(status) if status.starts_with("HTTP/1.") && status.contains(" 200") => Ok(()),
        _ => Err(format!("answered {reply:?}")),
    }
}

/// Rows inserted into `lab.rows` on the MySQL master every 50 ms, from a loop on the
/// master's machine (`docker exec mysql mariadb`), each id written down once its INSERT
/// returned: a committed row.
pub(crate) struct MysqlWriter<'lab> {
    lab: &'lab PlatformLab,
    host: String,
}

/// The writer's ids start here, above the rows other checks write.
const FIRST_WRITTEN_ID: u32 = 1000;

impl<'lab> MysqlWriter<'lab> {
    pub(crate) fn start(lab: &'lab PlatformLab, master: &str) -> Self {
        let script = format!(
            "rm -f /tmp/writer-stop /tmp/writer-committed /tmp/writer-done\n\
             nohup sh -c 'id={FIRST_WRITTEN_ID}\n\
             while [ ! -e /tmp/writer-stop ]; do\n\
             if docker exec mysql mariadb -e \"INSERT INTO lab.rows VALUES ($id, \\\"written in the rollout\\\")\" 2>/dev/null; then echo $id >> /tmp/writer-committed; fi\n\
             id=$((id + 1)); sleep 0.05\n\
             done; touch /tmp/writer-done' >/dev/null 2>&1 &"
        );
        lab.run(master, &script);
        Self {
            lab,
            host: master.to_string(),
        }
    }

    /// Stopped: the ids of the rows committed.
    pub(crate) fn stop(self) -> Vec<u32> {
        self.lab.run(
            &self.host,
            "touch /tmp/writer-stop; for _ in $(seq 100); do [ -e /tmp/writer-done ] && exit 0; sleep 0.1; done; exit 1",
        );
        let (_, committed) = self.lab.shell(&self.host, "cat /tmp/writer-committed");
        committed
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect()
    }
}

/// The ids of the writer's rows `host`'s server has.
pub(crate) fn written_rows_on(lab: &PlatformLab, host: &str) -> Vec<u32> {
    let (_, rows) = lab.shell(
        host,
        &format!(
            "docker exec mysql mariadb --batch --skip-column-names -e \"SELECT id FROM lab.rows WHERE id >= {FIRST_WRITTEN_ID} ORDER BY id\""
        ),
    );
    rows.lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}
