//! The base images the Docker tests make themselves, nothing being pulled: Debian's static
//! busybox (`.ci/run` installs busybox-static) with the applets a test's image runs, and
//! any files of the test's own, imported once per machine under the test's tag.

use std::path::Path;
use std::process::Command;

use crate::support::Sandbox;

/// Removes the test's containers however the test ends, with the previous ones a
/// replacement kept (`NAME.previous`).
pub struct Containers(pub Vec<String>);

impl Drop for Containers {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("docker")
                .args(["rm", "--force", name, &format!("{name}.previous")])
                .output();
        }
    }
}

/// A web server per host of role `app`, in a container of an image of the test base,
/// its page a file node, its health asked from inside the container.
pub const WEB_MODULE: &str = r#"[module]
name = "web"
description = "a web server in a container"
roles = ["app"]

[settings.web.port]
type = "port"
doc = "The first host's port; the others count up from it."

[[image]]
name = "web"
base = "cairn-test/base:1"
files = [{ path = "/usr/local/bin/serve", template = "serve.sh", mode = "0755" }]
entrypoint = ["/usr/local/bin/serve"]

[[node]]
kind = "file"
path = "/srv/web/index.html"
content = "hello from {{ host.name }}\n"

[[node]]
kind = "container"
name = "web"
image = "web"
network = "host"
volumes = ["/srv/web:/www:ro"]
env = { PORT = "{{ web.port + host.role_index.app - 1 }}", TOKEN = "{{ app.token }}" }
deps = ["file:/srv/web/index.html"]

# Asked from inside the container, found by its Docker name (sandboxes prefix it).
[[node]]
kind = "health"
name = "web-http"
probe = "command"
run = "docker exec \"${CAIRN_CONTAINER_PREFIX}web\" busybox wget -q -O - http://127.0.0.1:{{ web.port + host.role_index.app - 1 }}/index.html | grep -q '^hello from'"
retries = 20
interval_seconds = 1
deps = ["container:web"]
"#;

/// Writes the module `web` (`module`, and its `serve.sh`: busybox's httpd serving `/www` on
/// `$PORT`) into `sandbox`, and sets `[web] port` of its cluster.toml to `port`.
pub fn add_web_module(sandbox: &Sandbox, module: &str, port: u16) {
    sandbox.write("modules/web/module.toml", module).write(
        "modules/web/serve.sh",
        &format!(
            "#!/bin/sh\n{}",
            stopping_on_term("httpd -f -p \"$PORT\" -h /www")
        ),
    );
    sandbox.edit("cluster.toml", |text| {
        format!("{text}\n[web]\nport = {port}\n")
    });
}

/// The end of a container's entrypoint script that runs `command` until `docker stop`.
/// PID 1 has no default action for SIGTERM, so a script that `exec`s a server or `sleep`
/// would be killed only after `docker stop`'s ten seconds (every replacement of the
/// container, since apply stops the running one cleanly to keep it as the previous one):
/// the script runs it in the background and ends it on TERM itself.
pub fn stopping_on_term(command: &str) -> String {
    format!("{command} &\ntrap 'kill $!; exit 0' TERM\nwait\n")
}

/// An image of busybox, its `applets` as links in /bin, and `files` (path relative to the
/// root, content, mode); folders in `folders` made empty.
#[derive(Debug, Default)]
pub struct BusyboxImage<'a> {
    pub applets: &'a [&'a str],
    pub files: &'a [(&'a str, &'a [u8], u32)],
    pub folders: &'a [&'a str],
}

impl BusyboxImage<'_> {
    /// Imports the image as `tag` unless the engine has it.
    pub fn ensure(&self, tag: &str) {
        let present = Command::new("docker")
            .args(["image", "inspect", tag])
            .output()
            .expect("docker runs");
        if present.status.success() {
            return;
        }
        let busybox = Path::new("/bin/busybox");
        assert!(
            busybox.exists(),
            "/bin/busybox is missing: install Debian's busybox-static (.ci/run does)"
        );
        let root = tempfile::tempdir().unwrap();
        let write = |relative: &str, content: &[u8], mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            let path = root.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("bin/busybox", &std::fs::read(busybox).unwrap(), 0o755);
        for applet in self.applets {
            std::os::unix::fs::symlink("busybox", root.path().join("bin").join(applet)).unwrap();
        }
        for (path, content, mode) in self.files {
            write(path, content, *mode);
        }
        for folder in self.folders {
            std::fs::create_dir_all(root.path().join(folder)).unwrap();
        }
        let imported = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "tar -C '{}' -c . | docker import - {tag} >/dev/null",
                root.path().display()
            ))
            .output()
            .unwrap();
        assert!(
            imported.status.success(),
            "docker import of {tag}: {}",
            String::from_utf8_lossy(&imported.stderr)
        );
    }
}
