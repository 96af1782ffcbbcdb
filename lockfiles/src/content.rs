use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::secret::secret_placeholders_in;

/// A lockfile's `[content]` table, read: each text by its hash. Looked up by hash for every
/// file node read (tens of thousands at 10,000 hosts), never walked in order.
pub type ContentTable = foldhash::HashMap<ContentHash, Text>;

/// The address of a piece of text in a lockfile's content table: the first 128 bits of
/// blake3 over the text's bytes, as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash([u8; ContentHash::LENGTH]);

impl ContentHash {
    pub const LENGTH: usize = 16;

    pub fn of(text: &str) -> Self {
        let hash = blake3::hash(text.as_bytes());
        let mut bytes = [0u8; Self::LENGTH];
        bytes.copy_from_slice(&hash.as_bytes()[..Self::LENGTH]);
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; Self::LENGTH] {
        &self.0
    }
}

crate::node_id::hex_hash_text!(ContentHash);

/// Rendered text (a config file, a Dockerfile, an entrypoint script) with its content hash.
///
/// Shared: the same text used by ten thousand nodes is held, hashed, scanned for secret
/// placeholders and written once.
#[derive(Clone)]
pub struct Text(Arc<TextInner>);

struct TextInner {
    hash: ContentHash,
    body: Box<str>,
    secrets: OnceLock<BTreeSet<String>>,
}

impl Text {
    pub fn new(body: impl Into<Box<str>>) -> Self {
        let body = body.into();
        Self(Arc::new(TextInner {
            hash: ContentHash::of(&body),
            body,
            secrets: OnceLock::new(),
        }))
    }

    pub fn hash(&self) -> ContentHash {
        self.0.hash
    }

    pub fn as_str(&self) -> &str {
        &self.0.body
    }

    /// The names of the secrets whose placeholders the text holds, found on first use.
    pub fn secret_names(&self) -> &BTreeSet<String> {
        self.0
            .secrets
            .get_or_init(|| secret_placeholders_in(&self.0.body))
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.0.hash == other.0.hash && self.0.body == other.0.body
    }
}

impl Eq for Text {}

impl fmt::Debug for Text {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "Text({}, {} bytes)",
            self.0.hash,
            self.0.body.len()
        )
    }
}
