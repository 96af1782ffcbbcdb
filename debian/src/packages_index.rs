//! A Debian repository's `Packages` indexes, read into the fields resolution needs.
//!
//! A Packages file is deb822 (read by `crate::deb822`): stanzas separated by blank lines,
//! each a list of `Field: value` lines, where a line starting with a space or a tab
//! continues the field before it. Field names are case-insensitive. Of each stanza this
//! keeps `Package`, `Version`, `Architecture`, `Pre-Depends`, `Depends`, `Conflicts`,
//! `Breaks`, `Provides`, `Filename`, `Size`, `SHA256`, `Multi-Arch`, `Essential`, `Important` (and its newer
//! name `Protected`) and `Priority`; every other field is skipped. `Package`, `Version`,
//! `Architecture`, `Filename`, `Size` and `SHA256` are required, so that every package can
//! be pinned by URL, size and checksum.
//!
//! [`PackagesIndex::read_file`] reads plain, gzip (`.gz`) and xz (`.xz`) files, told apart
//! by their first bytes; the `Packages.lz4` files apt keeps in `/var/lib/apt/lists` are
//! refused with a hint (`/usr/lib/apt/apt-helper cat-file` prints them decompressed).
//!
//! Several files make one index (a suite's `main`, its updates, its security updates),
//! each with the repository URL its `Filename` fields are relative to. The same package,
//! version and architecture in two files is kept once, from the file added first.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::deb822::{Paragraph, paragraphs};
use crate::relation::{Dependency, Relation, parse_provides, parse_relations};
use crate::version::Version;

/// The packages of one or more Packages files.
#[derive(Debug, Clone, Default)]
pub struct PackagesIndex {
    sources: Vec<IndexSource>,
    packages: Vec<IndexedPackage>,
    /// Positions in `packages` by name, in the order they were added.
    by_name: BTreeMap<String, Vec<usize>>,
}

/// Where a Packages file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSource {
    /// What messages call it: its path or URL.
    pub name: String,
    /// The repository's root URL, which its stanzas' `Filename` fields are relative to
    /// (`http://deb.debian.org/debian`).
    pub repository_url: String,
}

/// One stanza of a Packages file: one version of one package.
#[derive(Debug, Clone)]
pub struct IndexedPackage {
    pub name: String,
    pub version: Version,
    /// The `Architecture` field: an architecture name or `all`.
    pub architecture: String,
    pub pre_depends: Vec<Relation>,
    pub depends: Vec<Relation>,
    pub conflicts: Vec<Relation>,
    pub breaks: Vec<Relation>,
    pub provides: Vec<Dependency>,
    /// The `.deb`'s path relative to the repository's root (`pool/main/h/haproxy/…`).
    pub filename: String,
    pub size: u64,
    /// Lowercase hexadecimal, 64 digits.
    pub sha256: String,
    pub multi_arch: MultiArch,
    pub essential: bool,
    /// `Important: yes` or `Protected: yes`.
    pub important: bool,
    pub priority: Option<Priority>,
    /// Position in [`PackagesIndex::sources`] of the file it came from.
    pub source: usize,
    /// The line its stanza starts on in that file.
    pub line: usize,
}

/// The `Multi-Arch` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MultiArch {
    No,
    Same,
    Foreign,
    Allowed,
}

/// The `Priority` field, most important first. A word apt does not know reads as
/// `Extra`, as apt reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Required,
    Important,
    Standard,
    Optional,
    Extra,
}

/// Why a Packages file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot decompress {path} ({format}): {source}")]
    Decompress {
        path: PathBuf,
        format: &'static str,
        source: std::io::Error,
    },
    #[error("{path} is {format}-compressed, which cairn does not read\nhint: {hint}")]
    UnsupportedCompression {
        path: PathBuf,
        format: &'static str,
        hint: &'static str,
    },
    /// A stanza or field that is not as deb822 and Debian policy write it.
    #[error("{origin}:{line}: {message}")]
    Syntax {
        origin: String,
        line: usize,
        message: String,
    },
}

impl PackagesIndex {
    pub fn new() -> PackagesIndex {
        PackagesIndex::default()
    }

    /// An index of one Packages file's text.
    pub fn parse(source: IndexSource, text: &str) -> Result<PackagesIndex, IndexError> {
        let mut index = PackagesIndex::new();
        index.add_text(source, text)?;
        Ok(index)
    }

    /// Adds the stanzas of one Packages file's text. Nothing is added if any is malformed.
    pub fn add_text(&mut self, source: IndexSource, text: &str) -> Result<(), IndexError> {
        let source_position = self.sources.len();
        let parsed = parse_stanzas(&source.name, text, source_position)?;
        self.sources.push(source);
        for package in parsed {
            let positions = self.by_name.entry(package.name.clone()).or_default();
            let duplicate = positions.iter().any(|&position| {
                let known = &self.packages[position];
                known.version == package.version && known.architecture == package.architecture
            });
            if !duplicate {
                positions.push(self.packages.len());
                self.packages.push(package);
            }
        }
        Ok(())
    }

    /// Adds a Packages file from disk: plain text, gzip or xz, told apart by its first
    /// bytes. `repository_url` is the root its `Filename` fields are relative to.
    pub fn read_file(&mut self, path: &Path, repository_url: &str) -> Result<(), IndexError> {
        let bytes = std::fs::read(path).map_err(|source| IndexError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = decompress(path, &bytes)?;
        self.add_text(
            IndexSource {
                name: path.display().to_string(),
                repository_url: repository_url.to_string(),
            },
            &String::from_utf8_lossy(&text),
        )
    }

    /// Adds a Packages file's bytes, fetched from `source.name`: plain text, gzip or xz,
    /// told apart by their first bytes.
    pub fn add_bytes(&mut self, source: IndexSource, bytes: &[u8]) -> Result<(), IndexError> {
        let text = decompress(Path::new(&source.name), bytes)?;
        match std::str::from_utf8(&text) {
            Ok(text) => self.add_text(source, text),
            Err(_) => self.add_text(source, &String::from_utf8_lossy(&text)),
        }
    }

    pub fn sources(&self) -> &[IndexSource] {
        &self.sources
    }

    /// Every package, in the order the files and their stanzas were added.
    pub fn packages(&self) -> &[IndexedPackage] {
        &self.packages
    }

    /// The versions of `name`, of any architecture, in the order they were added.
    pub fn versions_of<'index>(
        &'index self,
        name: &str,
    ) -> impl Iterator<Item = &'index IndexedPackage> + 'index {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .map(|&position| &self.packages[position])
    }

    /// Every package name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.packages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// The URL `package` is downloaded from: its repository's URL joined with its
    /// `Filename`.
    pub fn url_of(&self, package: &IndexedPackage) -> String {
        let repository = &self.sources[package.source].repository_url;
        format!(
            "{}/{}",
            repository.trim_end_matches('/'),
            package.filename.trim_start_matches('/')
        )
    }
}

/// The bytes of a Packages file, decompressed by what its first bytes say it is.
fn decompress<'bytes>(path: &Path, bytes: &'bytes [u8]) -> Result<Cow<'bytes, [u8]>, IndexError> {
    let decompressed = |format, result: std::io::Result<Vec<u8>>| {
        result
            .map(Cow::Owned)
            .map_err(|source| IndexError::Decompress {
                path: path.to_path_buf(),
                format,
                source,
            })
    };
    let unsupported = |format| IndexError::UnsupportedCompression {
        path: path.to_path_buf(),
        format,
        hint: "decompress it first (apt's lists: `/usr/lib/apt/apt-helper cat-file FILE`), \
               or use the repository's Packages.xz or Packages.gz",
    };
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = Vec::new();
        let result = flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut text)
            .map(|_| text);
        decompressed("gzip", result)
    } else if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        let mut text = Vec::new();
        let result = liblzma::read::XzDecoder::new_multi_decoder(bytes)
            .read_to_end(&mut text)
            .map(|_| text);
        decompressed("xz", result)
    } else if bytes.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        Err(unsupported("lz4"))
    } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Err(unsupported("zstd"))
    } else if bytes.starts_with(b"BZh") {
        Err(unsupported("bzip2"))
    } else {
        Ok(Cow::Borrowed(bytes))
    }
}

/// The fields a stanza keeps, by position in `FIELDS`.
const FIELDS: [&str; 16] = [
    "Package",
    "Version",
    "Architecture",
    "Pre-Depends",
    "Depends",
    "Provides",
    "Filename",
    "Size",
    "SHA256",
    "Multi-Arch",
    "Essential",
    "Important",
    "Protected",
    "Priority",
    "Conflicts",
    "Breaks",
];
const PACKAGE: usize = 0;
const VERSION: usize = 1;
const ARCHITECTURE: usize = 2;
const PRE_DEPENDS: usize = 3;
const DEPENDS: usize = 4;
const PROVIDES: usize = 5;
const FILENAME: usize = 6;
const SIZE: usize = 7;
const SHA256: usize = 8;
const MULTI_ARCH: usize = 9;
const ESSENTIAL: usize = 10;
const IMPORTANT: usize = 11;
const PROTECTED: usize = 12;
const PRIORITY: usize = 13;
const CONFLICTS: usize = 14;
const BREAKS: usize = 15;

/// The kept fields of one stanza: each value with the line it starts on.
type KeptFields<'text> = [Option<(usize, Cow<'text, str>)>; FIELDS.len()];

fn parse_stanzas(
    origin: &str,
    text: &str,
    source: usize,
) -> Result<Vec<IndexedPackage>, IndexError> {
    paragraphs(text)
        .map(|paragraph| {
            let paragraph = paragraph.map_err(|error| IndexError::Syntax {
                origin: origin.to_string(),
                line: error.line,
                message: error.kind.to_string(),
            })?;
            finish_stanza(origin, &paragraph, source)
        })
        .collect()
}

/// The fields of `paragraph` this index keeps; one of them twice is an error.
fn kept_fields<'text>(
    origin: &str,
    paragraph: &Paragraph<'text>,
) -> Result<KeptFields<'text>, IndexError> {
    let mut fields: KeptFields<'text> = Default::default();
    for field in paragraph.fields() {
        let Some(position) = FIELDS.iter().position(|name| field.is(name)) else {
            continue;
        };
        if fields[position].is_some() {
            return Err(IndexError::Syntax {
                origin: origin.to_string(),
                line: field.line,
                message: format!("field `{}` appears twice in one stanza", FIELDS[position]),
            });
        }
        fields[position] = Some((field.line, field.value()));
    }
    Ok(fields)
}

/// The package one stanza describes: its required fields checked and parsed, then its
/// relations, then its flags, each error at the line of the field it is about.
fn finish_stanza(
    origin: &str,
    paragraph: &Paragraph<'_>,
    source: usize,
) -> Result<IndexedPackage, IndexError> {
    let mut stanza = Stanza::read(origin, paragraph)?;
    let version = stanza.version()?;
    let (_, architecture) = stanza.required(ARCHITECTURE)?;
    let (_, filename) = stanza.required(FILENAME)?;
    let size = stanza.size()?;
    let sha256 = stanza.sha256()?;
    let pre_depends = stanza.relations(PRE_DEPENDS)?;
    let depends = stanza.relations(DEPENDS)?;
    let conflicts = stanza.relations(CONFLICTS)?;
    let breaks = stanza.relations(BREAKS)?;
    let provides = stanza.provides()?;
    let multi_arch = stanza.multi_arch()?;
    let essential = stanza.flag(ESSENTIAL)?;
    let important = stanza.flag(IMPORTANT)? | stanza.flag(PROTECTED)?;
    let priority = stanza.priority();
    Ok(IndexedPackage {
        name: stanza.name,
        version,
        architecture: architecture.into_owned(),
        pre_depends,
        depends,
        conflicts,
        breaks,
        provides,
        filename: filename.into_owned(),
        size,
        sha256,
        multi_arch,
        essential,
        important,
        priority,
        source,
        line: stanza.line,
    })
}

/// One stanza's kept fields while they are parsed, each taken once, with what an error
/// about them names: the file, the stanza's line and its package.
struct Stanza<'origin, 'text> {
    origin: &'origin str,
    /// The line the stanza starts on.
    line: usize,
    /// Its `Package` field.
    name: String,
    fields: KeptFields<'text>,
}

impl<'origin, 'text> Stanza<'origin, 'text> {
    /// The kept fields of `paragraph`; a stanza without a `Package` field is refused
    /// first, since every later error names the package.
    fn read(
        origin: &'origin str,
        paragraph: &Paragraph<'text>,
    ) -> Result<Stanza<'origin, 'text>, IndexError> {
        let line = paragraph.line;
        let mut fields = kept_fields(origin, paragraph)?;
        let Some((_, name)) = fields[PACKAGE].take() else {
            return Err(IndexError::Syntax {
                origin: origin.to_string(),
                line,
                message: "a stanza without a `Package` field".to_string(),
            });
        };
        Ok(Stanza {
            origin,
            line,
            name: name.into_owned(),
            fields,
        })
    }

    /// The error for the value of `field`, on `field_line`, that is not as Debian writes
    /// it.
    fn field_error(&self, field_line: usize, field: usize, message: String) -> IndexError {
        IndexError::Syntax {
            origin: self.origin.to_string(),
            line: field_line,
            message: format!(
                "package `{}`: field `{}`: {message}",
                self.name, FIELDS[field]
            ),
        }
    }

    /// The value of a required `field` with its line; its absence is an error at the
    /// stanza's line.
    fn required(&mut self, field: usize) -> Result<(usize, Cow<'text, str>), IndexError> {
        self.fields[field].take().ok_or_else(|| IndexError::Syntax {
            origin: self.origin.to_string(),
            line: self.line,
            message: format!("package `{}` has no `{}` field", self.name, FIELDS[field]),
        })
    }

    /// The required `Version`, parsed.
    fn version(&mut self) -> Result<Version, IndexError> {
        let (version_line, version) = self.required(VERSION)?;
        Version::parse(&version)
            .map_err(|error| self.field_error(version_line, VERSION, error.to_string()))
    }

    /// The required `Size`, in bytes.
    fn size(&mut self) -> Result<u64, IndexError> {
        let (size_line, size) = self.required(SIZE)?;
        size.parse::<u64>().map_err(|_| {
            self.field_error(size_line, SIZE, format!("`{size}` is not a size in bytes"))
        })
    }

    /// The required `SHA256`: 64 hexadecimal digits, given back in lowercase.
    fn sha256(&mut self) -> Result<String, IndexError> {
        let (sha256_line, sha256) = self.required(SHA256)?;
        if sha256.len() != 64 || !sha256.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(self.field_error(
                sha256_line,
                SHA256,
                format!("`{sha256}` is not 64 hexadecimal digits"),
            ));
        }
        Ok(sha256.to_ascii_lowercase())
    }

    /// A relation field (`Depends` and its kin), parsed; none when absent.
    fn relations(&mut self, field: usize) -> Result<Vec<Relation>, IndexError> {
        match self.fields[field].take() {
            Some((field_line, value)) => parse_relations(&value)
                .map_err(|error| self.field_error(field_line, field, error.to_string())),
            None => Ok(Vec::new()),
        }
    }

    /// `Provides`, parsed; none when absent.
    fn provides(&mut self) -> Result<Vec<Dependency>, IndexError> {
        match self.fields[PROVIDES].take() {
            Some((field_line, value)) => parse_provides(&value)
                .map_err(|error| self.field_error(field_line, PROVIDES, error.to_string())),
            None => Ok(Vec::new()),
        }
    }

    /// `Multi-Arch`, in any case; `no` when absent.
    fn multi_arch(&mut self) -> Result<MultiArch, IndexError> {
        let Some((field_line, value)) = self.fields[MULTI_ARCH].take() else {
            return Ok(MultiArch::No);
        };
        match value.to_ascii_lowercase().as_str() {
            "no" => Ok(MultiArch::No),
            "same" => Ok(MultiArch::Same),
            "foreign" => Ok(MultiArch::Foreign),
            "allowed" => Ok(MultiArch::Allowed),
            _ => Err(self.field_error(
                field_line,
                MULTI_ARCH,
                format!("`{value}` is not one of no, same, foreign, allowed"),
            )),
        }
    }

    /// A yes-or-no field (`Essential`, `Important`, `Protected`), in any case; no when
    /// absent.
    fn flag(&mut self, field: usize) -> Result<bool, IndexError> {
        let Some((field_line, value)) = self.fields[field].take() else {
            return Ok(false);
        };
        match value.to_ascii_lowercase().as_str() {
            "yes" => Ok(true),
            "no" => Ok(false),
            _ => Err(self.field_error(
                field_line,
                field,
                format!("`{value}` is neither yes nor no"),
            )),
        }
    }

    /// `Priority`, as apt reads it: a word it does not know is `extra`.
    fn priority(&mut self) -> Option<Priority> {
        self.fields[PRIORITY]
            .take()
            .map(|(_, value)| match value.to_ascii_lowercase().as_str() {
                "required" => Priority::Required,
                "important" => Priority::Important,
                "standard" => Priority::Standard,
                "optional" => Priority::Optional,
                _ => Priority::Extra,
            })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const SHA: &str = "0d5f444f594e48c1e16a41d8fc628a09b24c658916a1274025c2330f2a802bed";

    fn source(name: &str) -> IndexSource {
        IndexSource {
            name: name.to_string(),
            repository_url: "http://deb.example/debian/".to_string(),
        }
    }

    fn stanza(name: &str, version: &str, extra: &str) -> String {
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: amd64\n{extra}\
             Filename: pool/main/{name}_{version}_amd64.deb\nSize: 1234\nSHA256: {SHA}\n"
        )
    }

    #[test]
    fn stanzas_keep_the_fields_resolution_needs() {
        let text = format!(
            "Package: ca-certificates\n\
             Version: 20230311+deb12u1\n\
             Installed-Size: 387\n\
             Architecture: all\n\
             Depends: openssl (>= 1.1.1), debconf (>= 0.5) | debconf-2.0\n\
             Pre-Depends: dpkg (>= 1.17)\n\
             Conflicts: ca-certificates-old\n\
             Breaks: ca-certificates-java (<< 20121112+nmu1)\n\
             Provides: certificates (= 1)\n\
             Description: Common CA certificates\n \
             This package includes PEM files of CA certificates.\n \
             .\n \
             Please note that Debian can neither confirm nor deny ...\n\
             Multi-Arch: foreign\n\
             Essential: yes\n\
             Protected: yes\n\
             Priority: standard\n\
             Filename: pool/main/c/ca-certificates/ca-certificates_20230311+deb12u1_all.deb\n\
             Size: 155260\n\
             SHA256: {}\n",
            SHA.to_uppercase()
        );
        let index = PackagesIndex::parse(source("Packages"), &text).unwrap();
        let package = &index.packages()[0];
        assert_eq!(package.name, "ca-certificates");
        assert_eq!(package.version.as_str(), "20230311+deb12u1");
        assert_eq!(package.architecture, "all");
        assert_eq!(package.depends.len(), 2);
        assert_eq!(package.pre_depends[0].to_string(), "dpkg (>= 1.17)");
        assert_eq!(package.conflicts[0].to_string(), "ca-certificates-old");
        assert_eq!(
            package.breaks[0].to_string(),
            "ca-certificates-java (<< 20121112+nmu1)"
        );
        assert_eq!(package.provides[0].to_string(), "certificates (= 1)");
        assert_eq!(package.multi_arch, MultiArch::Foreign);
        assert!(package.essential && package.important);
        assert_eq!(package.priority, Some(Priority::Standard));
        assert_eq!(package.size, 155260);
        assert_eq!(package.sha256, SHA);
        assert_eq!(package.line, 1);
        assert_eq!(
            index.url_of(package),
            "http://deb.example/debian/pool/main/c/ca-certificates/\
             ca-certificates_20230311+deb12u1_all.deb"
        );
    }

    #[test]
    fn continuation_lines_extend_a_kept_field_and_field_names_ignore_case() {
        let text = stanza("a", "1", "depends: b,\n c (>= 2),\n\td\n");
        let index = PackagesIndex::parse(source("Packages"), &text).unwrap();
        let written: Vec<String> = index.packages()[0]
            .depends
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(written, ["b", "c (>= 2)", "d"]);
    }

    #[test]
    fn stanzas_are_separated_by_blank_or_whitespace_lines_and_counted_by_line() {
        let text = format!(
            "\n\n{}\n{} \t\n{}",
            stanza("a", "1", ""),
            stanza("b", "1", ""),
            stanza("c", "1", "")
        );
        let index = PackagesIndex::parse(source("Packages"), &text).unwrap();
        let lines: Vec<(&str, usize)> = index
            .packages()
            .iter()
            .map(|package| (package.name.as_str(), package.line))
            .collect();
        assert_eq!(lines, [("a", 3), ("b", 10), ("c", 17)]);
    }

    #[test]
    fn files_merge_and_a_repeated_version_is_kept_once_from_the_first_file() {
        let mut index = PackagesIndex::new();
        index
            .add_text(
                source("main"),
                &(stanza("a", "1", "") + "\n" + &stanza("b", "1", "")),
            )
            .unwrap();
        index
            .add_text(
                source("updates"),
                &(stanza("a", "2", "") + "\n" + &stanza("b", "1", "")),
            )
            .unwrap();
        let versions: Vec<(&str, usize)> = index
            .versions_of("a")
            .chain(index.versions_of("b"))
            .map(|package| (package.version.as_str(), package.source))
            .collect();
        assert_eq!(versions, [("1", 0), ("2", 1), ("1", 0)]);
        assert_eq!(index.len(), 3);
        assert_eq!(index.names().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(index.versions_of("c").count(), 0);
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_field() {
        for (text, message) in [
            (
                "Package: a\nVersion: 1\n".to_string(),
                "Packages:1: package `a` has no `Architecture` field",
            ),
            (
                "Version: 1\n".to_string(),
                "Packages:1: a stanza without a `Package` field",
            ),
            (
                stanza("a", "1", "") + "\n" + &stanza("b", "1", "Depends: c (>= 1\n"),
                "Packages:11: package `b`: field `Depends`: invalid relation `c (>= 1`: \
                 `(` without `)`",
            ),
            (
                stanza("a", "1:", ""),
                "Packages:2: package `a`: field `Version`: invalid version `1:`: \
                 the upstream version is empty",
            ),
            (
                stanza("a", "1", "Multi-Arch: sometimes\n"),
                "Packages:4: package `a`: field `Multi-Arch`: `sometimes` is not one of \
                 no, same, foreign, allowed",
            ),
            (
                stanza("a", "1", "Essential: maybe\n"),
                "Packages:4: package `a`: field `Essential`: `maybe` is neither yes nor no",
            ),
            (
                stanza("a", "1", "").replace("Size: 1234", "Size: big"),
                "Packages:5: package `a`: field `Size`: `big` is not a size in bytes",
            ),
            (
                stanza("a", "1", "").replace(SHA, "abc"),
                "Packages:6: package `a`: field `SHA256`: `abc` is not 64 hexadecimal digits",
            ),
            (
                stanza("a", "1", "Version: 2\n"),
                "Packages:4: field `Version` appears twice in one stanza",
            ),
            (
                " continued\n".to_string(),
                "Packages:1: a continuation line with no field before it",
            ),
            (
                "Package a\n".to_string(),
                "Packages:1: expected `Field: value`, found `Package a`",
            ),
        ] {
            let error = PackagesIndex::parse(source("Packages"), &text).unwrap_err();
            assert_eq!(error.to_string(), message, "{text}");
        }
    }

    #[test]
    fn gzip_and_xz_files_are_read_and_lz4_is_refused_with_a_hint() {
        let folder = tempfile::tempdir().unwrap();
        let text = stanza("a", "1", "") + "\n" + &stanza("b", "2", "");

        let gzip_path = folder.path().join("Packages.gz");
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(text.as_bytes()).unwrap();
        std::fs::write(&gzip_path, gzip.finish().unwrap()).unwrap();

        let xz_path = folder.path().join("Packages.xz");
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(text.as_bytes()).unwrap();
        std::fs::write(&xz_path, xz.finish().unwrap()).unwrap();

        let plain_path = folder.path().join("Packages");
        std::fs::write(&plain_path, &text).unwrap();

        for path in [&gzip_path, &xz_path, &plain_path] {
            let mut index = PackagesIndex::new();
            index.read_file(path, "http://deb.example/debian").unwrap();
            assert_eq!(index.len(), 2, "{}", path.display());
            assert_eq!(index.sources()[0].name, path.display().to_string());
        }

        let lz4_path = folder.path().join("Packages.lz4");
        std::fs::write(&lz4_path, [0x04, 0x22, 0x4d, 0x18, 0, 0]).unwrap();
        let error = PackagesIndex::new()
            .read_file(&lz4_path, "http://deb.example/debian")
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is lz4-compressed, which cairn does not read\nhint: "),
            "{error}"
        );

        let truncated = folder.path().join("Truncated.gz");
        let bytes = std::fs::read(&gzip_path).unwrap();
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let error = PackagesIndex::new()
            .read_file(&truncated, "http://deb.example/debian")
            .unwrap_err();
        assert!(
            error.to_string().starts_with("cannot decompress "),
            "{error}"
        );

        let missing = folder.path().join("Missing");
        let error = PackagesIndex::new()
            .read_file(&missing, "http://deb.example/debian")
            .unwrap_err();
        assert!(error.to_string().starts_with("cannot read "), "{error}");
    }
}
