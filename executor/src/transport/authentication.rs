//! Logging in to a hop as `ssh` does: the agent's keys first (with `IdentitiesOnly`, only
//! those that are one of the hop's identity files, by their `.pub`), then the identity
//! files themselves; OpenSSH's default key files when the hop names none.

use std::path::{Path, PathBuf};

use base64::Engine;
use ssh2::Session;

use crate::transport::TransportError;
use crate::transport::hop_connection::HopConnection;
use crate::transport::ssh_route::default_identities;

impl HopConnection<'_> {
    pub fn authenticate(&self, session: &Session) -> Result<(), TransportError> {
        let identities = if self.hop.identities.is_empty() {
            default_identities()
        } else {
            self.hop.identities.clone()
        };
        let mut problems = Vec::new();
        if std::env::var_os("SSH_AUTH_SOCK").is_some() {
            match self.authenticate_with_agent(session, &identities) {
                Ok(true) => return Ok(()),
                Ok(false) => problems.push("ssh-agent: no key accepted".to_string()),
                Err(error) => problems.push(format!("ssh-agent: {error}")),
            }
        }
        for identity in &identities {
            match session.userauth_pubkey_file(&self.hop.user, None, identity, None) {
                Ok(()) if session.authenticated() => return Ok(()),
                Ok(()) => problems.push(format!("{}: not accepted", identity.display())),
                Err(error) => problems.push(format!("{}: {error}", identity.display())),
            }
        }
        if problems.is_empty() {
            problems.push("no ssh-agent and no private key to offer".to_string());
        }
        Err(TransportError::Authentication {
            address: self.address.clone(),
            user: self.hop.user.clone(),
            message: problems.join("; "),
        })
    }

    /// Offers the agent's keys in turn (libssh2's own helper offers the first only); with
    /// `IdentitiesOnly`, those of `identities` only.
    fn authenticate_with_agent(
        &self,
        session: &Session,
        identities: &[PathBuf],
    ) -> Result<bool, ssh2::Error> {
        let allowed: Option<Vec<Vec<u8>>> = self.hop.identities_only.then(|| {
            identities
                .iter()
                .filter_map(|path| public_key_blob(path))
                .collect()
        });
        let mut agent = session.agent()?;
        agent.connect()?;
        agent.list_identities()?;
        for identity in agent.identities()? {
            if let Some(allowed) = &allowed
                && !allowed
                    .iter()
                    .any(|blob| blob.as_slice() == identity.blob())
            {
                continue;
            }
            if agent.userauth(&self.hop.user, &identity).is_ok() && session.authenticated() {
                let _ = agent.disconnect();
                return Ok(true);
            }
        }
        let _ = agent.disconnect();
        Ok(false)
    }
}

/// The key blob of `private_key`'s public half, from `<private_key>.pub` (`type base64
/// comment`).
fn public_key_blob(private_key: &Path) -> Option<Vec<u8>> {
    let mut public = private_key.as_os_str().to_owned();
    public.push(".pub");
    let text = std::fs::read_to_string(public).ok()?;
    let encoded = text.split_whitespace().nth(1)?;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
}
