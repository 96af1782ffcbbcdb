//! Recording a newly trusted host key as OpenSSH does: one line appended to known_hosts.
//!
//! The rest of the file is never rewritten. It is the operator's: comments, hashed entries
//! (`|1|...`), `@cert-authority` and `@revoked` markers, key types libssh2 does not know,
//! none of which libssh2's own writer keeps; and a rewrite that a crash cuts short would
//! lose it all. An append is one `write(2)` on a descriptor opened with `O_APPEND`, then
//! `fsync`: a crash leaves the file as it was, or with the new line. An exclusive `flock`
//! keeps cairn processes recording keys at once from writing into each other's lines, and
//! lets each see what the other added before deciding to add its own.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use base64::Engine;
use ssh2::HostKeyType;

/// The known_hosts line OpenSSH writes for a host key: `host keytype base64` on port 22,
/// `[host]:port keytype base64` on any other. `None` for a key type OpenSSH would not
/// name, or a host that would not read back as one plain host name (a space would start
/// the key; `,` `*` `?` `!` make patterns; `|` and `@` start hashes and markers).
pub(crate) fn entry_line(
    host: &str,
    port: u16,
    key_type: HostKeyType,
    key: &[u8],
) -> Option<String> {
    let type_name = match key_type {
        HostKeyType::Rsa => "ssh-rsa",
        HostKeyType::Dss => "ssh-dss",
        HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
        HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
        HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
        HostKeyType::Ed25519 => "ssh-ed25519",
        HostKeyType::Unknown => return None,
    };
    let plain = !host.is_empty()
        && host.chars().all(|character| {
            !character.is_whitespace()
                && !character.is_control()
                && !matches!(
                    character,
                    ',' | '*' | '?' | '!' | '|' | '@' | '#' | '[' | ']'
                )
        });
    if !plain {
        return None;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(key);
    Some(if port == 22 {
        format!("{host} {type_name} {encoded}\n")
    } else {
        format!("[{host}]:{port} {type_name} {encoded}\n")
    })
}

/// known_hosts, opened for appending and locked against other cairn processes until
/// dropped.
#[derive(Debug)]
pub(crate) struct LockedKnownHosts {
    file: File,
}

impl LockedKnownHosts {
    /// Opens `path` (creating it 0600, and its folder 0700, as OpenSSH would) and waits for
    /// an exclusive `flock` on it.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)?;
        // std's `File::lock` is `flock(2)` on Linux (Rust 1.89, the workspace's minimum).
        file.lock()?;
        Ok(Self { file })
    }

    /// Appends `line` (which ends with a newline) in one write, after a newline when the
    /// file lacks a final one (so the new entry does not join the last line), and syncs.
    pub fn append(&mut self, line: &str) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        let length = self.file.metadata()?.len();
        if length > 0 {
            let mut last = [0u8; 1];
            self.file.seek(SeekFrom::Start(length - 1))?;
            self.file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                bytes.push(b'\n');
            }
        }
        bytes.extend_from_slice(line.as_bytes());
        // O_APPEND: the write lands at the end, wherever the read left the offset.
        self.file.write_all(&bytes)?;
        self.file.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use ssh2::HostKeyType;

    use super::{LockedKnownHosts, entry_line};

    #[test]
    fn entry_lines_are_in_openssh_format() {
        let key = [0u8, 0, 0, 11, b's', b's', b'h'];
        assert_eq!(
            entry_line("10.0.0.1", 22, HostKeyType::Ed25519, &key).unwrap(),
            "10.0.0.1 ssh-ed25519 AAAAC3NzaA==\n"
        );
        assert_eq!(
            entry_line("db.example", 2222, HostKeyType::Ecdsa256, &key).unwrap(),
            "[db.example]:2222 ecdsa-sha2-nistp256 AAAAC3NzaA==\n"
        );
        for host in [
            "",
            "a b",
            "a\nb",
            "a,b",
            "*.example",
            "|1|x",
            "@revoked",
            "[x]:1",
        ] {
            assert_eq!(
                entry_line(host, 22, HostKeyType::Rsa, &key),
                None,
                "{host:?}"
            );
        }
        assert_eq!(entry_line("x", 22, HostKeyType::Unknown, &key), None);
    }

    #[test]
    fn appending_keeps_every_byte_before_and_adds_a_missing_final_newline() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("known_hosts");
        let before = "# a comment\n|1|c2FsdA==|aGFzaA== ssh-ed25519 AAAA\n@cert-authority *.example ssh-rsa AAAA  trailing";
        std::fs::write(&path, before).unwrap();
        LockedKnownHosts::open(&path)
            .unwrap()
            .append("[h]:2 ssh-ed25519 AAAB\n")
            .unwrap();
        LockedKnownHosts::open(&path)
            .unwrap()
            .append("h ssh-ed25519 AAAC\n")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{before}\n[h]:2 ssh-ed25519 AAAB\nh ssh-ed25519 AAAC\n")
        );
    }

    #[test]
    fn a_missing_known_hosts_is_created_private_in_a_private_folder() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("new/.ssh/known_hosts");
        LockedKnownHosts::open(&path)
            .unwrap()
            .append("h ssh-ed25519 AAAB\n")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "h ssh-ed25519 AAAB\n"
        );
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }

    #[test]
    fn concurrent_appends_never_interleave() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("known_hosts");
        std::fs::write(&path, "no final newline").unwrap();
        let lines: Vec<String> = (0..16)
            .map(|index| format!("[h{index}]:22 ssh-ed25519 {}\n", "A".repeat(4000)))
            .collect();
        std::thread::scope(|scope| {
            for line in &lines {
                let path = &path;
                scope.spawn(move || {
                    LockedKnownHosts::open(path).unwrap().append(line).unwrap();
                });
            }
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let mut found: Vec<&str> = text.lines().collect();
        assert_eq!(found.remove(0), "no final newline");
        found.sort();
        let mut expected: Vec<&str> = lines.iter().map(|line| line.trim_end()).collect();
        expected.sort();
        assert_eq!(found, expected);
    }
}
