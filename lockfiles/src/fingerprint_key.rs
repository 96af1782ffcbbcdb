//! The key secrets are fingerprinted with: derived from the cluster's `fingerprint_key`
//! secret. Compile records each secret's fingerprint; apply computes it again from the
//! value it is about to install and refuses a value that is not the one compiled.

/// blake3's key derivation context: changing it changes every fingerprint.
const KEY_CONTEXT: &str = "cairn secret fingerprint key v1";

/// A key derived from the fingerprint key's value. The value itself is dropped.
pub struct FingerprintKey([u8; 32]);

impl FingerprintKey {
    pub fn derive(key_material: &[u8]) -> Self {
        Self(blake3::derive_key(KEY_CONTEXT, key_material))
    }

    /// A secret's fingerprint: 32 hex digits of blake3 keyed by this key, over the
    /// secret's name and value.
    pub fn fingerprint(&self, name: &str, value: &[u8]) -> String {
        let mut hasher = blake3::Hasher::new_keyed(&self.0);
        hasher.update(&(name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update(value);
        hasher.finalize().to_hex()[..32].to_string()
    }
}

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("FingerprintKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_changes_with_the_value_the_name_and_the_key() {
        let key = FingerprintKey::derive(b"one");
        let other_key = FingerprintKey::derive(b"two");
        assert_ne!(key.fingerprint("a", b"x"), key.fingerprint("a", b"y"));
        assert_ne!(key.fingerprint("a", b"x"), other_key.fingerprint("a", b"x"));
        assert_ne!(key.fingerprint("a", b"x"), key.fingerprint("b", b"x"));
    }
}
