//! Each probe as a POSIX shell script: exit 0 when it passes, else say why on stderr.
//! Paths are under the host's root prefix; facts of the system (OS, kernel, clock, ports)
//! are the machine's own.

use cairn_lockfiles::Probe;

use crate::host_paths::HostPaths;
use crate::shell::quote;

/// The probe's script on `host`, whose paths are `paths`.
pub fn script(probe: &Probe, host: &str, paths: &HostPaths) -> String {
    match probe {
        Probe::OsRelease { allowed } => {
            let cases: Vec<String> = allowed.iter().map(|os| quote(os)).collect();
            format!(
                ". /etc/os-release\nactual=\"$ID $VERSION_ID\"\ncase \"$actual\" in\n  {}) exit 0 ;;\nesac\necho \"the OS is $actual; allowed: \"{} >&2\nexit 1\n",
                cases.join("|"),
                quote(&allowed.join(", "))
            )
        }
        Probe::Platform {
            release,
            architecture,
        } => format!(
            ". /etc/os-release 2>/dev/null\n\
             actual_release=${{VERSION_CODENAME:-unknown}}\n\
             actual_architecture=$(dpkg --print-architecture 2>/dev/null || echo unknown)\n\
             if [ \"$actual_release\" = {release} ] && [ \"$actual_architecture\" = {architecture} ]; then exit 0; fi\n\
             echo \"this host runs ${{ID:-an unknown OS}} $actual_release on $actual_architecture; the lockfile's packages are pinned for \"{release}\" on \"{architecture}\" ([packages] sources and architecture)\" >&2\nexit 1\n",
            release = quote(release),
            architecture = quote(architecture),
        ),
        Probe::KernelVersion { minimum } => format!(
            "minimum={minimum}\nactual=$(uname -r | sed 's/[^0-9.].*//')\n\
             if [ \"$(printf '%s\\n%s\\n' \"$minimum\" \"$actual\" | sort -V | head -n1)\" = \"$minimum\" ]; then exit 0; fi\n\
             echo \"the kernel is $(uname -r); at least $minimum is needed\" >&2\nexit 1\n",
            minimum = quote(minimum)
        ),
        Probe::Filesystem { path, allowed } => format!(
            "path={path}\nwhile [ ! -e \"$path\" ]; do path=$(dirname \"$path\"); done\n\
             type=$(findmnt -n -o FSTYPE -T \"$path\" 2>/dev/null || stat -f -c %T \"$path\")\n\
             case \"$type\" in\n  {cases}) exit 0 ;;\nesac\n\
             echo \"$path is on a $type filesystem; allowed: \"{list} >&2\nexit 1\n",
            path = quote(&paths.path(path)),
            cases = allowed.iter().map(|name| quote(name)).collect::<Vec<_>>().join("|"),
            list = quote(&allowed.join(", ")),
        ),
        Probe::DiskFree { path, minimum_bytes } => format!(
            "path={path}\nwhile [ ! -e \"$path\" ]; do path=$(dirname \"$path\"); done\n\
             free=$(df -P -B1 \"$path\" | awk 'NR==2 {{print $4}}')\n\
             if [ \"$free\" -ge {minimum_bytes} ]; then exit 0; fi\n\
             echo \"$path has $free bytes free; {minimum_bytes} are needed\" >&2\nexit 1\n",
            path = quote(&paths.path(path)),
        ),
        Probe::PortFree {
            port,
            udp,
            held_by,
        } => port_free(*port, *udp, held_by.as_deref(), host, paths),
        // Measured from the control machine (see `kinds::probe_node`); as a script, the
        // host's own view: chrony, or systemd's, synchronised.
        Probe::ClockSync { .. } => "if command -v chronyc >/dev/null 2>&1 && chronyc -n tracking | grep -q 'Leap status *: Normal'; then exit 0; fi\n\
             if [ \"$(timedatectl show -p NTPSynchronized --value 2>/dev/null)\" = yes ]; then exit 0; fi\n\
             echo 'the clock is not synchronised (neither chrony nor systemd-timesyncd says so)' >&2\nexit 1\n"
            .to_string(),
        Probe::TcpConnect { address } => {
            let (host, port) = split_address(address);
            format!(
                "if bash -c 'exec 3<>\"/dev/tcp/$0/$1\"' {host} {port} 2>/dev/null; then exit 0; fi\n\
                 echo 'cannot connect to '{address} >&2\nexit 1\n",
                host = quote(host),
                port = quote(port),
                address = quote(address),
            )
        }
        Probe::TcpExchange { address, send, expect } => {
            let (host, port) = split_address(address);
            format!(
                "reply=$(bash -c 'exec 3<>\"/dev/tcp/$0/$1\" && printf %s \"$2\" >&3 && cat <&3' {host} {port} {send} 2>&1) || {{ echo 'cannot talk to '{address}\": $reply\" >&2; exit 1; }}\n\
                 case \"$reply\" in {expect}*) exit 0 ;; esac\n\
                 echo {address}\" answered '$reply', not \"{expect_text} >&2\nexit 1\n",
                host = quote(host),
                port = quote(port),
                send = quote(send),
                expect = quote(expect),
                expect_text = quote(&format!("'{expect}'")),
                address = quote(address),
            )
        }
        Probe::Ntp { server, port } => ntp(server, *port),
        Probe::Http { url, status } => http(url, *status),
        Probe::Command { run } => format!("{}{run}\n", crate::kinds::module_environment(host, paths)),
    }
}

/// A GET of `url` with curl, whose error (`curl: (7) Failed to connect ...`) is the
/// failure where nothing answered. A host without curl (a bare one, before cairn installed
/// its tools: the control host's checks of the repository run then) asks a plain HTTP URL
/// over bash's `/dev/tcp`, reading the status line of an HTTP/1.0 answer.
fn http(url: &str, status: u16) -> String {
    // In messages: closed double quotes, the URL as one single-quoted word, reopened.
    let url_text = format!("\"{}\"", quote(url));
    let without_curl = match url
        .strip_prefix("http://")
        .map(|rest| rest.split_at(rest.find('/').unwrap_or(rest.len())))
    {
        Some((authority, path)) => {
            let (host, port) = match authority.rsplit_once(':') {
                Some((host, port)) if !port.contains(']') => (host, port),
                _ => (authority, "80"),
            };
            let request = r#"exec 3<>"/dev/tcp/$0/$1" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$2" "$0" >&3 && IFS= read -r line <&3 && printf '%s\n' "$line""#;
            format!(
                "output=$(timeout 10 bash -c {request} {host} {port} {path} 2>&1)\n\
                 code=$(printf '%s\\n' \"$output\" | sed -n 's|^HTTP/[0-9.]* \\([0-9][0-9][0-9]\\).*|\\1|p' | head -n 1)\n\
                 if [ \"$code\" = {status} ]; then exit 0; fi\n\
                 if [ -z \"$code\" ]; then\n\
                 \x20   error=$(printf '%s\\n' \"$output\" | tail -n 1)\n\
                 \x20   echo \"GET {url_text} failed: ${{error##*: }}\" >&2; exit 1\n\
                 fi\n",
                request = quote(request),
                host = quote(host.trim_start_matches('[').trim_end_matches(']')),
                port = quote(port),
                path = quote(if path.is_empty() { "/" } else { path }),
            )
        }
        None => format!("echo \"GET {url_text}: this host has no curl\" >&2; exit 1\n"),
    };
    format!(
        "if command -v curl >/dev/null 2>&1; then\n\
         output=$(curl -sS -o /dev/null -w '\\n%{{http_code}}\\n' --max-time 10 {url} 2>&1)\n\
         code=$(printf '%s\\n' \"$output\" | grep -xE '[0-9]{{3}}' | tail -n 1)\n\
         if [ \"$code\" = {status} ]; then exit 0; fi\n\
         error=$(printf '%s\\n' \"$output\" | sed -n 's/^curl: ([0-9]*) //p')\n\
         if [ -n \"$error\" ]; then echo \"GET {url_text} failed: $error\" >&2; exit 1; fi\n\
         else\n\
         {without_curl}\
         fi\n\
         echo \"GET {url_text} answered ${{code:-nothing}}, not {status}\" >&2\nexit 1\n",
        url = quote(url),
    )
}

/// Who holds the port, from the kernel's socket tables of the host's network namespace:
/// the inodes of the sockets listening on the TCP port (bound to the UDP port), the
/// processes holding them (their descriptors, under /proc), and each process's cgroups,
/// which say which container or unit it runs in. A process of container NAME (network
/// `host`, so its sockets are the host's) is in a cgroup whose path ends with
/// `/docker/<its full id>` (cgroupfs driver) or `/docker-<its full id>.scope` (systemd
/// driver), possibly with sub-groups under it, with cgroup v1 and v2 alike; a process of
/// a systemd unit is in one whose path ends with `/UNIT`. Every holder must be the one
/// named; one cairn cannot see (the check run without root) does not pass either.
fn port_free(port: u16, udp: bool, held_by: Option<&str>, host: &str, paths: &HostPaths) -> String {
    let (protocol, tables, listening) = if udp {
        ("UDP", "/proc/net/udp /proc/net/udp6", "")
    } else {
        ("TCP", "/proc/net/tcp /proc/net/tcp6", " && $4 == \"0A\"")
    };
    let mut script = format!(
        "inodes=$(awk -v port=\"$(printf '%04X' {port})\" 'FNR > 1 {{ split($2, local_address, \":\"); if (local_address[2] == port{listening}) print $10 }}' {tables} 2>/dev/null | sort -u)\n\
         [ -n \"$inodes\" ] || exit 0\n\
         set --\n\
         for inode in $inodes; do\n\
         \x20   [ $# -eq 0 ] || set -- \"$@\" -o\n\
         \x20   set -- \"$@\" -lname \"socket:\\[$inode\\]\"\n\
         done\n\
         pids=$(find /proc/[0-9]*/fd -maxdepth 1 \\( \"$@\" \\) 2>/dev/null | cut -d/ -f3 | sort -un)\n"
    );
    // `belongs` tells whether the cgroups of a process (its /proc/PID/cgroup, and a
    // newline) are the holder's; `holder` names the holder in the failure.
    match held_by.and_then(|holder| holder.split_once(':')) {
        Some(("container", name)) => {
            let docker_name = crate::container_names::docker_name(name, host, paths);
            script.push_str(&format!(
                "holder={holder}\n\
                 id=$(docker inspect --type container --format '{{{{.Id}}}}' {docker_name} 2>/dev/null) || id=\n\
                 [ -n \"$id\" ] || holder=\"$holder, which does not exist\"\n\
                 belongs() {{\n\
                 \x20   [ -n \"$id\" ] || return 1\n\
                 \x20   case \"$1\" in\n\
                 \x20       *\"/docker/$id\n\"* | *\"/docker/$id/\"* | *\"/docker-$id.scope\n\"* | *\"/docker-$id.scope/\"*) return 0 ;;\n\
                 \x20   esac\n\
                 \x20   return 1\n\
                 }}\n",
                holder = quote(&format!("container {docker_name}")),
                docker_name = quote(&docker_name),
            ));
        }
        Some((_, unit)) => script.push_str(&format!(
            "holder={holder}\n\
             unit={unit}\n\
             belongs() {{\n\
             \x20   case \"$1\" in\n\
             \x20       *\"/$unit\n\"* | *\"/$unit/\"*) return 0 ;;\n\
             \x20   esac\n\
             \x20   return 1\n\
             }}\n",
            holder = quote(&format!("service {unit}")),
            unit = quote(unit),
        )),
        None => script.push_str("holder=\nbelongs() { return 1; }\n"),
    }
    script.push_str(&format!(
        "others=\n\
         for pid in $pids; do\n\
         \x20   cgroup=$(cat /proc/\"$pid\"/cgroup 2>/dev/null) || continue\n\
         \x20   belongs \"$cgroup\n\" && continue\n\
         \x20   others=\"$others${{others:+, }}pid $pid ($(cat /proc/\"$pid\"/comm 2>/dev/null))\"\n\
         done\n\
         if [ -z \"$pids\" ]; then\n\
         \x20   others=\"a process this user cannot see (socket inode $(echo $inodes)); run the check as root to know which\"\n\
         fi\n\
         [ -n \"$others\" ] || exit 0\n\
         if [ -n \"$holder\" ]; then\n\
         \x20   echo \"{protocol} port {port} is held by $others, not by $holder\" >&2\n\
         else\n\
         \x20   echo \"{protocol} port {port} is in use by $others\" >&2\n\
         fi\n\
         exit 1\n"
    ));
    script
}

/// One NTP client query (version 3, mode 3, the rest zero: 48 bytes, one datagram) sent
/// over bash's `/dev/udp`, up to three times, each answer awaited 2 s. The answer must be
/// a server's (mode 4) that is synchronised: stratum 1 to 15, no alarm (leap indicator
/// 3). Stratum 0 is a kiss-o'-death, whose code (`DENY`, `RATE`) is the reference id.
/// Where nothing listens on the port, the host answers with ICMP, which the socket
/// reports as refused: no need to wait.
fn ntp(server: &str, port: u16) -> String {
    let packet = format!("\\033{}", "\\000".repeat(47));
    let query = format!(
        r#"server=$1 port=$2
fail() {{ echo "the NTP server $server (UDP port $port) $*" >&2; exit 1; }}
if ! {{ exec 3<>"/dev/udp/$server/$port"; }} 2>/dev/null; then
    getent ahosts "$server" >/dev/null 2>&1 || fail "has no address: the name does not resolve"
    fail "cannot be reached"
fi
why="did not answer within 2 s, three times"
for attempt in 1 2 3; do
    if ! error=$(printf '{packet}' 2>&1 >&3); then
        why="cannot be sent a query: ${{error##*: }}"
        sleep 1
        continue
    fi
    output=$({{ timeout 2 dd bs=48 count=1 status=none <&3 | od -An -tu1 -v; }} 2>&1)
    case "$output" in
        *[!0-9[:space:]]*) why="did not answer: ${{output##*: }}" ;;
        *)
            set -- $output
            [ $# -lt 48 ] || break
            ;;
    esac
    [ "$attempt" = 3 ] || sleep 1
done
[ $# -ge 48 ] || fail "$why"
mode=$(($1 & 7)) leap=$(($1 >> 6)) stratum=$2
[ "$mode" = 4 ] || fail "answered, but not as a server (mode $mode)"
if [ "$stratum" = 0 ]; then
    code=$(printf "\\$(printf %o "${{13}}")\\$(printf %o "${{14}}")\\$(printf %o "${{15}}")\\$(printf %o "${{16}}")")
    fail "refuses to serve the time (kiss code $code)"
fi
if [ "$stratum" -ge 16 ] || [ "$leap" = 3 ]; then
    fail "answers, but is not synchronised itself (stratum $stratum, leap indicator $leap)"
fi
echo "the NTP server $server answers at stratum $stratum"
"#
    );
    format!(
        "command -v bash >/dev/null 2>&1 || {{ echo 'the ntp probe needs bash' >&2; exit 1; }}\nexec bash -c {} ntp {} {port}\n",
        quote(&query),
        quote(server),
    )
}

/// `host:port` → (host, port); an IPv6 host may be in brackets.
fn split_address(address: &str) -> (&str, &str) {
    match address.rsplit_once(':') {
        Some((host, port)) => (host.trim_start_matches('[').trim_end_matches(']'), port),
        None => (address, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(probe: &Probe) -> (bool, String) {
        let paths = HostPaths::default();
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(script(probe, "test-host", &paths))
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    #[test]
    fn a_kernel_older_than_required_fails_and_says_so() {
        assert!(
            run(&Probe::KernelVersion {
                minimum: "2.6".into()
            })
            .0
        );
        let (passed, why) = run(&Probe::KernelVersion {
            minimum: "999.1".into(),
        });
        assert!(!passed);
        assert!(why.contains("at least 999.1 is needed"), "{why}");
    }

    #[test]
    fn disk_free_compares_bytes_available() {
        assert!(
            run(&Probe::DiskFree {
                path: "/tmp/does/not/exist".into(),
                minimum_bytes: 1
            })
            .0
        );
        let (passed, why) = run(&Probe::DiskFree {
            path: "/".into(),
            minimum_bytes: i64::MAX as u64,
        });
        assert!(!passed && why.contains("bytes free"), "{why}");
    }

    #[test]
    fn a_listening_port_is_not_free() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let probe = Probe::PortFree {
            port,
            udp: false,
            held_by: None,
        };
        let (passed, why) = run(&probe);
        let this_process = format!("pid {} (", std::process::id());
        assert!(
            !passed && why.contains(&format!("TCP port {port} is in use by {this_process}")),
            "{why}"
        );
        drop(listener);
        assert!(run(&probe).0);
    }

    #[test]
    fn a_bound_udp_port_is_not_free_and_another_holder_is_named() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        let (passed, why) = run(&Probe::PortFree {
            port,
            udp: true,
            held_by: Some("service:not-this-one.service".into()),
        });
        assert!(
            !passed
                && why.contains(&format!(
                    "UDP port {port} is held by pid {}",
                    std::process::id()
                ))
                && why
                    .trim_end()
                    .ends_with("not by service not-this-one.service"),
            "{why}"
        );
        // The same number over TCP is another port.
        assert!(
            run(&Probe::PortFree {
                port,
                udp: false,
                held_by: None
            })
            .0
        );
    }

    /// A UDP server answering each query once with `reply`.
    fn answer_once(reply: [u8; 48]) -> (u16, std::thread::JoinHandle<()>) {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let mut query = [0u8; 64];
            let (length, client) = socket.recv_from(&mut query).unwrap();
            assert_eq!((length, query[0]), (48, 0x1b), "a version 3 client query");
            socket.send_to(&reply, client).unwrap();
        });
        (port, server)
    }

    #[test]
    fn an_ntp_server_must_answer_synchronised() {
        let mut unsynchronised = [0u8; 48];
        unsynchronised[0] = 0b11_011_100;
        unsynchronised[1] = 16;
        let (port, server) = answer_once(unsynchronised);
        let (passed, why) = run(&Probe::Ntp {
            server: "127.0.0.1".into(),
            port,
        });
        server.join().unwrap();
        assert!(
            !passed && why.contains("is not synchronised itself (stratum 16"),
            "{why}"
        );

        let mut kiss = [0u8; 48];
        kiss[0] = 0b00_011_100;
        kiss[12..16].copy_from_slice(b"DENY");
        let (port, server) = answer_once(kiss);
        let (passed, why) = run(&Probe::Ntp {
            server: "127.0.0.1".into(),
            port,
        });
        server.join().unwrap();
        assert!(!passed && why.contains("(kiss code DENY)"), "{why}");
    }

    #[test]
    fn an_ntp_port_nothing_listens_on_is_refused_at_once() {
        let port = {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap().port()
        };
        let started = std::time::Instant::now();
        let (passed, why) = run(&Probe::Ntp {
            server: "127.0.0.1".into(),
            port,
        });
        assert!(
            !passed
                && why.contains(&format!(
                    "the NTP server 127.0.0.1 (UDP port {port}) did not answer: Connection refused"
                )),
            "{why}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(6));
    }

    /// An HTTP server answering each of `count` requests with `status_line`.
    fn answer_http(
        status_line: &'static str,
        count: usize,
    ) -> (String, std::thread::JoinHandle<()>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/dists/bookworm/Release",
            listener.local_addr().unwrap()
        );
        let server = std::thread::spawn(move || {
            use std::io::{BufRead, Write};
            for _ in 0..count {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = std::io::BufReader::new(stream);
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                assert!(
                    request.starts_with("GET /dists/bookworm/Release HTTP/1."),
                    "{request}"
                );
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                let mut stream = reader.into_inner();
                stream
                    .write_all(format!("{status_line}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .unwrap();
            }
        });
        (url, server)
    }

    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[test]
    fn an_http_probe_compares_the_status_and_says_why_nothing_answered() {
        let (url, server) = answer_http("HTTP/1.1 404 Not Found", 2);
        let probe = |status| Probe::Http {
            url: url.clone(),
            status,
        };
        assert!(run(&probe(404)).0);
        let (passed, why) = run(&probe(200));
        assert!(
            !passed && why.trim_end() == format!("GET {url} answered 404, not 200"),
            "{why}"
        );
        server.join().unwrap();

        let port = closed_port();
        let (passed, why) = run(&Probe::Http {
            url: format!("http://127.0.0.1:{port}/"),
            status: 200,
        });
        assert!(
            !passed
                && why.starts_with(&format!(
                    "GET http://127.0.0.1:{port}/ failed: Failed to connect to 127.0.0.1 port {port}"
                )),
            "{why}"
        );
    }

    #[test]
    fn a_host_without_curl_asks_a_plain_http_url_over_bash() {
        // A PATH of the tools a bare host has, and no curl.
        let tools = tempfile::tempdir().unwrap();
        for tool in ["bash", "timeout", "sed", "head", "tail", "printf", "cat"] {
            let found = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {tool}"))
                .output()
                .unwrap();
            let path = String::from_utf8(found.stdout).unwrap();
            if path.trim().starts_with('/') {
                std::os::unix::fs::symlink(path.trim(), tools.path().join(tool)).unwrap();
            }
        }
        let run_bare = |probe: &Probe| {
            let output = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(script(probe, "test-host", &HostPaths::default()))
                .env("PATH", tools.path())
                .output()
                .unwrap();
            (
                output.status.success(),
                String::from_utf8_lossy(&output.stderr)
                    .trim_end()
                    .to_string(),
            )
        };
        let (url, server) = answer_http("HTTP/1.0 200 OK", 2);
        assert_eq!(
            run_bare(&Probe::Http {
                url: url.clone(),
                status: 200
            }),
            (true, String::new())
        );
        assert_eq!(
            run_bare(&Probe::Http {
                url: url.clone(),
                status: 401
            }),
            (false, format!("GET {url} answered 200, not 401"))
        );
        server.join().unwrap();
        let port = closed_port();
        assert_eq!(
            run_bare(&Probe::Http {
                url: format!("http://127.0.0.1:{port}/"),
                status: 200
            }),
            (
                false,
                format!("GET http://127.0.0.1:{port}/ failed: Connection refused")
            )
        );
        assert_eq!(
            run_bare(&Probe::Http {
                url: "https://127.0.0.1/".into(),
                status: 200
            }),
            (
                false,
                "GET https://127.0.0.1/: this host has no curl".to_string()
            )
        );
    }

    #[test]
    fn a_tcp_exchange_checks_the_reply() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            for _ in 0..2 {
                let (mut stream, _) = listener.accept().unwrap();
                let mut buffer = [0u8; 4];
                use std::io::{Read, Write};
                stream.read_exact(&mut buffer).unwrap();
                stream
                    .write_all(if &buffer == b"ruok" { b"imok" } else { b"what" })
                    .unwrap();
            }
        });
        assert!(
            run(&Probe::TcpExchange {
                address: address.clone(),
                send: "ruok".into(),
                expect: "imok".into()
            })
            .0
        );
        let (passed, why) = run(&Probe::TcpExchange {
            address,
            send: "nope".into(),
            expect: "imok".into(),
        });
        assert!(!passed && why.contains("answered 'what'"), "{why}");
        server.join().unwrap();
    }

    /// What a lockfile carries into a probe is text, never code: each payload would create
    /// `touched` if the shell ran it.
    fn payloads(touched: &std::path::Path) -> Vec<String> {
        let path = touched.display();
        vec![
            format!("$(touch {path})"),
            format!("`touch {path}`"),
            format!("\"; touch {path}; \""),
            format!("'; touch {path}; '"),
        ]
    }

    #[test]
    fn values_in_failing_probes_messages_are_never_run() {
        let folder = tempfile::tempdir().unwrap();
        let touched = folder.path().join("touched");
        for payload in payloads(&touched) {
            let probes = [
                Probe::OsRelease {
                    allowed: vec![payload.clone()],
                },
                Probe::Filesystem {
                    path: "/".into(),
                    allowed: vec![payload.clone()],
                },
                Probe::TcpConnect {
                    address: format!("{payload}:1"),
                },
                Probe::TcpExchange {
                    address: format!("127.0.0.1:{}", closed_port()),
                    send: payload.clone(),
                    expect: payload.clone(),
                },
                Probe::Http {
                    url: format!("http://127.0.0.1:{}/{payload}", closed_port()),
                    status: 200,
                },
            ];
            for probe in probes {
                let (passed, why) = run(&probe);
                assert!(!passed, "{probe:?} fails");
                assert!(!touched.exists(), "{probe:?} ran its value: {why}");
            }
            let (_, why) = run(&Probe::OsRelease {
                allowed: vec![payload.clone()],
            });
            assert!(
                why.contains(&payload),
                "the message quotes the value as given: {why}"
            );
        }
    }
}
