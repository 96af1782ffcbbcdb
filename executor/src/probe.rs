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
                ". /etc/os-release\nactual=\"$ID $VERSION_ID\"\ncase \"$actual\" in\n  {}) exit 0 ;;\nesac\necho \"the OS is $actual; allowed: {}\" >&2\nexit 1\n",
                cases.join("|"),
                allowed.join(", ").replace('"', "'")
            )
        }
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
             echo \"$path is on a $type filesystem; allowed: {list}\" >&2\nexit 1\n",
            path = quote(&paths.path(path)),
            cases = allowed.iter().map(|name| quote(name)).collect::<Vec<_>>().join("|"),
            list = allowed.join(", ").replace('"', "'"),
        ),
        Probe::DiskFree { path, minimum_bytes } => format!(
            "path={path}\nwhile [ ! -e \"$path\" ]; do path=$(dirname \"$path\"); done\n\
             free=$(df -P -B1 \"$path\" | awk 'NR==2 {{print $4}}')\n\
             if [ \"$free\" -ge {minimum_bytes} ]; then exit 0; fi\n\
             echo \"$path has $free bytes free; {minimum_bytes} are needed\" >&2\nexit 1\n",
            path = quote(&paths.path(path)),
        ),
        Probe::PortFree { port } => format!(
            "port=$(printf '%04X' {port})\n\
             if awk -v port=\"$port\" 'FNR > 1 {{ split($2, local_address, \":\"); if (local_address[2] == port && $4 == \"0A\") found = 1 }} END {{ exit !found }}' /proc/net/tcp /proc/net/tcp6 2>/dev/null; then\n\
               echo \"TCP port {port} is in use\" >&2; exit 1\nfi\nexit 0\n"
        ),
        // Measured from the control machine (see `kinds::probe_node`); as a script, the
        // host's own view: chrony, or systemd's, synchronised.
        Probe::ClockSync { .. } => "if command -v chronyc >/dev/null 2>&1 && chronyc -n tracking | grep -q 'Leap status *: Normal'; then exit 0; fi\n\
             if [ \"$(timedatectl show -p NTPSynchronized --value 2>/dev/null)\" = yes ]; then exit 0; fi\n\
             echo 'the clock is not synchronised (neither chrony nor systemd-timesyncd says so)' >&2\nexit 1\n"
            .to_string(),
        Probe::TcpConnect { address } => {
            let (host, port) = split_address(address);
            format!(
                "if bash -c 'exec 3<>/dev/tcp/'{host}'/'{port} 2>/dev/null; then exit 0; fi\n\
                 echo \"cannot connect to {address}\" >&2\nexit 1\n",
                host = quote(host),
                port = quote(port),
                address = address.replace('"', "'"),
            )
        }
        Probe::TcpExchange { address, send, expect } => {
            let (host, port) = split_address(address);
            format!(
                "reply=$(bash -c 'exec 3<>/dev/tcp/'{host}'/'{port}' && printf %s '{send}' >&3 && cat <&3' 2>&1) || {{ echo \"cannot talk to {address}: $reply\" >&2; exit 1; }}\n\
                 case \"$reply\" in {expect}*) exit 0 ;; esac\n\
                 echo \"{address} answered '$reply', not '{expect_text}'\" >&2\nexit 1\n",
                host = quote(host),
                port = quote(port),
                send = quote(&quote(send)),
                expect = quote(expect),
                expect_text = expect.replace(['"', '\''], ""),
                address = address.replace('"', "'"),
            )
        }
        Probe::Http { url, status } => format!(
            "code=$(curl -sS -o /dev/null -w '%{{http_code}}' --max-time 10 {url} 2>&1) || true\n\
             if [ \"$code\" = {status} ]; then exit 0; fi\n\
             echo \"GET {url_text} answered $code, not {status}\" >&2\nexit 1\n",
            url = quote(url),
            url_text = url.replace('"', "'"),
        ),
        Probe::Command { run } => format!("{}{run}\n", crate::kinds::module_environment(host, paths)),
    }
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
    use cairn_lockfiles::HostEntry;

    fn run(probe: &Probe) -> (bool, String) {
        let paths = HostPaths::of(&HostEntry {
            address: "127.0.0.1".into(),
            user: "root".into(),
            port: 22,
            roles: vec![],
            transport: cairn_lockfiles::TransportKind::Local,
            root: None,
        });
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
        let (passed, why) = run(&Probe::PortFree { port });
        assert!(!passed && why.contains("in use"), "{why}");
        drop(listener);
        assert!(run(&Probe::PortFree { port }).0);
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
}
