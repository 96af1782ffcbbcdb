//! `~` and the `%` tokens OpenSSH expands in `IdentityFile` paths.

use std::path::PathBuf;

/// What the tokens of one hop stand for.
#[derive(Debug, Clone)]
pub struct TokenValues<'a> {
    /// `%d` and `~`: the local user's home folder.
    pub home: &'a str,
    /// `%h`: the host name dialled (after `HostName`).
    pub hostname: &'a str,
    /// `%n`: the name as given (the spec's address, or the jump host as written).
    pub original_host: &'a str,
    /// `%p`
    pub port: u16,
    /// `%r`: the user logging in on the host.
    pub remote_user: &'a str,
    /// `%u`: the user running cairn.
    pub local_user: &'a str,
}

/// `text` with a leading `~` and every token expanded; an unknown token is refused, as
/// OpenSSH refuses it.
pub fn expand_path(text: &str, values: &TokenValues<'_>) -> Result<PathBuf, String> {
    let text = match text.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{}{rest}", values.home),
        _ => text.to_string(),
    };
    let mut expanded = String::with_capacity(text.len());
    let mut characters = text.chars();
    while let Some(character) = characters.next() {
        if character != '%' {
            expanded.push(character);
            continue;
        }
        match characters.next() {
            Some('%') => expanded.push('%'),
            Some('d') => expanded.push_str(values.home),
            Some('h') => expanded.push_str(values.hostname),
            Some('n') => expanded.push_str(values.original_host),
            Some('p') => expanded.push_str(&values.port.to_string()),
            Some('r') => expanded.push_str(values.remote_user),
            Some('u') => expanded.push_str(values.local_user),
            Some('i') => expanded.push_str(&local_uid()),
            Some('l') => expanded.push_str(&local_hostname()),
            Some(other) => {
                return Err(format!(
                    "`%{other}` is not a token cairn expands (it knows %%, %d, %h, %i, %l, %n, %p, %r and %u)"
                ));
            }
            None => return Err("a `%` ends the path".to_string()),
        }
    }
    Ok(PathBuf::from(expanded))
}

/// The user running cairn, as `%u` and a jump host's default user: `$USER`, else
/// `$LOGNAME`, else `root`.
pub fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".to_string())
}

/// The local user's home folder: `$HOME`, else `/root`.
pub fn home_folder() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

fn local_uid() -> String {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|metadata| metadata.uid().to_string())
        .unwrap_or_default()
}

fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> TokenValues<'static> {
        TokenValues {
            home: "/home/ops",
            hostname: "10.0.0.5",
            original_host: "db-one",
            port: 2240,
            remote_user: "deploy",
            local_user: "ops",
        }
    }

    #[test]
    fn home_and_tokens_are_expanded() {
        assert_eq!(
            expand_path("~/.ssh/%r@%h-%p", &values()).unwrap(),
            PathBuf::from("/home/ops/.ssh/deploy@10.0.0.5-2240")
        );
        assert_eq!(
            expand_path("%d/keys/%n.%u.100%%", &values()).unwrap(),
            PathBuf::from("/home/ops/keys/db-one.ops.100%")
        );
        assert_eq!(
            expand_path("/keys/~", &values()).unwrap(),
            PathBuf::from("/keys/~"),
            "only a leading ~ is the home folder"
        );
    }

    #[test]
    fn an_unknown_token_is_refused() {
        let error = expand_path("~/.ssh/%C", &values()).unwrap_err();
        assert!(error.contains("`%C`"), "{error}");
        assert!(expand_path("key%", &values()).is_err());
    }
}
