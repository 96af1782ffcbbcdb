//! From a host's entry to an [`SshTarget`]: the SSH client configuration followed as
//! `ssh` follows it, for the host and for each jump host on the way.
//!
//! Precedence, as OpenSSH's "command line over configuration": the spec (written in the
//! lockfile) is cairn's command line for its hosts, so a host's `user` and `port` there
//! win over the configuration's `User` and `Port`, which win over cairn's defaults (root,
//! 22). `--connect-timeout` wins over `ConnectTimeout`, which wins over 10 s.
//! `--identity` keys come before the configuration's `IdentityFile`s, for every hop.
//!
//! Jump hosts: `ProxyJump a,b` reaches the host through `b`, itself reached through `a`;
//! as with `ssh -J`, `b`'s own `ProxyJump` is not followed (the list says how `b` is
//! reached), while `a`'s is (`a` is dialled as `ssh a` would dial it). A jump host's user
//! and port are those its entry in the list gives, else its configuration's, else the
//! local user (as `ssh` logs in) and 22. `ProxyCommand` is refused: cairn runs no local
//! command to reach a host, and dialling it directly instead could reach another machine.

use std::path::PathBuf;
use std::time::Duration;

use crate::transport::ssh_config::{
    JumpHost, Located, ProxySetting, ResolvedHost, SshConfig, TokenValues, expand_path,
    home_folder, local_user,
};
use crate::transport::ssh_options::{
    DEFAULT_ALIVE_COUNT_MAX, DEFAULT_ALIVE_INTERVAL_SECONDS, DEFAULT_CONNECT_TIMEOUT,
};
use crate::transport::{SshHop, SshOptions, SshTarget};

/// Jump hosts on the way to one host at most: more is a loop in the configuration.
const MOST_JUMPS: usize = 8;

/// The target `address` (the spec's: an address, or an alias of the configuration) names,
/// with the spec's `user` and `port` where it gives them. The error says which line of the
/// configuration is in the way, and what to do.
pub fn resolve_target(
    address: &str,
    user: Option<&str>,
    port: Option<u16>,
    options: &SshOptions,
) -> Result<SshTarget, String> {
    let empty = SshConfig::default();
    let resolver = RouteResolver {
        config: options.config.as_deref().unwrap_or(&empty),
        options,
    };
    let (destination, proxy) = resolver.hop(address, user, port, "root")?;
    let mut seen = vec![address.to_ascii_lowercase()];
    let jumps = resolver.jumps(proxy, &mut seen)?;
    Ok(SshTarget {
        jumps,
        destination,
        known_hosts: options.known_hosts.clone(),
        accept_new_host_keys: options.accept_new_host_keys,
        sessions_per_host: options.sessions_per_host,
        max_startups: options.max_startups.max(1),
    })
}

struct RouteResolver<'a> {
    config: &'a SshConfig,
    options: &'a SshOptions,
}

impl RouteResolver<'_> {
    /// One hop: `name` as the configuration resolves it, with the user and port given
    /// first where they are; and how the configuration says it is reached.
    fn hop(
        &self,
        name: &str,
        user: Option<&str>,
        port: Option<u16>,
        default_user: &str,
    ) -> Result<(SshHop, Option<Located<ProxySetting>>), String> {
        let resolved = self.config.resolve(name);
        let (alive_interval_seconds, alive_count_max) = liveness(&resolved);
        let host = resolved.hostname.unwrap_or_else(|| name.to_string());
        let port = port.or(resolved.port).unwrap_or(22);
        let user = user
            .map(str::to_string)
            .or(resolved.user)
            .unwrap_or_else(|| default_user.to_string());
        let connect_timeout = self
            .options
            .connect_timeout
            .or(resolved
                .connect_timeout
                .filter(|timeout| !timeout.is_zero()))
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let home = home_folder().display().to_string();
        let local = local_user();
        let values = TokenValues {
            home: &home,
            hostname: &host,
            original_host: name,
            port,
            remote_user: &user,
            local_user: &local,
        };
        let mut identities = self.options.identities.clone();
        for file in &resolved.identity_files {
            if file.value.eq_ignore_ascii_case("none") {
                continue;
            }
            let path = expand_path(&file.value, &values).map_err(|problem| {
                format!(
                    "{}: `IdentityFile {}`: {problem}",
                    file.location, file.value
                )
            })?;
            // As `ssh`: a configured key that does not exist is passed over.
            if path.exists() && !identities.contains(&path) {
                identities.push(path);
            }
        }
        let hop = SshHop {
            host,
            port,
            user,
            identities,
            identities_only: resolved.identities_only.unwrap_or(false),
            connect_timeout_milliseconds: milliseconds(connect_timeout),
            alive_interval_seconds,
            alive_count_max,
        };
        Ok((hop, resolved.proxy))
    }

    /// The jump hosts a proxy setting names, each with the ones it is reached through
    /// before it.
    fn jumps(
        &self,
        proxy: Option<Located<ProxySetting>>,
        seen: &mut Vec<String>,
    ) -> Result<Vec<SshHop>, String> {
        let Some(proxy) = proxy else {
            return Ok(Vec::new());
        };
        let list = match proxy.value {
            ProxySetting::Direct => return Ok(Vec::new()),
            ProxySetting::Command(command) => {
                return Err(format!(
                    "{}: cairn does not run `ProxyCommand {command}`\nhint: name the bastion with `ProxyJump` instead (`ProxyJump user@bastion:port`), which cairn follows",
                    proxy.location
                ));
            }
            ProxySetting::Jump(list) => list,
        };
        let mut hops = Vec::new();
        for (position, jump) in list.iter().enumerate() {
            self.check_loop(jump, seen, &proxy.location)?;
            let (hop, own_proxy) =
                self.hop(&jump.host, jump.user.as_deref(), jump.port, &local_user())?;
            if position == 0 {
                hops.extend(self.jumps(own_proxy, seen)?);
            }
            hops.push(hop);
        }
        if hops.len() > MOST_JUMPS {
            return Err(format!(
                "{}: more than {MOST_JUMPS} jump hosts on the way to one host",
                proxy.location
            ));
        }
        Ok(hops)
    }

    /// A jump host met again on the way is a loop of `ProxyJump`s.
    fn check_loop(
        &self,
        jump: &JumpHost,
        seen: &mut Vec<String>,
        location: &crate::transport::ssh_config::ConfigLocation,
    ) -> Result<(), String> {
        let name = jump.host.to_ascii_lowercase();
        if seen.contains(&name) || seen.len() > MOST_JUMPS {
            return Err(format!(
                "{location}: `ProxyJump` loops: {} is reached through {jump}\nhint: give the bastion itself `ProxyJump none`",
                seen.join(" → ")
            ));
        }
        seen.push(name);
        Ok(())
    }
}

fn milliseconds(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The identities a hop offers when it names none: OpenSSH's defaults that exist.
pub fn default_identities() -> Vec<PathBuf> {
    let folder = home_folder().join(".ssh");
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|name| folder.join(name))
        .filter(|path| path.exists())
        .collect()
}

/// `ServerAliveInterval` (in whole seconds) and `ServerAliveCountMax`, each else cairn's
/// default; a zero, which turns OpenSSH's keepalives off, takes the default too: cairn
/// never waits for ever on a connected host gone silent.
fn liveness(resolved: &ResolvedHost) -> (u32, u32) {
    let interval = resolved
        .server_alive_interval
        .map(|interval| u32::try_from(interval.as_secs()).unwrap_or(u32::MAX))
        .filter(|seconds| *seconds > 0)
        .unwrap_or(DEFAULT_ALIVE_INTERVAL_SECONDS);
    let count = resolved
        .server_alive_count_max
        .filter(|count| *count > 0)
        .unwrap_or(DEFAULT_ALIVE_COUNT_MAX);
    (interval, count)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;

    fn options(config: &str) -> SshOptions {
        SshOptions {
            config: Some(Arc::new(
                SshConfig::parse(config, Path::new("/test/config")).unwrap(),
            )),
            ..SshOptions::default()
        }
    }

    fn route(config: &str, address: &str) -> Vec<String> {
        let target = resolve_target(address, None, None, &options(config)).unwrap();
        target.hops().map(SshHop::address).collect()
    }

    #[test]
    fn the_spec_wins_over_the_configuration_which_wins_over_the_defaults() {
        let options = options(
            "Host app\n    HostName 10.0.0.5\n    User deploy\n    Port 2240\n    ConnectTimeout 3\n",
        );
        let target = resolve_target("app", None, None, &options).unwrap();
        assert_eq!(target.destination.address(), "ssh://deploy@10.0.0.5:2240");
        assert_eq!(target.destination.connect_timeout_milliseconds, 3000);
        let target = resolve_target("app", Some("admin"), Some(22), &options).unwrap();
        assert_eq!(target.destination.address(), "ssh://admin@10.0.0.5:22");
        let target = resolve_target("other", None, None, &options).unwrap();
        assert_eq!(target.destination.address(), "ssh://root@other:22");
        assert_eq!(target.destination.connect_timeout_milliseconds, 10_000);
        let mut command_line = options.clone();
        command_line.connect_timeout = Some(Duration::from_millis(1500));
        let target = resolve_target("app", None, None, &command_line).unwrap();
        assert_eq!(target.destination.connect_timeout_milliseconds, 1500);
    }

    #[test]
    fn each_hop_asks_whether_its_host_is_alive_as_its_configuration_says_else_every_10_s() {
        let config = "\
Host bastion
    ServerAliveInterval 2
    ServerAliveCountMax 5
Host quiet
    ServerAliveInterval 0
    ServerAliveCountMax 0
Host app
    ProxyJump bastion
    ServerAliveInterval 1m
";
        let target = resolve_target("app", None, None, &options(config)).unwrap();
        let bastion = &target.jumps[0];
        assert_eq!(
            (bastion.alive_interval_seconds, bastion.alive_count_max),
            (2, 5)
        );
        assert_eq!(bastion.silence_limit(), Duration::from_secs(10));
        let app = &target.destination;
        assert_eq!((app.alive_interval_seconds, app.alive_count_max), (60, 3));
        assert_eq!(app.silence_limit(), Duration::from_secs(180));
        // Zero turns OpenSSH's keepalives off; cairn keeps its own.
        for address in ["quiet", "other"] {
            let hop = resolve_target(address, None, None, &options(config))
                .unwrap()
                .destination;
            assert_eq!((hop.alive_interval_seconds, hop.alive_count_max), (10, 3));
            assert_eq!(hop.silence_limit(), Duration::from_secs(30), "{address}");
        }
    }

    #[test]
    fn a_chain_of_jump_hosts_is_followed_as_ssh_follows_it() {
        let config = "\
Host inner-*
    ProxyJump ops@outer:2201,middle
Host middle
    HostName 10.1.0.1
    User relay
    ProxyJump ignored-because-listed
Host outer
    HostName 192.0.2.1
    ProxyJump gate
Host gate
    User gatekeeper
";
        let local = local_user();
        assert_eq!(
            route(config, "inner-1"),
            [
                "ssh://gatekeeper@gate:22".to_string(),
                "ssh://ops@192.0.2.1:2201".to_string(),
                "ssh://relay@10.1.0.1:22".to_string(),
                "ssh://root@inner-1:22".to_string(),
            ]
        );
        assert_eq!(
            route("Host t\n    ProxyJump b\n", "t"),
            [format!("ssh://{local}@b:22"), "ssh://root@t:22".to_string()]
        );
    }

    #[test]
    fn proxy_jump_none_and_the_first_value_decide() {
        let config = "Host bastion\n    ProxyJump none\nHost *\n    ProxyJump bastion\n";
        assert_eq!(route(config, "bastion"), ["ssh://root@bastion:22"]);
        assert_eq!(route(config, "app").len(), 2);
    }

    #[test]
    fn a_loop_or_a_proxy_command_is_refused_naming_the_line() {
        let looping = "Host a\n    ProxyJump b\nHost b\n    ProxyJump a\n";
        let error = resolve_target("a", None, None, &options(looping)).unwrap_err();
        assert!(
            error.contains("/test/config:4: `ProxyJump` loops"),
            "{error}"
        );
        let command = "Host a\n    ProxyCommand nc %h %p\n";
        let error = resolve_target("a", None, None, &options(command)).unwrap_err();
        assert!(
            error.starts_with("/test/config:2: cairn does not run `ProxyCommand nc %h %p`"),
            "{error}"
        );
        assert!(error.contains("hint: "), "{error}");
    }

    #[test]
    fn identity_files_expand_their_tokens_and_missing_ones_are_passed_over() {
        let folder = tempfile::tempdir().unwrap();
        let key = folder.path().join("deploy@10.0.0.5");
        std::fs::write(&key, "key").unwrap();
        let config = format!(
            "Host app\n    HostName 10.0.0.5\n    User deploy\n    IdentityFile {}/%r@%h\n    IdentityFile /missing/key\n    IdentitiesOnly yes\n",
            folder.path().display()
        );
        let target = resolve_target("app", None, None, &options(&config)).unwrap();
        assert_eq!(target.destination.identities, [key]);
        assert!(target.destination.identities_only);
        let bad = "IdentityFile ~/.ssh/%Z\n";
        let error = resolve_target("app", None, None, &options(bad)).unwrap_err();
        assert!(
            error.contains("/test/config:1: `IdentityFile ~/.ssh/%Z`"),
            "{error}"
        );
    }
}
