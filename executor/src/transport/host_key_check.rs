//! Every hop's host key, a jump host's as the destination's, checked against known_hosts
//! under the name and port it is dialled by: unknown keys refused unless new keys are
//! accepted (then recorded), changed keys always refused.

use std::sync::Mutex;

use base64::Engine;
use ssh2::{CheckResult, HashType, KnownHostFileKind, Session};

use crate::transport::TransportError;
use crate::transport::hop_connection::HopConnection;
use crate::transport::known_hosts::{LockedKnownHosts, entry_line};

/// Serialises the recording of host keys by concurrent first connections of this process
/// (the file's `flock` serialises processes).
static KNOWN_HOSTS_WRITE: Mutex<()> = Mutex::new(());

impl HopConnection<'_> {
    pub fn verify_host_key(&self, session: &Session) -> Result<(), TransportError> {
        let (key, key_type) = session
            .host_key()
            .ok_or_else(|| self.connect_error("the host offered no host key"))?;
        let known_hosts = self.read_known_hosts(session)?;
        match known_hosts.check_port(&self.hop.host, self.hop.port, key) {
            CheckResult::NotFound if self.target.accept_new_host_keys => {
                self.record_host_key(session, key, key_type)
            }
            checked => self.judge_host_key(session, checked),
        }
    }

    /// The known_hosts file, as libssh2 holds it (empty when the file does not exist).
    fn read_known_hosts(&self, session: &Session) -> Result<ssh2::KnownHosts, TransportError> {
        let path = &self.target.known_hosts;
        let mut known_hosts = session
            .known_hosts()
            .map_err(|error| self.io_error(error))?;
        if path.exists() {
            known_hosts
                .read_file(path, KnownHostFileKind::OpenSSH)
                .map_err(|error| {
                    self.io_error(format!("cannot read {}: {error}", path.display()))
                })?;
        }
        Ok(known_hosts)
    }

    /// What a check of the host key against known_hosts means for the connection.
    fn judge_host_key(
        &self,
        session: &Session,
        checked: CheckResult,
    ) -> Result<(), TransportError> {
        let known_hosts_path = self.target.known_hosts.display().to_string();
        match checked {
            CheckResult::Match => Ok(()),
            CheckResult::Mismatch => Err(TransportError::ChangedHostKey {
                address: self.address.clone(),
                host: self.hop.host.clone(),
                port: self.hop.port,
                known_hosts: known_hosts_path,
            }),
            CheckResult::NotFound => Err(TransportError::UnknownHostKey {
                address: self.address.clone(),
                host: self.hop.host.clone(),
                port: self.hop.port,
                fingerprint: session
                    .host_key_hash(HashType::Sha256)
                    .map(|hash| {
                        format!(
                            "SHA256:{}",
                            base64::engine::general_purpose::STANDARD_NO_PAD.encode(hash)
                        )
                    })
                    .unwrap_or_default(),
                known_hosts: known_hosts_path,
            }),
            CheckResult::Failure => Err(self.connect_error("the host key could not be checked")),
        }
    }

    /// Trusts a host key on first use: appends its line to known_hosts, leaving every
    /// other line as it was (see `known_hosts.rs`).
    fn record_host_key(
        &self,
        session: &Session,
        key: &[u8],
        key_type: ssh2::HostKeyType,
    ) -> Result<(), TransportError> {
        let known_hosts_path = &self.target.known_hosts;
        let (host, port) = (&self.hop.host, self.hop.port);
        let cannot_write = |error: std::io::Error| {
            self.io_error(format!(
                "cannot record the host key in {}: {error}\nhint: make the file and its folder writable, or add the key yourself with `ssh-keyscan -p {port} {host} >> {}`",
                known_hosts_path.display(),
                known_hosts_path.display()
            ))
        };
        let _guard = KNOWN_HOSTS_WRITE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut locked = LockedKnownHosts::open(known_hosts_path).map_err(cannot_write)?;
        // Check again under the lock: another connection or another cairn may have
        // recorded this host since (its key, or another: a changed key is never accepted).
        match self.read_known_hosts(session)?.check_port(host, port, key) {
            CheckResult::NotFound => {}
            checked => return self.judge_host_key(session, checked),
        }
        let line = entry_line(host, port, key_type, key).ok_or_else(|| {
            self.connect_error(format!(
                "cannot record a host key of type {key_type:?} for host `{host}` in {}\nhint: add the host's key yourself with `ssh-keyscan -p {port} {host} >> {}`",
                known_hosts_path.display(),
                known_hosts_path.display()
            ))
        })?;
        locked.append(&line).map_err(cannot_write)
    }
}
