//! A pinned package read from the store: checked against its pin while its control
//! paragraph is taken for the `Packages` index.

use std::fs;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;

use cairn_debian::{Paragraph, ParagraphWriter, read_control_paragraph};
use sha2::{Digest, Sha256};

use super::error::PackageProblem;
use super::repository_contents::RepositoryPackage;
use crate::artifact_store::ArtifactStore;

/// A package read from the store: its file there, and its paragraph of the `Packages`
/// index.
#[derive(Debug)]
pub(super) struct StoredPackage {
    pub(super) stored: PathBuf,
    pub(super) index_paragraph: String,
}

/// Reads `package`'s file from the store: its sha256 and size over every byte, its control
/// paragraph from the first ones, in one pass; its index paragraph names it `filename`. A
/// file that is not the pinned one is removed from the store, so the next fetch downloads it
/// again.
pub(super) fn read_stored(
    store: &ArtifactStore,
    package: &RepositoryPackage,
    filename: &str,
) -> Result<StoredPackage, PackageProblem> {
    let path = store.path_of(&package.sha256);
    let file = fs::File::open(&path).map_err(|error| PackageProblem::Missing {
        package: package.label(),
        path: path.clone(),
        error,
    })?;
    let mut reader = HashingReader {
        inner: BufReader::with_capacity(256 * 1024, file),
        hasher: Sha256::new(),
        size: 0,
    };
    let control = read_control_paragraph(&mut reader, &package.label());
    let unreadable = |message: String| PackageProblem::Unreadable {
        package: package.label(),
        path: path.clone(),
        message,
    };
    io::copy(&mut reader, &mut io::sink()).map_err(|error| unreadable(error.to_string()))?;
    let actual = format!("{:x}", reader.hasher.finalize());
    if actual != package.sha256 {
        let _ = fs::remove_file(&path);
        return Err(PackageProblem::Mismatch {
            package: package.label(),
            path: path.clone(),
            expected: package.sha256.clone(),
            actual,
            users: package.users(),
        });
    }
    let control = control.map_err(|error| unreadable(error.message))?;
    let control = Paragraph::parse(&control)
        .map_err(|error| unreadable(format!("its control file: {error}")))?;
    check_is_pinned(&control, package)?;
    Ok(StoredPackage {
        index_paragraph: index_paragraph(&control, filename, reader.size, &package.sha256),
        stored: path,
    })
}

/// Whether the control paragraph says it is the package `package` pins.
fn check_is_pinned(
    control: &Paragraph<'_>,
    package: &RepositoryPackage,
) -> Result<(), PackageProblem> {
    let field = |name: &str| control.value(name).unwrap_or_default();
    let actual = (field("Package"), field("Version"), field("Architecture"));
    if (actual.0.as_ref(), actual.1.as_ref(), actual.2.as_ref())
        != (
            package.name.as_str(),
            package.version.as_str(),
            package.architecture.as_str(),
        )
    {
        return Err(PackageProblem::NotThePinnedPackage {
            package: package.label(),
            actual: format!("{} {} ({})", actual.0, actual.1, actual.2),
            users: package.users(),
        });
    }
    Ok(())
}

/// A reader that hashes and counts what is read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        self.size += read as u64;
        Ok(read)
    }
}

/// A package's paragraph of a `Packages` index: its control paragraph as the package
/// wrote it (comment lines dropped, and any field the index sets itself), then where apt
/// finds it and what apt checks it against.
pub(super) fn index_paragraph(
    control: &Paragraph<'_>,
    filename: &str,
    size: u64,
    sha256: &str,
) -> String {
    const INDEX_FIELDS: [&str; 6] = ["Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512"];
    let mut paragraph = ParagraphWriter::new();
    for field in control.fields() {
        if !INDEX_FIELDS.iter().any(|index_field| field.is(index_field)) {
            paragraph.field_as_read(field);
        }
    }
    paragraph
        .field("Filename", filename)
        .field("Size", &size.to_string())
        .field("SHA256", sha256);
    paragraph.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_paragraph_is_the_control_paragraph_with_where_and_what_apt_checks() {
        let control = "Package: hello\nVersion: 1.0\nSize: 12\nDescription: greets\n long text\n .\n more\n\n";
        let control = Paragraph::parse(control).unwrap();
        assert_eq!(
            index_paragraph(&control, "pool/main/h/hello/hello_1.0_all.deb", 900, "ab"),
            "Package: hello\nVersion: 1.0\nDescription: greets\n long text\n .\n more\n\
             Filename: pool/main/h/hello/hello_1.0_all.deb\nSize: 900\nSHA256: ab\n"
        );
        assert_eq!(control.value("version").as_deref(), Some("1.0"));
        assert!(Paragraph::parse(" Package: no\n").is_err());
    }
}
