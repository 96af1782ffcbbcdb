//! A suite's Release file checked against an OpenPGP keyring, as apt checks it: the
//! detached `Release.gpg` over `Release`, or the clearsigned `InRelease`, verified by
//! `gpgv` (GnuPG's verify-only tool, which apt itself runs) against the keyring the spec
//! names. Only then is the Release trusted to list its indexes' checksums, and the
//! indexes trusted to list the packages' checksums: the chain that makes a pin mean the
//! archive's package.

use std::io::Write;
use std::path::Path;
use std::process::Command;

/// Verifies the detached `signature` over `release` against `keyring`. `Err` says why not,
/// in gpgv's words.
pub fn verify_detached(release: &[u8], signature: &[u8], keyring: &Path) -> Result<(), String> {
    let folder = tempfile::tempdir().map_err(|error| format!("a temporary folder: {error}"))?;
    let release_path = folder.path().join("Release");
    let signature_path = folder.path().join("Release.gpg");
    write(&release_path, release)?;
    write(&signature_path, signature)?;
    run_gpgv(keyring, &[&signature_path, &release_path])
}

/// Verifies the clearsigned `in_release` against `keyring`: what it signs, the Release text.
pub fn verify_clearsigned(in_release: &[u8], keyring: &Path) -> Result<Vec<u8>, String> {
    let folder = tempfile::tempdir().map_err(|error| format!("a temporary folder: {error}"))?;
    let signed_path = folder.path().join("InRelease");
    let output_path = folder.path().join("Release");
    write(&signed_path, in_release)?;
    let output_argument = output_path.as_os_str().to_owned();
    let mut arguments: Vec<&std::ffi::OsStr> = vec!["--output".as_ref(), &output_argument];
    arguments.push(signed_path.as_os_str());
    run_gpgv_with(keyring, &arguments)?;
    std::fs::read(&output_path).map_err(|error| format!("reading what gpgv verified: {error}"))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::File::create(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|error| format!("writing {}: {error}", path.display()))
}

fn run_gpgv(keyring: &Path, files: &[&Path]) -> Result<(), String> {
    let arguments: Vec<&std::ffi::OsStr> = files.iter().map(|path| path.as_os_str()).collect();
    run_gpgv_with(keyring, &arguments)
}

fn run_gpgv_with(keyring: &Path, arguments: &[&std::ffi::OsStr]) -> Result<(), String> {
    if !keyring.is_file() {
        return Err(format!(
            "the keyring {} does not exist (Debian's is /usr/share/keyrings/debian-archive-keyring.gpg, from the debian-archive-keyring package)",
            keyring.display()
        ));
    }
    let output = Command::new("gpgv")
        .arg("--keyring")
        .arg(keyring)
        .args(arguments)
        .output()
        .map_err(|error| {
            format!("gpgv cannot run ({error}): install Debian's gpgv, which checks the signature")
        })?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    let reason: Vec<&str> = said
        .lines()
        .map(|line| line.trim_start_matches("gpgv: ").trim())
        .filter(|line| {
            !line.starts_with("Signature made") && !line.starts_with("using ") && !line.is_empty()
        })
        .collect();
    Err(format!(
        "its signature does not verify against {}: {}",
        keyring.display(),
        reason.join("; ")
    ))
}
