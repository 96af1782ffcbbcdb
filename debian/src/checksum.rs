//! Checksums as Debian's archive lists them (`Release`, `Packages`) and `sha256sum` prints
//! them: sha256 in lowercase hexadecimal.

use sha2::{Digest, Sha256};

/// The sha256 of `bytes`, in lowercase hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checksum_is_written_as_sha256sum_writes_it() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
