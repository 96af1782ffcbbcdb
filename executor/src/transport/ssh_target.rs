use std::path::PathBuf;
use std::time::Duration;

/// One SSH server on the way to a host, or the host itself, resolved: where to dial, who
/// to log in as, with which keys, how long it may stay silent while connecting, and how
/// its liveness is asked once connected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SshHop {
    /// The name or address dialled (after the SSH configuration's `HostName`), and the
    /// name its host key is recorded under in known_hosts.
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Private keys to offer after the agent's, in order.
    pub identities: Vec<PathBuf>,
    /// `IdentitiesOnly`: of the agent's keys, offer only those of `identities`.
    pub identities_only: bool,
    pub connect_timeout_milliseconds: u64,
    /// Seconds a connected host may say nothing before cairn sends it an SSH keepalive,
    /// which a live host answers (`ServerAliveInterval`).
    pub alive_interval_seconds: u32,
    /// Keepalives that may go unanswered before the connection is given up
    /// (`ServerAliveCountMax`).
    pub alive_count_max: u32,
}

impl SshHop {
    /// `ssh://user@host:port`, as errors name it.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("ssh://{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            format!("ssh://{}@{}:{}", self.user, self.host, self.port)
        }
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_milliseconds)
    }

    pub fn alive_interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.alive_interval_seconds))
    }

    /// How long bytes sent to a connected host may go unanswered before its connection is
    /// given up: the keepalive interval times the keepalives that may go unanswered.
    pub fn silence_limit(&self) -> Duration {
        self.alive_interval() * self.alive_count_max
    }
}

/// Everything that decides how a host is reached and trusted, with the SSH client
/// configuration already followed: the jump hosts and the host itself, the known_hosts
/// file and how it is trusted, the bounds on sessions. Two transports of equal targets are
/// interchangeable, which is what lets the connection keeper share one between applies;
/// a host reached through another bastion is another target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SshTarget {
    /// The jump hosts (`ProxyJump`) in the order they are passed through: the first is
    /// dialled directly, each next one reached through the one before.
    pub jumps: Vec<SshHop>,
    /// The host the scripts run on.
    pub destination: SshHop,
    pub known_hosts: PathBuf,
    pub accept_new_host_keys: bool,
    /// Sessions open to the destination at most.
    pub sessions_per_host: usize,
    /// Connections being started (not yet authenticated) to any one SSH server at most.
    pub max_startups: usize,
}

impl SshTarget {
    /// The jump hosts, then the destination.
    pub fn hops(&self) -> impl Iterator<Item = &SshHop> {
        self.jumps.iter().chain(std::iter::once(&self.destination))
    }

    /// `ssh://root@10.0.0.5:22`, or with its jump hosts:
    /// `ssh://root@10.0.0.5:22 through ssh://ops@bastion:22`.
    pub fn address(&self) -> String {
        let mut address = self.destination.address();
        if !self.jumps.is_empty() {
            let jumps: Vec<String> = self.jumps.iter().map(SshHop::address).collect();
            address.push_str(" through ");
            address.push_str(&jumps.join(", "));
        }
        address
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(host: &str, user: &str) -> SshHop {
        SshHop {
            host: host.to_string(),
            port: 22,
            user: user.to_string(),
            identities: Vec::new(),
            identities_only: false,
            connect_timeout_milliseconds: 10_000,
            alive_interval_seconds: 10,
            alive_count_max: 3,
        }
    }

    #[test]
    fn an_address_names_the_host_and_its_jump_hosts() {
        let mut target = SshTarget {
            jumps: Vec::new(),
            destination: hop("10.0.0.5", "root"),
            known_hosts: PathBuf::from("/known_hosts"),
            accept_new_host_keys: false,
            sessions_per_host: 2,
            max_startups: 8,
        };
        assert_eq!(target.address(), "ssh://root@10.0.0.5:22");
        target.jumps = vec![hop("bastion", "ops"), hop("fd00::1", "ops")];
        assert_eq!(
            target.address(),
            "ssh://root@10.0.0.5:22 through ssh://ops@bastion:22, ssh://ops@[fd00::1]:22"
        );
        assert_eq!(target.hops().count(), 3);
    }
}
