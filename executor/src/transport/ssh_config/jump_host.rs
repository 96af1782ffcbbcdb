use std::fmt;
use std::str::FromStr;

/// One host of a `ProxyJump` list, as OpenSSH writes it: `[user@]host[:port]` or
/// `ssh://[user@]host[:port]`, an IPv6 address in brackets when it has a port. What it
/// leaves out (user, port) comes from the configuration's block for `host`, as for any host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpHost {
    pub user: Option<String>,
    /// An alias of the configuration, or an address.
    pub host: String,
    pub port: Option<u16>,
}

impl FromStr for JumpHost {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let rest = text.strip_prefix("ssh://").unwrap_or(text);
        let (user, host_and_port) = match rest.rsplit_once('@') {
            Some((user, host_and_port)) if !user.is_empty() => {
                (Some(user.to_string()), host_and_port)
            }
            Some(_) => return Err(format!("`{text}` has an empty user before `@`")),
            None => (None, rest),
        };
        let (host, port) = split_port(host_and_port)
            .ok_or_else(|| format!("`{text}` is not `[user@]host[:port]`"))?;
        if host.is_empty() || host.contains(|character: char| character.is_whitespace()) {
            return Err(format!("`{text}` names no host"));
        }
        let port = match port {
            None => None,
            Some(digits) => Some(
                digits
                    .parse::<u16>()
                    .ok()
                    .filter(|port| *port > 0)
                    .ok_or_else(|| format!("`{digits}` in `{text}` is not a port (1-65535)"))?,
            ),
        };
        Ok(Self {
            user,
            host: host.to_string(),
            port,
        })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; `None` when the brackets do not close.
fn split_port(text: &str) -> Option<(&str, Option<&str>)> {
    if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            port => Some((host, Some(port.strip_prefix(':')?))),
        };
    }
    match text.split_once(':') {
        // More than one colon: a bare IPv6 address, without a port.
        Some((_, port)) if port.contains(':') => Some((text, None)),
        Some((host, port)) => Some((host, Some(port))),
        None => Some((text, None)),
    }
}

impl fmt::Display for JumpHost {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(formatter, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(formatter, "[{}]", self.host)?;
        } else {
            formatter.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(formatter, ":{port}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jump(text: &str) -> JumpHost {
        text.parse().unwrap()
    }

    #[test]
    fn every_form_openssh_takes_is_read() {
        assert_eq!(
            jump("bastion"),
            JumpHost {
                user: None,
                host: "bastion".into(),
                port: None
            }
        );
        assert_eq!(
            jump("ops@bastion.example:2222"),
            JumpHost {
                user: Some("ops".into()),
                host: "bastion.example".into(),
                port: Some(2222)
            }
        );
        assert_eq!(jump("ssh://ops@10.0.0.1:22"), jump("ops@10.0.0.1:22"));
        assert_eq!(jump("[fd00::1]:2200").host, "fd00::1");
        assert_eq!(jump("[fd00::1]:2200").port, Some(2200));
        assert_eq!(jump("fd00::1").host, "fd00::1");
        assert_eq!(jump("fd00::1").port, None);
        assert_eq!(jump("a@b@bastion").user.as_deref(), Some("a@b"));
    }

    #[test]
    fn a_jump_host_prints_as_written() {
        for text in ["bastion", "ops@bastion:2222", "[fd00::1]:2200"] {
            assert_eq!(jump(text).to_string(), text);
        }
    }

    #[test]
    fn malformed_jump_hosts_are_refused_saying_why() {
        for (text, problem) in [
            ("bastion:0", "not a port"),
            ("bastion:http", "not a port"),
            ("@bastion", "empty user"),
            ("ops@", "names no host"),
            ("[fd00::1", "not `[user@]host[:port]`"),
        ] {
            let error = text.parse::<JumpHost>().unwrap_err();
            assert!(error.contains(problem), "{text}: {error}");
        }
    }
}
