//! What an import makes of the inventory and config file, before it is written: the spec's
//! hosts and settings, the secret files, and what could not be mapped.

/// Something of the inputs the spec does not carry, or carries by a guess: said on stderr
/// and as a comment of the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `inventory.ini:12`, `config.cfg:3`.
    pub place: String,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct ImportedHost {
    pub name: String,
    /// The inventory's name of it, where the spec's differs (an address).
    pub inventory_name: Option<String>,
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub become_sudo: bool,
    /// The secret file of its sudo password.
    pub become_password: Option<String>,
    /// Its id, 1-255; none once every id is taken (more than 255 hosts).
    pub id: Option<u8>,
    pub roles: Vec<String>,
    /// `inventory.ini:4, groups haproxy, keepalived`.
    pub origin: String,
}

/// A value of the spec, already written as TOML.
#[derive(Debug, Clone)]
pub struct SpecEntry {
    pub key: String,
    pub toml: String,
    /// Where it comes from, or why it is what it is.
    pub comment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SpecSection {
    pub name: String,
    pub entries: Vec<SpecEntry>,
}

/// A secret the import writes into a file beside the spec (mode 0600), which the spec
/// references as `{ file = "PATH" }`.
#[derive(Debug, Clone)]
pub struct SecretFile {
    /// Relative to the spec's folder.
    pub path: String,
    pub content: String,
    /// `config.cfg:7 MYSQL_ROOT_PASSWORD`, or `generated`.
    pub origin: String,
}

#[derive(Debug, Clone, Default)]
pub struct ImportedCluster {
    pub name: String,
    pub domain: String,
    pub hosts: Vec<ImportedHost>,
    pub sections: Vec<SpecSection>,
    /// Modules left out, with why.
    pub excluded_modules: Vec<(String, String)>,
    pub secrets: Vec<SecretFile>,
    pub findings: Vec<Finding>,
    /// The names of the inputs, for the spec's header.
    pub sources: Vec<String>,
}

impl ImportedCluster {
    pub fn section(&mut self, name: &str) -> &mut SpecSection {
        if let Some(position) = self
            .sections
            .iter()
            .position(|section| section.name == name)
        {
            return &mut self.sections[position];
        }
        self.sections.push(SpecSection {
            name: name.to_string(),
            entries: Vec::new(),
        });
        self.sections.last_mut().expect("just pushed")
    }

    pub fn set(&mut self, section: &str, key: &str, toml: String, comment: Option<String>) {
        self.section(section).entries.push(SpecEntry {
            key: key.to_string(),
            toml,
            comment,
        });
    }

    pub fn find(&mut self, place: impl Into<String>, message: impl Into<String>) {
        self.findings.push(Finding {
            place: place.into(),
            message: message.into(),
        });
    }

    /// The host of the spec an inventory name or an address stands for.
    pub fn host_named(&self, name_or_address: &str) -> Option<&ImportedHost> {
        self.hosts.iter().find(|host| {
            host.name == name_or_address
                || host.address == name_or_address
                || host.inventory_name.as_deref() == Some(name_or_address)
        })
    }

    pub fn hosts_with_role(&self, role: &str) -> Vec<&ImportedHost> {
        self.hosts
            .iter()
            .filter(|host| host.roles.iter().any(|candidate| candidate == role))
            .collect()
    }

    /// Records a secret's file and returns its reference, `{ file = "secrets/NAME" }`.
    pub fn secret(&mut self, name: &str, content: String, origin: String) -> String {
        let path = format!("secrets/{name}");
        self.secrets.push(SecretFile {
            path: path.clone(),
            content,
            origin,
        });
        format!("{{ file = {} }}", toml_string(&path))
    }
}

/// A TOML basic string.
pub fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            control if control.is_control() => {
                out.push_str(&format!("\\u{:04X}", u32::from(control)))
            }
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// A TOML array of strings.
pub fn toml_strings(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|item| toml_string(item)).collect();
    format!("[{}]", items.join(", "))
}
