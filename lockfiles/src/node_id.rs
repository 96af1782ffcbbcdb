/// A node's content address: the first 128 bits of blake3 over its canonical inputs and its
/// dependencies' ids (see [`crate::canonical`]). Written as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId([u8; NodeId::LENGTH]);

impl NodeId {
    pub const LENGTH: usize = 16;

    pub fn from_hash(hash: &blake3::Hash) -> Self {
        let mut bytes = [0u8; Self::LENGTH];
        bytes.copy_from_slice(&hash.as_bytes()[..Self::LENGTH]);
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; Self::LENGTH] {
        &self.0
    }

    /// The first 12 hex digits, for humans.
    pub fn short(&self) -> String {
        self.to_string()[..12].to_string()
    }
}

/// Writes a hash newtype of bytes (`struct NAME([u8; N])`) as lowercase hex digits, its
/// `Debug` as `NAME(hex)`, and reads it back from exactly that many digits: node ids,
/// digests, content and pin-set addresses alike.
macro_rules! hex_hash_text {
    ($name:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                $crate::node_id::write_hex(&self.0, formatter)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(formatter, concat!(stringify!($name), "({})"), self)
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $crate::node_id::parse_hex(text).map(Self)
            }
        }
    };
}
pub(crate) use hex_hash_text;

hex_hash_text!(NodeId);

/// Writes `bytes` as lowercase hex digits, in one piece: a lockfile writes and reads back
/// a million of them, and a `write!` per byte was a twentieth of a diff's time.
pub(crate) fn write_hex<const N: usize>(
    bytes: &[u8; N],
    formatter: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    const { assert!(N <= 32, "hashes of at most 32 bytes") };
    let mut digits = [0u8; 64];
    for (pair, byte) in digits.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
    formatter.write_str(std::str::from_utf8(&digits[..2 * N]).expect("hex digits are ASCII"))
}

/// Parses exactly `2 * N` lowercase hex digits.
pub(crate) fn parse_hex<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let bytes = text.as_bytes();
    if bytes.len() != 2 * N {
        return Err(format!(
            "`{text}` is not a hash: expected {} hex digits, found {}",
            2 * N,
            bytes.len()
        ));
    }
    let mut out = [0u8; N];
    for (index, pair) in bytes.chunks_exact(2).enumerate() {
        let (high, low) = (
            HEX_DIGIT_VALUES[usize::from(pair[0])],
            HEX_DIGIT_VALUES[usize::from(pair[1])],
        );
        if (high | low) > 0x0f {
            return Err(format!(
                "`{text}` is not a hash: only lowercase hex digits are allowed"
            ));
        }
        out[index] = high << 4 | low;
    }
    Ok(out)
}

/// Each byte's value as a lowercase hex digit, `0xff` for a byte that is not one: a
/// lockfile's tens of thousands of hashes are read a table lookup a digit.
const HEX_DIGIT_VALUES: [u8; 256] = {
    let mut values = [0xff; 256];
    let mut digit = 0;
    while digit < 16 {
        values[b"0123456789abcdef"[digit] as usize] = digit as u8;
        digit += 1;
    }
    values
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContentHash;

    #[test]
    fn a_hash_reads_back_from_its_hex_and_names_its_type_when_debugged() {
        let text = "0123456789abcdef0123456789abcdef";
        let id: NodeId = text.parse().unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!(format!("{id:?}"), format!("NodeId({text})"));
        let content: ContentHash = text.parse().unwrap();
        assert_eq!(format!("{content:?}"), format!("ContentHash({text})"));
        assert!("0123".parse::<NodeId>().is_err(), "too short");
        assert!(
            "0123456789ABCDEF0123456789ABCDEF"
                .parse::<NodeId>()
                .is_err(),
            "lowercase only"
        );
    }
}
