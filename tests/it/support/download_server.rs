//! A folder of files served over HTTP on loopback by busybox's httpd (Debian's
//! busybox-static): the downloads an image pins, made by the test that serves them.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct DownloadServer {
    pub folder: tempfile::TempDir,
    server: Child,
    pub port: u16,
}

impl DownloadServer {
    /// Serves `folder` (which must hold `probe`, asked for until the server answers).
    pub fn serve(folder: tempfile::TempDir, probe: &str) -> Self {
        let port = crate::support::free_ports::free_port("127.0.0.1");
        let server = Command::new("busybox")
            .args(["httpd", "-f", "-p", &format!("127.0.0.1:{port}"), "-h"])
            .arg(folder.path())
            .spawn()
            .expect("busybox httpd starts (Debian's busybox-static; .ci/run installs it)");
        let served = Self {
            folder,
            server,
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Command::new("curl")
            .args(["-sf", "-o", "/dev/null", &served.url(probe)])
            .status()
            .is_ok_and(|status| status.success())
        {
            assert!(Instant::now() < deadline, "the download server answers");
            std::thread::sleep(Duration::from_millis(100));
        }
        served
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// The sha256 of the served file `name`, as `sha256sum` prints it.
    pub fn sha256(&self, name: &str) -> String {
        sha256_hex(&std::fs::read(self.folder.path().join(name)).unwrap())
    }

    pub fn stop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Drop for DownloadServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
