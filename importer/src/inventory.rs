//! Ansible's INI inventory: `[group]` sections of host lines (`name key=value ...`, names
//! with ranges), `[group:children]` of group names, `[group:vars]` of `key=value` lines;
//! hosts before any section are ungrouped. `#` and `;` start comments.

use std::collections::BTreeMap;

use crate::host_range::expand;
use crate::import_error::ImportError;

/// A value and the line it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced {
    pub value: String,
    pub line: usize,
    /// The variables file it comes from (`group_vars/all.yml`); `None`: the file being
    /// read (the inventory, the config file).
    pub file: Option<String>,
}

impl Sourced {
    /// A value of the file being read, at `line`.
    pub fn at(value: String, line: usize) -> Self {
        Self {
            value,
            line,
            file: None,
        }
    }

    /// Where it is written, `FILE:LINE`: its variables file, else `read_from`.
    pub fn place(&self, read_from: &str) -> String {
        format!(
            "{}:{}",
            self.file.as_deref().unwrap_or(read_from),
            self.line
        )
    }
}

/// An inventory host: the line that first names it and its variables, the later line of a
/// variable winning.
#[derive(Debug, Clone, Default)]
pub struct InventoryHost {
    pub line: usize,
    pub vars: BTreeMap<String, Sourced>,
}

#[derive(Debug, Clone, Default)]
pub struct Group {
    /// The line of its first section.
    pub line: usize,
    /// Its own hosts, in inventory order.
    pub hosts: Vec<String>,
    pub children: Vec<Sourced>,
    pub vars: BTreeMap<String, Sourced>,
}

/// Variables by name.
pub type Variables = BTreeMap<String, Sourced>;

#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Hosts in the order the inventory first names them.
    pub host_order: Vec<String>,
    pub hosts: BTreeMap<String, InventoryHost>,
    pub groups: BTreeMap<String, Group>,
    /// The variables of `group_vars/<group>` beside the inventory, by group.
    pub group_files: BTreeMap<String, Variables>,
    /// The variables of `host_vars/<host>` beside the inventory, by host.
    pub host_files: BTreeMap<String, Variables>,
}

/// What the lines of a section are.
enum Section {
    Hosts(String),
    Children(String),
    Vars(String),
}

impl Inventory {
    pub fn parse(text: &str) -> Result<Inventory, ImportError> {
        let mut inventory = Inventory::default();
        let mut section = Section::Hosts("ungrouped".to_string());
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = strip_comment(raw).trim();
            if content.is_empty() {
                continue;
            }
            if let Some(header) = content.strip_prefix('[') {
                section = inventory.open_section(header, line)?;
                continue;
            }
            match &section {
                Section::Hosts(group) => inventory.add_host_line(group, content, line)?,
                Section::Children(group) => inventory
                    .group(group, line)
                    .children
                    .push(Sourced::at(content.to_string(), line)),
                Section::Vars(group) => {
                    let (key, value) = assignment(content, line)?;
                    inventory
                        .group(group, line)
                        .vars
                        .insert(key, Sourced::at(value, line));
                }
            }
        }
        inventory.refuse_cycles()?;
        Ok(inventory)
    }

    /// A group that is its own descendant through `[group:children]` (Ansible refuses it
    /// too): named at the line that closes the loop.
    fn refuse_cycles(&self) -> Result<(), ImportError> {
        let mut finished = std::collections::BTreeSet::new();
        for name in self.groups.keys() {
            let mut path = vec![name.as_str()];
            self.descend_without_loop(&mut path, &mut finished)?;
        }
        Ok(())
    }

    /// Depth first below the last group of `path`; `finished` holds the groups whose
    /// descendants hold no loop, each walked once.
    fn descend_without_loop<'a>(
        &'a self,
        path: &mut Vec<&'a str>,
        finished: &mut std::collections::BTreeSet<&'a str>,
    ) -> Result<(), ImportError> {
        let current = *path.last().expect("a path starts with a group");
        if finished.contains(current) {
            return Ok(());
        }
        for child in self
            .groups
            .get(current)
            .map_or(&[][..], |group| &group.children)
        {
            if path.contains(&child.value.as_str()) {
                return Err(ImportError::Inventory {
                    line: child.line,
                    reason: format!(
                        "group `{}` contains itself: {} > {}",
                        child.value,
                        path.join(" > "),
                        child.value
                    ),
                    hint: format!("remove `{}` from [{current}:children]", child.value),
                });
            }
            path.push(&child.value);
            self.descend_without_loop(path, finished)?;
            path.pop();
        }
        finished.insert(current);
        Ok(())
    }

    fn open_section(&mut self, header: &str, line: usize) -> Result<Section, ImportError> {
        let name = header
            .strip_suffix(']')
            .ok_or_else(|| ImportError::Inventory {
                line,
                reason: format!("`[{header}` has no closing `]`"),
                hint: "write a section as [group], [group:children] or [group:vars]".to_string(),
            })?;
        let section = match name.split_once(':') {
            None => Section::Hosts(name.to_string()),
            Some((group, "children")) => Section::Children(group.to_string()),
            Some((group, "vars")) => Section::Vars(group.to_string()),
            Some((_, other)) => {
                return Err(ImportError::Inventory {
                    line,
                    reason: format!("`[{name}]`: `{other}` is not a kind of section"),
                    hint: "write [group], [group:children] or [group:vars]".to_string(),
                });
            }
        };
        let (Section::Hosts(group) | Section::Children(group) | Section::Vars(group)) = &section;
        self.group(group, line);
        Ok(section)
    }

    fn group(&mut self, name: &str, line: usize) -> &mut Group {
        self.groups
            .entry(name.to_string())
            .or_insert_with(|| Group {
                line,
                ..Group::default()
            })
    }

    /// `name[01:03] key=value ...`: each host of the pattern, in `group`, with the variables.
    fn add_host_line(
        &mut self,
        group: &str,
        content: &str,
        line: usize,
    ) -> Result<(), ImportError> {
        let mut words = split_words(content).into_iter();
        let (pattern, port) = split_port(&words.next().unwrap_or_default());
        // `host:2222` is Ansible's `ansible_port=2222`; a variable on the line wins.
        let port = port.map(|port| ("ansible_port".to_string(), port));
        let vars: Vec<(String, String)> = port
            .into_iter()
            .map(Ok)
            .chain(words.map(|word| assignment(&word, line)))
            .collect::<Result<_, _>>()?;
        for name in expand(&pattern, line)? {
            if !self.hosts.contains_key(&name) {
                self.host_order.push(name.clone());
            }
            let host = self
                .hosts
                .entry(name.clone())
                .or_insert_with(|| InventoryHost {
                    line,
                    ..InventoryHost::default()
                });
            for (key, value) in &vars {
                host.vars
                    .insert(key.clone(), Sourced::at(value.clone(), line));
            }
            let members = &mut self.group(group, line).hosts;
            if !members.contains(&name) {
                members.push(name);
            }
        }
        Ok(())
    }

    /// The groups `host` is in, directly or through `[group:children]`, `all` and
    /// `ungrouped` (hosts named before any section) excluded; sorted.
    pub fn groups_of(&self, host: &str) -> Vec<&str> {
        let mut found: Vec<&str> = Vec::new();
        for (name, group) in &self.groups {
            if group.hosts.iter().any(|member| member == host) {
                self.add_with_parents(name, &mut found);
            }
        }
        found.retain(|group| *group != "all" && *group != "ungrouped");
        found.sort();
        found.dedup();
        found
    }

    fn add_with_parents<'a>(&'a self, group: &'a str, found: &mut Vec<&'a str>) {
        if found.contains(&group) {
            return;
        }
        found.push(group);
        for (parent, candidate) in &self.groups {
            if candidate.children.iter().any(|child| child.value == group) {
                self.add_with_parents(parent, found);
            }
        }
    }

    /// A host's variable as Ansible resolves it, highest first: its `host_vars` file, its
    /// inventory line, its groups' `group_vars` files, its groups' `[group:vars]` (among
    /// groups, a child's over its parent's, by depth, then by name; `all` last).
    pub fn variable(&self, host: &str, key: &str) -> Option<&Sourced> {
        if let Some(value) = in_file(&self.host_files, host, key) {
            return Some(value);
        }
        if let Some(value) = self.hosts.get(host).and_then(|host| host.vars.get(key)) {
            return Some(value);
        }
        let mut groups = self.groups_of(host);
        groups.sort_by_key(|group| std::cmp::Reverse(self.depth(group)));
        groups.push("all");
        groups
            .iter()
            .find_map(|group| in_file(&self.group_files, group, key))
            .or_else(|| {
                groups
                    .iter()
                    .find_map(|group| self.groups.get(*group)?.vars.get(key))
            })
    }

    /// How many parents above `group`.
    fn depth(&self, group: &str) -> usize {
        self.groups
            .iter()
            .filter(|(_, parent)| parent.children.iter().any(|child| child.value == group))
            .map(|(name, _)| 1 + self.depth(name))
            .max()
            .unwrap_or(0)
    }
}

/// The variable `key` of `owner`'s variables file.
fn in_file<'a>(
    files: &'a BTreeMap<String, Variables>,
    owner: &str,
    key: &str,
) -> Option<&'a Sourced> {
    files.get(owner)?.get(key)
}

/// `name:2222` as the name and its port; a name with colons of its own (an IPv6 address)
/// or a range's `[01:06]` keeps them.
fn split_port(pattern: &str) -> (String, Option<String>) {
    let outside_ranges: String = pattern
        .split('[')
        .map(|piece| piece.split_once(']').map_or(piece, |(_, after)| after))
        .collect();
    if outside_ranges.matches(':').count() == 1
        && let Some((name, port)) = pattern.rsplit_once(':')
        && !port.is_empty()
        && port.bytes().all(|byte| byte.is_ascii_digit())
    {
        return (name.to_string(), Some(port.to_string()));
    }
    (pattern.to_string(), None)
}

fn strip_comment(line: &str) -> &str {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') || trimmed.starts_with(';') {
        return "";
    }
    match line.find(" #") {
        Some(position) => &line[..position],
        None => line,
    }
}

/// Words separated by blanks; a quoted value (`key="a b"`) is one word, without its quotes.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for character in text.chars() {
        match (quote, character) {
            (Some(open), close) if open == close => quote = None,
            (None, '"' | '\'') => quote = Some(character),
            (None, blank) if blank.is_whitespace() => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            (_, other) => current.push(other),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn assignment(text: &str, line: usize) -> Result<(String, String), ImportError> {
    let words = split_words(text);
    let joined = words.join(" ");
    match joined.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(ImportError::Inventory {
            line,
            reason: format!("`{text}` is not `key=value`"),
            hint: "write a host's variables after its name, as `key=value`".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::Inventory;

    const INVENTORY: &str = "\
# the old installer's hosts
lb01 ansible_host=10.0.0.21 keepalived_priority=150

[haproxy]
lb01
lb02 ansible_host=10.0.0.22 keepalived_priority=100

[keepalived:children]
haproxy

[slave]
slave[01:03] ansible_user=deploy   # three agents

[all:vars]
ansible_user=root
ansible_port=22

[keepalived:vars]
ansible_port=2222
";

    #[test]
    fn a_host_written_with_its_port_gets_the_port_as_ansible_port() {
        let inventory = Inventory::parse(
            "[db]\ndb1.example.com:2222\nweb[01:02]:2200 ansible_port=22\nfd00::5\n",
        )
        .unwrap();
        let port = |host: &str| {
            inventory
                .variable(host, "ansible_port")
                .map(|port| port.value.clone())
        };
        assert_eq!(port("db1.example.com").as_deref(), Some("2222"));
        assert_eq!(
            port("web01").as_deref(),
            Some("22"),
            "the line's variable wins"
        );
        assert_eq!(port("web02").as_deref(), Some("22"));
        assert!(
            inventory.hosts.contains_key("fd00::5"),
            "an IPv6 address keeps its colons"
        );
        assert_eq!(port("fd00::5"), None);
    }

    #[test]
    fn a_group_that_contains_itself_is_refused_at_the_line_closing_the_loop() {
        let refused = Inventory::parse("[a]\nh1\n[a:children]\nb\n[b:children]\na\n")
            .unwrap_err()
            .to_string();
        assert!(refused.starts_with("inventory line 6:"), "{refused}");
        assert!(
            refused.contains("group `a` contains itself: a > b > a"),
            "{refused}"
        );
    }

    #[test]
    fn ranges_children_and_variables_resolve_as_ansible_resolves_them() {
        let inventory = Inventory::parse(INVENTORY).unwrap();
        assert_eq!(
            inventory.host_order,
            ["lb01", "lb02", "slave01", "slave02", "slave03"]
        );
        assert_eq!(inventory.groups_of("lb02"), ["haproxy", "keepalived"]);
        assert_eq!(inventory.groups_of("slave02"), ["slave"]);
        let variable = |host, key| {
            inventory
                .variable(host, key)
                .map(|found| found.value.as_str())
        };
        assert_eq!(variable("lb01", "ansible_host"), Some("10.0.0.21"));
        assert_eq!(variable("lb01", "keepalived_priority"), Some("150"));
        assert_eq!(variable("lb02", "ansible_port"), Some("2222"));
        assert_eq!(variable("slave03", "ansible_user"), Some("deploy"));
        assert_eq!(variable("lb01", "ansible_user"), Some("root"));
        assert_eq!(inventory.variable("slave01", "ansible_host"), None);
        assert_eq!(inventory.hosts["slave02"].line, 12);
    }

    #[test]
    fn a_section_of_another_kind_is_refused_with_its_line() {
        let error = Inventory::parse("[web:hosts]\nweb1\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("line 1") && error.contains("web:hosts"),
            "{error}"
        );
    }
}
