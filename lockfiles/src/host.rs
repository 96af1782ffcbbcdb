use std::fmt;
use std::str::FromStr;

/// How cairn reaches a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportKind {
    /// Over SSH, to `user@address:port`.
    #[default]
    Ssh,
    /// On the machine running cairn itself (a sandbox, a chroot, the control host).
    Local,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Ssh => "ssh",
            TransportKind::Local => "local",
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for TransportKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ssh" => Ok(TransportKind::Ssh),
            "local" => Ok(TransportKind::Local),
            other => Err(format!(
                "`{other}` is not a transport; expected `ssh` or `local`"
            )),
        }
    }
}

/// How cairn's commands gain root on a host it logs in to as another user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BecomeMethod {
    /// Every script runs through `sudo`: `sudo -n` without a password, else with the
    /// password given to sudo's askpass on the host, never in an argument list.
    Sudo,
}

impl BecomeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            BecomeMethod::Sudo => "sudo",
        }
    }
}

impl fmt::Display for BecomeMethod {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for BecomeMethod {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "sudo" => Ok(BecomeMethod::Sudo),
            other => Err(format!(
                "`{other}` is not a way to become root; expected `sudo`"
            )),
        }
    }
}

/// A host as apply needs to reach it. Written into the lockfile so that apply needs nothing
/// but the lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    pub address: String,
    /// The user to log in as; `None`: the SSH configuration's `User`, else root.
    pub user: Option<String>,
    /// The SSH port; `None`: the SSH configuration's `Port`, else 22.
    pub port: Option<u16>,
    /// Sorted, without duplicates.
    pub roles: Vec<String>,
    pub transport: TransportKind,
    /// A folder under which all the host's paths and cairn's state live (a sandbox, a
    /// chroot, several test hosts on one machine). `None`: the host's own `/`. Absolute,
    /// or, for a `local` host, relative to the lockfile's folder.
    pub root: Option<String>,
    /// How scripts gain root when `user` is not root; `None`: they run as `user`.
    pub become_method: Option<BecomeMethod>,
    /// The name of the secret (in `[secrets]`) holding `user`'s password for `sudo`.
    pub become_password: Option<String>,
}
