//! A package node's pins, shared: the same request on ten thousand hosts resolves to one
//! pin set, held, checked and written once (since format 6, in a `[package_pins.HASH]`
//! table the nodes name by its hash), as [`crate::Text`] is for texts.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::canonical::encode_value;
use crate::nodes::fields::{FieldError, FieldReader};
use crate::nodes::host_package_pins::HostPackagePins;

/// The address of a pin set in a lockfile's `[package_pins]` tables: the first 128 bits of
/// blake3 (key derived from `"cairn package pin set v1"`) over the canonical encoding of
/// its fields (`canonical.rs`, the encoding node ids hash), as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PinSetHash([u8; PinSetHash::LENGTH]);

impl PinSetHash {
    pub const LENGTH: usize = 16;

    const DOMAIN: &'static str = "cairn package pin set v1";

    /// The hash of pins already normalised (sorted, once each), as a node holds them.
    fn of(pins: &HostPackagePins) -> Self {
        let mut encoded = Vec::new();
        encode_value(&pins.input_table(), &mut encoded);
        let hash = blake3::Hasher::new_derive_key(Self::DOMAIN)
            .update(&encoded)
            .finalize();
        let mut bytes = [0u8; Self::LENGTH];
        bytes.copy_from_slice(&hash.as_bytes()[..Self::LENGTH]);
        Self(bytes)
    }
}

crate::node_id::hex_hash_text!(PinSetHash);

/// The pin fields besides `pins`, which a reference leaves to the table.
const PIN_FIELDS: [&str; 5] = ["architecture", "release", "sources", "base", "assumed"];

/// A [`HostPackagePins`] with its hash, shared: cloning it clones a pointer. Reads as the
/// pins it holds (`Deref`).
#[derive(Clone)]
pub struct PinSet(Arc<PinSetInner>);

struct PinSetInner {
    hash: PinSetHash,
    pins: HostPackagePins,
}

impl PinSet {
    /// The pins, normalised (sorted, once each), and hashed.
    pub fn new(mut pins: HostPackagePins) -> Self {
        pins.normalise();
        Self(Arc::new(PinSetInner {
            hash: PinSetHash::of(&pins),
            pins,
        }))
    }

    /// Where the lockfile writes it: `[package_pins.HASH]`.
    pub fn hash(&self) -> PinSetHash {
        self.0.hash
    }

    pub fn pins(&self) -> &HostPackagePins {
        &self.0.pins
    }

    /// The pin set a node names by hash (`pins = "HASH"`, format 6), from the lockfile's
    /// `[package_pins]` tables; the other pin fields are in the table, not the node.
    pub(crate) fn from_reference(fields: &mut FieldReader<'_>) -> Result<Self, FieldError> {
        for field in PIN_FIELDS {
            if fields.raw(field).is_some() {
                return Err(FieldError::Invalid {
                    field: field.to_string(),
                    message: "a node whose `pins` names a pin set by hash has its pin fields in that set's [package_pins.HASH] table, not in the node".to_string(),
                });
            }
        }
        let invalid = |message: String| FieldError::Invalid {
            field: "pins".to_string(),
            message,
        };
        let reference = fields.string("pins")?;
        let hash = reference.parse::<PinSetHash>().map_err(invalid)?;
        let Some(pin_sets) = fields.pin_sets() else {
            return Err(invalid(format!(
                "pin set {hash} is named by hash, which only a lockfile's [package_pins] tables resolve"
            )));
        };
        pin_sets.get(&hash).cloned().ok_or_else(|| {
            invalid(format!(
                "pin set {hash} is not in the lockfile's [package_pins] tables; the lockfile was edited by hand or damaged: compile it again"
            ))
        })
    }

    /// Whether the set pins nothing and assumes nothing: a node does not hold such a set.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.pins.packages.is_empty() && self.0.pins.assumed.is_empty()
    }
}

impl Deref for PinSet {
    type Target = HostPackagePins;

    fn deref(&self) -> &HostPackagePins {
        &self.0.pins
    }
}

impl PartialEq for PinSet {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.hash == other.0.hash && self.0.pins == other.0.pins)
    }
}

impl Eq for PinSet {}

impl fmt::Debug for PinSet {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "PinSet({}, {} packages, {} assumed)",
            self.0.hash,
            self.0.pins.packages.len(),
            self.0.pins.assumed.len()
        )
    }
}

/// The pin sets of a lockfile's `[package_pins]` tables, by hash, each checked.
pub type PinSets = BTreeMap<PinSetHash, PinSet>;
