//! The files that make a fresh machine this machine, copied into its container before its
//! first boot (one archive, `docker cp -`) as what an installer would have written: its
//! name, its `/etc/hosts`, its machine id, its SSH host key and port, and root's
//! authorized key. They land in the container's own layer: ordinary files of the machine,
//! which cairn may rewrite (host-base writes `/etc/hostname` and `/etc/hosts` by rename).

use std::net::Ipv4Addr;

use crate::lab_error::LabError;

/// One machine's files, before they are archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineFiles {
    pub name: String,
    pub address: Ipv4Addr,
    pub port: u16,
    /// The host key's private half (OpenSSH's format) and public line.
    pub host_key: String,
    pub host_key_public: String,
    /// The lab's client key, `ssh-ed25519 AAAA... comment`.
    pub authorized_key: String,
    /// 32 lowercase hexadecimal digits.
    pub machine_id: String,
}

/// A path, its content and mode; folders end with `/` and have no content.
type ArchiveEntry = (&'static str, String, u32);

impl MachineFiles {
    /// A new machine id, random as systemd's: the kernel's random UUID without its dashes.
    pub fn random_machine_id() -> Result<String, LabError> {
        let path = std::path::Path::new("/proc/sys/kernel/random/uuid");
        let uuid = std::fs::read_to_string(path).map_err(|error| LabError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Ok(uuid.trim().replace('-', ""))
    }

    fn entries(&self) -> Vec<ArchiveEntry> {
        let name = &self.name;
        vec![
            ("etc/hostname", format!("{name}\n"), 0o644),
            (
                "etc/hosts",
                format!(
                    "127.0.0.1\tlocalhost\n{}\t{name}\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
                    self.address
                ),
                0o644,
            ),
            (
                "etc/resolv.conf",
                "# No name server: the lab's network has no route outward.\n".to_string(),
                0o644,
            ),
            ("etc/machine-id", format!("{}\n", self.machine_id), 0o444),
            ("etc/ssh/ssh_host_ed25519_key", self.host_key.clone(), 0o600),
            (
                "etc/ssh/ssh_host_ed25519_key.pub",
                format!("{}\n", self.host_key_public.trim()),
                0o644,
            ),
            (
                "etc/ssh/sshd_config.d/cairn-lab.conf",
                format!(
                    "# Written by cairn lab: this machine's SSH port, and its host key, made before its first boot.\nPort {}\nHostKey /etc/ssh/ssh_host_ed25519_key\n",
                    self.port
                ),
                0o644,
            ),
            ("root/.ssh/", String::new(), 0o700),
            (
                "root/.ssh/authorized_keys",
                format!("{}\n", self.authorized_key.trim()),
                0o600,
            ),
        ]
    }

    /// The files as a tar archive rooted at `/`, every entry root's.
    pub fn archive(&self) -> Result<Vec<u8>, LabError> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content, mode) in self.entries() {
            let mut header = tar::Header::new_gnu();
            header.set_mode(mode);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            let is_folder = path.ends_with('/');
            header.set_entry_type(if is_folder {
                tar::EntryType::Directory
            } else {
                tar::EntryType::Regular
            });
            header.set_size(content.len() as u64);
            builder
                .append_data(&mut header, path, content.as_bytes())
                .map_err(|error| LabError::Archive {
                    machine: self.name.clone(),
                    message: error.to_string(),
                })?;
        }
        builder.into_inner().map_err(|error| LabError::Archive {
            machine: self.name.clone(),
            message: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::MachineFiles;

    #[test]
    fn the_archive_holds_root_owned_files_with_their_modes() {
        let files = MachineFiles {
            name: "master1".to_string(),
            address: "10.20.0.11".parse().unwrap(),
            port: 2222,
            host_key: "PRIVATE\n".to_string(),
            host_key_public: "ssh-ed25519 AAAA host".to_string(),
            authorized_key: "ssh-ed25519 BBBB client".to_string(),
            machine_id: "0123456789abcdef0123456789abcdef".to_string(),
        };
        let archive = files.archive().unwrap();
        let mut reader = tar::Archive::new(archive.as_slice());
        let mut seen = Vec::new();
        for entry in reader.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header();
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            let path = entry.path().unwrap().display().to_string();
            let mode = header.mode().unwrap();
            let mut content = String::new();
            entry.read_to_string(&mut content).unwrap();
            seen.push((path, mode, content));
        }
        let find = |path: &str| seen.iter().find(|(name, ..)| name == path).unwrap();
        assert_eq!(find("etc/hostname").2, "master1\n");
        assert!(find("etc/hosts").2.contains("10.20.0.11\tmaster1\n"));
        assert_eq!(find("etc/ssh/ssh_host_ed25519_key").1, 0o600);
        assert!(
            find("etc/ssh/sshd_config.d/cairn-lab.conf")
                .2
                .contains("Port 2222\n")
        );
        assert_eq!(find("root/.ssh/").1, 0o700);
        assert_eq!(
            find("root/.ssh/authorized_keys").2,
            "ssh-ed25519 BBBB client\n"
        );
    }
}
