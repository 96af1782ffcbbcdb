//! The part of OpenSSH's client configuration cairn follows, as `ssh` follows it, so hosts
//! are reached the way operators reach them with `ssh`:
//!
//! - `Host` blocks (patterns with `*`, `?` and `!` negation, matched against the name given,
//!   in lowercase), lines before the first `Host` applying to every host, `Match all`;
//!   `Include` (relative paths under `~/.ssh`, or `/etc/ssh` for the system file, `*` and
//!   `?` in the last part), inside a `Host` block only for the hosts it matches.
//! - `HostName` (with `%h`), `Port`, `User`, `ProxyJump` (a list of `[user@]host[:port]`,
//!   or `none`), `ConnectTimeout`, `ServerAliveInterval`, `ServerAliveCountMax`,
//!   `IdentitiesOnly` and `IdentityFile` (with `~` and `%` tokens, expanded in
//!   `ssh_route.rs`). The first value obtained for a host wins;
//!   identity files add up. `ProxyCommand` is read so that a host using one is refused
//!   rather than dialled directly.
//! - Other keywords are left to `ssh`. A `Match` with other criteria is refused, naming
//!   its line: cairn cannot evaluate it, and ignoring it could reach a host another way.
//!
//! Values are checked when the file is read, as `ssh` checks them, so a typo in a block
//! for another host is an error too.

mod config_error;
mod host_patterns;
mod jump_host;
mod resolved_host;
mod tokens;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use config_error::{ConfigLocation, SshConfigError};
pub use jump_host::JumpHost;
pub use resolved_host::{Located, ProxySetting, ResolvedHost};
pub use tokens::{TokenValues, expand_path, home_folder, local_user};

use host_patterns::HostPatterns;

/// What a time value of the configuration is, as an error says it.
const TIME_FORMAT: &str = "a time is seconds, or a number with s, m or h";

/// OpenSSH's limit of nested `Include`s.
const DEEPEST_INCLUDE: usize = 16;

/// An SSH client configuration, read and checked: its blocks in file order.
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    blocks: Vec<HostBlock>,
}

/// Settings that apply to the hosts every one of `conditions` matches: the block's own
/// `Host` line, and those of the blocks that included its file.
#[derive(Debug, Clone, Default)]
struct HostBlock {
    conditions: Vec<HostPatterns>,
    settings: Vec<Located<Setting>>,
}

/// A value cairn follows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Setting {
    HostName(String),
    Port(u16),
    User(String),
    Proxy(ProxySetting),
    ConnectTimeout(Duration),
    ServerAliveInterval(Duration),
    ServerAliveCountMax(u32),
    IdentitiesOnly(bool),
    IdentityFile(String),
}

impl SshConfig {
    /// What `ssh` reads without `-F`: `~/.ssh/config`, then `/etc/ssh/ssh_config`, those
    /// that exist.
    pub fn read_default() -> Result<Self, SshConfigError> {
        let mut config = Self::default();
        let user_folder = home_folder().join(".ssh");
        let user_file = user_folder.join("config");
        if user_file.is_file() {
            config.read_file(&user_file, &user_folder, &[], 0)?;
        }
        let system_file = Path::new("/etc/ssh/ssh_config");
        if system_file.is_file() {
            config.read_file(system_file, Path::new("/etc/ssh"), &[], 0)?;
        }
        Ok(config)
    }

    /// One file, as `ssh -F FILE` reads it (its relative `Include`s under `~/.ssh`).
    pub fn read(path: &Path) -> Result<Self, SshConfigError> {
        let mut config = Self::default();
        config.read_file(path, &home_folder().join(".ssh"), &[], 0)?;
        Ok(config)
    }

    /// The text of a file named `origin`.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, SshConfigError> {
        let mut config = Self::default();
        config.read_text(text, origin, &home_folder().join(".ssh"), &[], 0)?;
        Ok(config)
    }

    fn read_file(
        &mut self,
        path: &Path,
        include_folder: &Path,
        conditions: &[HostPatterns],
        depth: usize,
    ) -> Result<(), SshConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| SshConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.read_text(&text, path, include_folder, conditions, depth)
    }

    fn read_text(
        &mut self,
        text: &str,
        origin: &Path,
        include_folder: &Path,
        conditions: &[HostPatterns],
        depth: usize,
    ) -> Result<(), SshConfigError> {
        let mut current = HostBlock {
            conditions: conditions.to_vec(),
            settings: Vec::new(),
        };
        for (index, line) in text.lines().enumerate() {
            let location = ConfigLocation {
                file: origin.to_path_buf(),
                line: index + 1,
            };
            let Some((keyword, arguments)) = split_line(line, &location)? else {
                continue;
            };
            let block_conditions = |patterns: HostPatterns| {
                let mut all = conditions.to_vec();
                all.push(patterns);
                all
            };
            match keyword.to_ascii_lowercase().as_str() {
                "host" => {
                    let patterns = HostPatterns::parse(arguments.iter().map(String::as_str));
                    self.start_block(&mut current, block_conditions(patterns));
                }
                "match" => {
                    match_all(&arguments, &location)?;
                    self.start_block(&mut current, block_conditions(HostPatterns::any()));
                }
                "include" => {
                    let including = current.conditions.clone();
                    self.start_block(&mut current, including.clone());
                    for path in include_paths(&arguments, include_folder, &location)? {
                        if depth + 1 > DEEPEST_INCLUDE {
                            return Err(SshConfigError::IncludeDepth { location });
                        }
                        self.read_file(&path, include_folder, &including, depth + 1)?;
                    }
                    // What follows the `Include` is the including block's again, after
                    // the included lines (whose values come first).
                    self.start_block(&mut current, including);
                }
                _ => {
                    if let Some(setting) = parse_setting(&keyword, &arguments, &location)? {
                        current.settings.push(Located {
                            value: setting,
                            location,
                        });
                    }
                }
            }
        }
        self.blocks.push(current);
        Ok(())
    }

    /// Ends `current` and starts a block for `conditions` in its place.
    fn start_block(&mut self, current: &mut HostBlock, conditions: Vec<HostPatterns>) {
        let finished = std::mem::replace(
            current,
            HostBlock {
                conditions,
                settings: Vec::new(),
            },
        );
        if !finished.settings.is_empty() {
            self.blocks.push(finished);
        }
    }

    /// What the configuration says about `host`, the name given (an alias, an address).
    pub fn resolve(&self, host: &str) -> ResolvedHost {
        let mut resolved = ResolvedHost::default();
        let matching = self.blocks.iter().filter(|block| {
            block
                .conditions
                .iter()
                .all(|patterns| patterns.matches(host))
        });
        for setting in matching.flat_map(|block| &block.settings) {
            apply_setting(&mut resolved, setting, host);
        }
        resolved
    }
}

/// Takes `setting` into `resolved` unless an earlier line gave its keyword.
fn apply_setting(resolved: &mut ResolvedHost, setting: &Located<Setting>, host: &str) {
    match &setting.value {
        Setting::HostName(name) if resolved.hostname.is_none() => {
            resolved.hostname = Some(expand_hostname(name, host));
        }
        Setting::Port(port) if resolved.port.is_none() => resolved.port = Some(*port),
        Setting::User(user) if resolved.user.is_none() => resolved.user = Some(user.clone()),
        Setting::Proxy(proxy) if resolved.proxy.is_none() => {
            resolved.proxy = Some(Located {
                value: proxy.clone(),
                location: setting.location.clone(),
            });
        }
        Setting::ConnectTimeout(timeout) if resolved.connect_timeout.is_none() => {
            resolved.connect_timeout = Some(*timeout);
        }
        Setting::ServerAliveInterval(interval) if resolved.server_alive_interval.is_none() => {
            resolved.server_alive_interval = Some(*interval);
        }
        Setting::ServerAliveCountMax(count) if resolved.server_alive_count_max.is_none() => {
            resolved.server_alive_count_max = Some(*count);
        }
        Setting::IdentitiesOnly(only) if resolved.identities_only.is_none() => {
            resolved.identities_only = Some(*only);
        }
        Setting::IdentityFile(path) => resolved.identity_files.push(Located {
            value: path.clone(),
            location: setting.location.clone(),
        }),
        _ => {}
    }
}

/// `HostName`'s tokens: `%h` the name given, `%%` a percent sign.
fn expand_hostname(name: &str, host: &str) -> String {
    name.replace("%%", "\u{0}")
        .replace("%h", host)
        .replace('\u{0}', "%")
}

/// A `Match` cairn can follow: `all`, possibly with `canonical` or `final` (cairn does no
/// canonicalisation, so its one pass is the final one).
fn match_all(arguments: &[String], location: &ConfigLocation) -> Result<(), SshConfigError> {
    let words: Vec<String> = arguments
        .iter()
        .map(|word| word.to_ascii_lowercase())
        .collect();
    let only_all = words.iter().any(|word| word == "all")
        && words
            .iter()
            .all(|word| matches!(word.as_str(), "all" | "canonical" | "final"));
    if only_all {
        Ok(())
    } else {
        Err(SshConfigError::UnsupportedMatch {
            location: location.clone(),
            criteria: arguments.join(" "),
        })
    }
}

/// The files an `Include` names, in the order `ssh` reads them (each pattern's matches
/// sorted); a pattern matching nothing is no error.
fn include_paths(
    arguments: &[String],
    include_folder: &Path,
    location: &ConfigLocation,
) -> Result<Vec<PathBuf>, SshConfigError> {
    let mut paths = Vec::new();
    for argument in arguments {
        let expanded = match argument.strip_prefix("~/") {
            Some(rest) => home_folder().join(rest),
            None => PathBuf::from(argument),
        };
        let full = if expanded.is_absolute() {
            expanded
        } else {
            include_folder.join(expanded)
        };
        let folder = full.parent().unwrap_or(Path::new("/"));
        if folder.to_string_lossy().contains(['*', '?']) {
            return Err(SshConfigError::IncludePattern {
                location: location.clone(),
                path: argument.clone(),
            });
        }
        let name = full
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.contains(['*', '?']) {
            if full.is_file() {
                paths.push(full);
            }
            continue;
        }
        let mut matched: Vec<PathBuf> = std::fs::read_dir(folder)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| {
                let entry_name = entry.file_name().to_string_lossy().into_owned();
                // As glob(3): a leading dot is matched only by a leading dot.
                (!entry_name.starts_with('.') || name.starts_with('.'))
                    && host_patterns::glob(&name, &entry_name)
            })
            .map(|entry| entry.path())
            .filter(|path| path.is_file())
            .collect();
        matched.sort();
        paths.extend(matched);
    }
    Ok(paths)
}

/// A line's keyword and arguments; `None` for a blank line or a comment. Arguments are
/// split at whitespace, with `"` and `'` quoting and `\` escaping as `ssh` splits them; an
/// argument starting with `#` starts a comment.
fn split_line(
    line: &str,
    location: &ConfigLocation,
) -> Result<Option<(String, Vec<String>)>, SshConfigError> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let keyword_end = line
        .find(|character: char| character.is_whitespace() || character == '=')
        .unwrap_or(line.len());
    let keyword = line[..keyword_end].to_string();
    let rest = line[keyword_end..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    let arguments = split_arguments(rest).ok_or_else(|| SshConfigError::InvalidValue {
        location: location.clone(),
        keyword: keyword.clone(),
        value: rest.to_string(),
        problem: "a quote is not closed".to_string(),
    })?;
    Ok(Some((keyword, arguments)))
}

/// `None` when a quote is left open.
fn split_arguments(text: &str) -> Option<Vec<String>> {
    let mut arguments = Vec::new();
    let mut characters = text.chars().peekable();
    loop {
        while characters
            .next_if(|character| character.is_whitespace())
            .is_some()
        {}
        match characters.peek() {
            None | Some('#') => return Some(arguments),
            Some(_) => {}
        }
        let mut argument = String::new();
        let mut quote: Option<char> = None;
        while let Some(character) = characters.next() {
            match (quote, character) {
                (None, character) if character.is_whitespace() => break,
                (None, '"' | '\'') => quote = Some(character),
                (Some(open), character) if character == open => quote = None,
                (_, '\\') if matches!(characters.peek(), Some('\\' | '"' | '\'' | ' ')) => {
                    argument.extend(characters.next());
                }
                (_, character) => argument.push(character),
            }
        }
        if quote.is_some() {
            return None;
        }
        arguments.push(argument);
    }
}

/// The setting a line gives, when its keyword is one cairn follows.
fn parse_setting(
    keyword: &str,
    arguments: &[String],
    location: &ConfigLocation,
) -> Result<Option<Setting>, SshConfigError> {
    let invalid = |problem: String| SshConfigError::InvalidValue {
        location: location.clone(),
        keyword: keyword.to_string(),
        value: arguments.join(" "),
        problem,
    };
    let single = || match arguments {
        [value] => Ok(value.as_str()),
        [] => Err(invalid("a value is missing".to_string())),
        _ => Err(invalid("one value is expected".to_string())),
    };
    let setting = match keyword.to_ascii_lowercase().as_str() {
        "hostname" => Setting::HostName(single()?.to_string()),
        "user" => Setting::User(single()?.to_string()),
        "identityfile" => Setting::IdentityFile(single()?.to_string()),
        "port" => Setting::Port(
            single()?
                .parse::<u16>()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| invalid("a port is a number from 1 to 65535".to_string()))?,
        ),
        "connecttimeout" => Setting::ConnectTimeout(
            parse_time(single()?).ok_or_else(|| invalid(TIME_FORMAT.to_string()))?,
        ),
        "serveraliveinterval" => Setting::ServerAliveInterval(
            parse_time(single()?).ok_or_else(|| invalid(TIME_FORMAT.to_string()))?,
        ),
        "serveralivecountmax" => Setting::ServerAliveCountMax(
            single()?
                .parse::<u32>()
                .map_err(|_| invalid("a count is a whole number".to_string()))?,
        ),
        "identitiesonly" => {
            Setting::IdentitiesOnly(match single()?.to_ascii_lowercase().as_str() {
                "yes" | "true" => true,
                "no" | "false" => false,
                _ => return Err(invalid("the value is `yes` or `no`".to_string())),
            })
        }
        "proxyjump" => Setting::Proxy(parse_proxy_jump(single()?).map_err(invalid)?),
        "proxycommand" if arguments.is_empty() => {
            return Err(invalid("a value is missing".to_string()));
        }
        "proxycommand" if arguments.len() == 1 && arguments[0].eq_ignore_ascii_case("none") => {
            Setting::Proxy(ProxySetting::Direct)
        }
        "proxycommand" => Setting::Proxy(ProxySetting::Command(arguments.join(" "))),
        _ => return Ok(None),
    };
    Ok(Some(setting))
}

fn parse_proxy_jump(value: &str) -> Result<ProxySetting, String> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(ProxySetting::Direct);
    }
    let hosts = value
        .split(',')
        .map(str::parse::<JumpHost>)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ProxySetting::Jump(hosts))
}

/// OpenSSH's time format: seconds, or numbers each followed by `s`, `m`, `h`, `d` or `w`
/// (`1m30s`).
fn parse_time(text: &str) -> Option<Duration> {
    let mut seconds: u64 = 0;
    let mut number = String::new();
    for character in text.chars() {
        if character.is_ascii_digit() {
            number.push(character);
            continue;
        }
        let unit: u64 = match character.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        seconds = seconds.checked_add(number.parse::<u64>().ok()?.checked_mul(unit)?)?;
        number.clear();
    }
    if !number.is_empty() {
        seconds = seconds.checked_add(number.parse().ok()?)?;
    }
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests;
