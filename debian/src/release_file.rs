//! A suite's `Release` file: the checksums of the indexes it publishes, which is what makes
//! an index fetched from a mirror the suite's own.
//!
//! A deb822 paragraph (read by `crate::deb822`), of which the `SHA256` field is what
//! matters: ` <sha256> <size> <path>` per line, paths relative to
//! the suite's folder (`main/binary-amd64/Packages.xz`). An `InRelease` file (the same
//! text, clear-signed) is read by dropping its OpenPGP armour. The signature is checked
//! before, by `crate::release_signature`, where the spec names a keyring (`[images]
//! keyring`); without one, the indexes are as trustworthy as the connection to the
//! repository (an `https://` source, or a mirror on the operators' network).

use std::collections::BTreeMap;

use crate::deb822::{Field, paragraphs};

/// A Release file's SHA256 list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReleaseFile {
    /// By path relative to the suite's folder.
    pub files: BTreeMap<String, ListedFile>,
    /// Whether apt reads the suite's `binary-all` indexes besides each architecture's: the
    /// `Architectures` field names `all` (or there is no such field), and the Release does
    /// not say `No-Support-for-Architecture-all: Packages` (each architecture's index lists
    /// the `all` packages too, as Debian's main archive says since bullseye).
    pub reads_binary_all: bool,
    /// `Acquire-By-Hash: yes`: each index is also at `by-hash/SHA256/<sha256>` beside it,
    /// which a mirror in the middle of an update serves consistently, as apt fetches it.
    pub acquire_by_hash: bool,
}

/// One line of the `SHA256` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    /// Lowercase hexadecimal.
    pub sha256: String,
    pub size: u64,
}

impl ReleaseFile {
    /// Reads a `Release` or `InRelease` file. `Err` says what is missing or malformed.
    pub fn parse(text: &str) -> Result<ReleaseFile, String> {
        let text = strip_signature(text);
        let mut release = ReleaseFile::default();
        let mut found = false;
        let mut all_in_architecture_indexes = false;
        let mut architectures: Option<Vec<String>> = None;
        for paragraph in paragraphs(&text) {
            let paragraph = paragraph.map_err(|error| error.to_string())?;
            for field in paragraph.fields() {
                if field.is("SHA256") {
                    found = true;
                    read_sha256_lines(field, &mut release.files)?;
                } else if field.is("No-Support-for-Architecture-all") {
                    all_in_architecture_indexes = field.value() == "Packages";
                } else if field.is("Architectures") {
                    architectures = Some(
                        field
                            .value()
                            .split_whitespace()
                            .map(str::to_string)
                            .collect(),
                    );
                } else if field.is("Acquire-By-Hash") {
                    release.acquire_by_hash = field.value().eq_ignore_ascii_case("yes");
                }
            }
        }
        if !found {
            return Err("it has no SHA256 field".to_string());
        }
        let lists_all = architectures.is_none_or(|names| names.iter().any(|name| name == "all"));
        release.reads_binary_all = lists_all && !all_in_architecture_indexes;
        Ok(release)
    }

    pub fn get(&self, path: &str) -> Option<&ListedFile> {
        self.files.get(path)
    }
}

/// The continuation lines of a `SHA256` field, ` <sha256> <size> <path>` each, into `files`.
fn read_sha256_lines(
    field: &Field<'_>,
    files: &mut BTreeMap<String, ListedFile>,
) -> Result<(), String> {
    for (number, line) in field.written_lines().skip(1) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [sha256, size, path] = words[..] else {
            if words.is_empty() {
                continue;
            }
            return Err(format!(
                "line {number}: expected ` <sha256> <size> <path>` in its SHA256 field"
            ));
        };
        let valid_sha256 =
            sha256.len() == 64 && sha256.bytes().all(|digit| digit.is_ascii_hexdigit());
        let Ok(size) = size.parse::<u64>() else {
            return Err(format!("line {number}: `{size}` is not a size"));
        };
        if !valid_sha256 {
            return Err(format!("line {number}: `{sha256}` is not a sha256"));
        }
        files.insert(
            path.to_string(),
            ListedFile {
                sha256: sha256.to_ascii_lowercase(),
                size,
            },
        );
    }
    Ok(())
}

/// The signed text of a clear-signed message, dash-escaping undone; other text as it is.
fn strip_signature(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.starts_with("-----BEGIN PGP SIGNED MESSAGE-----") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut lines = text.lines();
    // The armour headers (`Hash: SHA512`) end at the first empty line.
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
    }
    let mut out = String::with_capacity(text.len());
    for line in lines {
        if line.starts_with("-----BEGIN PGP SIGNATURE-----") {
            break;
        }
        out.push_str(line.strip_prefix("- ").unwrap_or(line));
        out.push('\n');
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE: &str = "\
Origin: Debian
Codename: bookworm
Architectures: all amd64 arm64
MD5Sum:
 f230d61720e789abf5df55d6026230c6 50060337 main/binary-amd64/Packages
SHA256:
 515e692f2c4121c6fcec444ef100cc18f79a991910615f3a88c8b7becfc94d2f 50060337 main/binary-amd64/Packages
 9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5  8790396 main/binary-amd64/Packages.xz
Acquire-By-Hash: yes
No-Support-for-Architecture-all: Packages
";

    #[test]
    fn the_sha256_field_lists_each_index_by_path() {
        let release = ReleaseFile::parse(RELEASE).unwrap();
        assert_eq!(release.files.len(), 2);
        assert!(!release.reads_binary_all);
        assert!(release.acquire_by_hash);
        let listed = release.get("main/binary-amd64/Packages.xz").unwrap();
        assert_eq!(listed.size, 8_790_396);
        assert!(listed.sha256.starts_with("9e0b5aab"));
    }

    #[test]
    fn an_inrelease_reads_as_its_signed_text() {
        let signed = format!(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{RELEASE}- -dash escaped: yes\n-----BEGIN PGP SIGNATURE-----\n\niQIz\n-----END PGP SIGNATURE-----\n"
        );
        assert_eq!(
            ReleaseFile::parse(&signed).unwrap(),
            ReleaseFile::parse(RELEASE).unwrap()
        );
    }

    #[test]
    fn binary_all_is_read_where_apt_reads_it() {
        let reads = |fields: &str| {
            ReleaseFile::parse(&format!("{fields}SHA256:\n"))
                .unwrap()
                .reads_binary_all
        };
        assert!(reads(""));
        assert!(reads("Architectures: all amd64\n"));
        // Debian's security archive: `all` not among its architectures.
        assert!(!reads("Architectures: amd64 arm64\n"));
        assert!(!reads(
            "Architectures: all amd64\nNo-Support-for-Architecture-all: Packages\n"
        ));
    }

    #[test]
    fn a_release_without_sha256_is_refused() {
        let error = ReleaseFile::parse("Origin: Debian\nMD5Sum:\n abc 1 main\n").unwrap_err();
        assert!(error.contains("no SHA256"), "{error}");
    }
}
