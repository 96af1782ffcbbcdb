//! Secrets the old installer did not have but cairn needs (the key of the lockfile's
//! fingerprints; a password the config file leaves out): random, from the kernel.

use std::io::Read;

/// `length` random lowercase hex digits.
pub fn random_hex(length: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; length.div_ceil(2)];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let mut text: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    text.truncate(length);
    Ok(text)
}
