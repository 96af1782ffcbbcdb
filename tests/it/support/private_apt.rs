//! This machine's apt with a configuration of its own, in a folder of the test's: the
//! sources file given (deb822, as host-base writes `cairn.sources`), its lists and caches
//! there, an empty dpkg status (so `install --simulate` installs everything a request
//! needs), amd64 whatever this machine is, and none of the machine's configuration read
//! (`APT_CONFIG` points the parts elsewhere): nothing of the machine's apt state changes.

use std::path::{Path, PathBuf};
use std::process::Command;

/// apt configured in `folder`, as the module note says.
pub(crate) struct PrivateApt {
    pub(crate) folder: PathBuf,
}

/// The deb822 source of an unsigned repository, as host-base writes one.
pub(crate) fn unsigned_source(uri: &str, suite: &str, components: &str) -> String {
    format!("Types: deb\nURIs: {uri}\nSuites: {suite}\nComponents: {components}\nTrusted: yes\n")
}

impl PrivateApt {
    /// apt in `folder`, reading `sources` (deb822) alone.
    pub(crate) fn new(folder: &Path, sources: &str) -> Self {
        for sub_folder in [
            "parts",
            "sources.d",
            "preferences.d",
            "state/lists/partial",
            "cache/archives/partial",
            "download",
        ] {
            std::fs::create_dir_all(folder.join(sub_folder)).expect("apt's folders");
        }
        std::fs::write(folder.join("sources.list"), "").expect("no one-line sources");
        std::fs::write(folder.join("sources.d/cairn.sources"), sources).expect("the source");
        let path = |relative: &str| folder.join(relative).display().to_string();
        std::fs::write(
            folder.join("apt.conf"),
            format!(
                "Dir::Etc::Main \"/dev/null\";\nDir::Etc::Parts \"{parts}\";\n\
                 Dir::Etc::SourceList \"{sources}\";\nDir::Etc::SourceParts \"{source_parts}\";\n\
                 Dir::Etc::PreferencesParts \"{preferences}\";\n\
                 Dir::State \"{state}\";\nDir::State::status \"/dev/null\";\n\
                 Dir::Cache \"{cache}\";\nDebug::NoLocking \"1\";\n\
                 APT::Architecture \"amd64\";\nAPT::Architectures {{ \"amd64\"; }};\n\
                 APT::Sandbox::User \"root\";\nAcquire::Languages \"none\";\n",
                parts = path("parts"),
                sources = path("sources.list"),
                source_parts = path("sources.d"),
                preferences = path("preferences.d"),
                state = path("state"),
                cache = path("cache"),
            ),
        )
        .expect("the apt configuration");
        Self {
            folder: folder.to_path_buf(),
        }
    }

    /// Where `apt-get download` puts what it downloads.
    pub(crate) fn downloads(&self) -> PathBuf {
        self.folder.join("download")
    }

    /// `apt-get ARGUMENTS` in the download folder: its output (stdout, then stderr), or
    /// that output as the error when apt-get fails.
    pub(crate) fn try_apt_get(&self, arguments: &[&str]) -> Result<String, String> {
        let output = Command::new("apt-get")
            .args(arguments)
            .current_dir(self.downloads())
            .env("APT_CONFIG", self.folder.join("apt.conf"))
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .expect("apt-get runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if output.status.success() {
            Ok(text)
        } else {
            Err(text)
        }
    }

    /// `apt-get ARGUMENTS` in the download folder: its output, which must be a success.
    pub(crate) fn apt_get(&self, arguments: &[&str]) -> String {
        self.try_apt_get(arguments)
            .unwrap_or_else(|text| panic!("apt-get {arguments:?} failed\n{text}"))
    }

    /// `apt-get update`, which must neither fail nor warn: an index missing, a checksum
    /// apt disagrees with, a `Release` field it finds wanting.
    pub(crate) fn update(&self) {
        let output = self.apt_get(&["--error-on=any", "update"]);
        assert!(
            !output
                .lines()
                .any(|line| line.starts_with(['W', 'E', 'N']) && line.chars().nth(1) == Some(':')),
            "apt-get update complained\n{output}"
        );
    }

    /// The (name, version) pairs `apt-get install --simulate REQUEST` would install.
    pub(crate) fn simulated_install(&self, request: &str) -> Vec<(String, String)> {
        let output = self.apt_get(&["install", "--simulate", "--no-install-recommends", request]);
        let mut installed: Vec<(String, String)> = output
            .lines()
            .filter_map(|line| {
                let mut words = line.strip_prefix("Inst ")?.split_whitespace();
                let name = words.next()?.to_string();
                let version = words.next()?.trim_start_matches('(').to_string();
                Some((name, version))
            })
            .collect();
        installed.sort();
        installed
    }
}
