//! Debian version numbers, `[epoch:]upstream[-revision]`, ordered as dpkg orders them.
//!
//! The comparison is dpkg's `verrevcmp` (deb-version(7)): epochs compare as numbers; the
//! upstream versions, then the revisions, compare as alternating runs of non-digits and
//! digits. Non-digit runs compare character by character, where `~` sorts before
//! everything (even the end of the string, so `1.0~rc1 < 1.0`), then the end of the
//! string, then letters, then every other character; digit runs compare as numbers.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A parsed Debian version. Equality is dpkg's: `1.0`, `0:1.0` and `1.0-0` are equal
/// versions, though [`Version::as_str`] keeps each as written.
#[derive(Clone)]
pub struct Version {
    text: String,
    epoch: u64,
    /// Byte range of the upstream version in `text`.
    upstream: (usize, usize),
    /// Byte range of the revision in `text`; empty when there is none.
    revision: (usize, usize),
}

/// Why a string is not a Debian version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version `{text}`: {problem}")]
pub struct VersionError {
    pub text: String,
    pub problem: &'static str,
}

impl Version {
    /// Parses `[epoch:]upstream[-revision]` as dpkg's `parseversion` does: the epoch is
    /// before the first `:`, the revision after the last `-`. Characters outside
    /// deb-version(7)'s alphabet are refused (dpkg only warns of them).
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        let error = |problem| VersionError {
            text: text.to_string(),
            problem,
        };
        if text.is_empty() {
            return Err(error("it is empty"));
        }
        if text.bytes().any(|byte| byte.is_ascii_whitespace()) {
            return Err(error("it contains whitespace"));
        }
        let (epoch, upstream_start) = match text.find(':') {
            Some(colon) => {
                let digits = &text[..colon];
                if digits.is_empty() {
                    return Err(error("the epoch before `:` is empty"));
                }
                if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                    return Err(error("the epoch is not a number"));
                }
                let epoch = digits
                    .parse::<u64>()
                    .ok()
                    .filter(|epoch| *epoch <= i32::MAX as u64)
                    .ok_or_else(|| error("the epoch is too large"))?;
                (epoch, colon + 1)
            }
            None => (0, 0),
        };
        let (upstream_end, revision) = match text.rfind('-') {
            Some(dash) if dash >= upstream_start => {
                if dash + 1 == text.len() {
                    return Err(error("the revision after `-` is empty"));
                }
                (dash, (dash + 1, text.len()))
            }
            _ => (text.len(), (text.len(), text.len())),
        };
        let upstream = &text[upstream_start..upstream_end];
        if upstream.is_empty() {
            return Err(error("the upstream version is empty"));
        }
        if !upstream
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".+~-:".contains(&byte))
        {
            return Err(error(
                "the upstream version has a character outside [A-Za-z0-9.+~-:]",
            ));
        }
        if !text[revision.0..revision.1]
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".+~".contains(&byte))
        {
            return Err(error("the revision has a character outside [A-Za-z0-9.+~]"));
        }
        Ok(Version {
            text: text.to_string(),
            epoch,
            upstream: (upstream_start, upstream_end),
            revision,
        })
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn upstream(&self) -> &str {
        &self.text[self.upstream.0..self.upstream.1]
    }

    /// The Debian revision, empty when the version has none.
    pub fn revision(&self) -> &str {
        &self.text[self.revision.0..self.revision.1]
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare_part(self.upstream(), other.upstream()))
            .then_with(|| compare_part(self.revision(), other.revision()))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Version({:?})", self.text)
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Version, VersionError> {
        Version::parse(text)
    }
}

/// The weight of one character in a non-digit run: `~` first, then the end of the string
/// (and a digit, which ends the run), then letters, then everything else.
fn order(byte: Option<u8>) -> i32 {
    match byte {
        None => 0,
        Some(byte) if byte.is_ascii_digit() => 0,
        Some(byte) if byte.is_ascii_alphabetic() => i32::from(byte),
        Some(b'~') => -1,
        Some(byte) => i32::from(byte) + 256,
    }
}

/// dpkg's `verrevcmp` over one part (upstream version or revision).
fn compare_part(left: &str, right: &str) -> Ordering {
    let (left, right) = (left.as_bytes(), right.as_bytes());
    let at = |bytes: &[u8], index: usize| bytes.get(index).copied();
    let is_digit = |byte: Option<u8>| byte.is_some_and(|byte| byte.is_ascii_digit());
    let (mut left_index, mut right_index) = (0, 0);
    while left_index < left.len() || right_index < right.len() {
        // A run of non-digits, compared character by character.
        while at(left, left_index).is_some_and(|byte| !byte.is_ascii_digit())
            || at(right, right_index).is_some_and(|byte| !byte.is_ascii_digit())
        {
            let left_weight = order(at(left, left_index));
            let right_weight = order(at(right, right_index));
            if left_weight != right_weight {
                return left_weight.cmp(&right_weight);
            }
            left_index += 1;
            right_index += 1;
        }
        // A run of digits, compared as a number of any length.
        while at(left, left_index) == Some(b'0') {
            left_index += 1;
        }
        while at(right, right_index) == Some(b'0') {
            right_index += 1;
        }
        let mut first_difference = Ordering::Equal;
        while is_digit(at(left, left_index)) && is_digit(at(right, right_index)) {
            if first_difference == Ordering::Equal {
                first_difference = left[left_index].cmp(&right[right_index]);
            }
            left_index += 1;
            right_index += 1;
        }
        if is_digit(at(left, left_index)) {
            return Ordering::Greater;
        }
        if is_digit(at(right, right_index)) {
            return Ordering::Less;
        }
        if first_difference != Ordering::Equal {
            return first_difference;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> Version {
        Version::parse(text).unwrap_or_else(|error| panic!("{error}"))
    }

    #[track_caller]
    fn assert_less(lower: &str, higher: &str) {
        assert!(
            version(lower) < version(higher),
            "expected {lower} < {higher}"
        );
        assert!(
            version(higher) > version(lower),
            "expected {higher} > {lower}"
        );
        assert_ne!(version(lower), version(higher));
    }

    #[track_caller]
    fn assert_equal(left: &str, right: &str) {
        assert_eq!(
            version(left).cmp(&version(right)),
            Ordering::Equal,
            "{left} = {right}"
        );
        assert_eq!(version(left), version(right));
    }

    #[test]
    fn parts_are_split_at_the_first_colon_and_the_last_dash() {
        let parsed = version("2:1.2-3-4+deb12u1");
        assert_eq!(parsed.epoch(), 2);
        assert_eq!(parsed.upstream(), "1.2-3");
        assert_eq!(parsed.revision(), "4+deb12u1");
        assert_eq!(parsed.as_str(), "2:1.2-3-4+deb12u1");

        let plain = version("1.0");
        assert_eq!(
            (plain.epoch(), plain.upstream(), plain.revision()),
            (0, "1.0", "")
        );

        let colons = version("1:2.3:4-5");
        assert_eq!(
            (colons.epoch(), colons.upstream(), colons.revision()),
            (1, "2.3:4", "5")
        );
    }

    #[test]
    fn a_tilde_sorts_before_everything_even_the_end() {
        assert_less("1.0~rc1", "1.0");
        assert_less("1.0~~", "1.0~");
        assert_less("1.0~~a", "1.0~");
        assert_less("1.0~", "1.0");
        assert_less("1.0~rc1", "1.0~rc2");
        assert_less("1.0~beta", "1.0~rc");
        assert_less("3.0~rc1-1", "3.0-1");
        assert_less("1.0-1~bpo12+1", "1.0-1");
    }

    #[test]
    fn the_end_sorts_before_letters_and_letters_before_other_characters() {
        assert_less("1.0", "1.0a");
        assert_less("1.0a", "1.0+");
        assert_less("1.0a", "1.0.");
        assert_less("1.0+", "1.0.");
        assert_less("1.0", "1.0+dfsg");
        assert_less("1.0Z", "1.0a");
        assert_less("1.0-1", "1.0-1+deb12u1");
        assert_less("1.0-1+deb12u1", "1.0-1+deb12u2");
        assert_less("1.0-1+b1", "1.0-1+deb12u1");
        assert_less("1.0-1", "1.0-1.1");
    }

    #[test]
    fn digit_runs_compare_as_numbers() {
        assert_less("1.2", "1.10");
        assert_less("9", "10");
        assert_less("1.0.9", "1.0.10");
        assert_less("2.36-9+deb12u9", "2.36-9+deb12u10");
        assert_less("1.99999999999999999999999", "1.100000000000000000000000");
        assert_equal("1.01", "1.1");
        assert_equal("1.000", "1.0");
        assert_less("1.0", "1.0.0");
    }

    #[test]
    fn epochs_decide_first() {
        assert_less("9.9", "1:0.1");
        assert_less("1:9.9", "2:0.1");
        assert_equal("0:1.0", "1.0");
        assert_less("1:1.1.4", "1:1.2.13.dfsg-1");
        assert_less("1:2.2~rc1", "1:2.2");
    }

    #[test]
    fn a_missing_revision_equals_revision_zero() {
        assert_equal("1.0", "1.0-0");
        assert_less("1.0", "1.0-1");
        assert_less("1.0-0", "1.0-0.1");
    }

    #[test]
    fn revisions_compare_only_after_upstream() {
        assert_less("1.0-9", "1.0.1-1");
        assert_less("1.0-2", "1.0-10");
        assert_less("1.2-3-1", "1.2-4-1");
    }

    #[test]
    fn ordering_is_total_and_consistent_over_a_list() {
        let sorted = [
            "~~",
            "~~a",
            "~",
            "0",
            "0.1~rc1",
            "0.1",
            "0.1-1",
            "0.1a",
            "0.1+",
            "0.1.0",
            "1",
            "1.0~rc1",
            "1.0",
            "1.0-1",
            "1.0-1+deb12u1",
            "1.0a",
            "1.2",
            "1.10",
            "1:0",
        ];
        for (index, lower) in sorted.iter().enumerate() {
            for higher in &sorted[index + 1..] {
                assert_less(lower, higher);
            }
        }
    }

    #[test]
    fn malformed_versions_are_refused_with_the_reason() {
        for (text, problem) in [
            ("", "it is empty"),
            ("1.0 ", "it contains whitespace"),
            (":1.0", "the epoch before `:` is empty"),
            ("a:1.0", "the epoch is not a number"),
            ("99999999999:1.0", "the epoch is too large"),
            ("1:", "the upstream version is empty"),
            ("1.0-", "the revision after `-` is empty"),
            ("-1", "the upstream version is empty"),
            (
                "1.0_1",
                "the upstream version has a character outside [A-Za-z0-9.+~-:]",
            ),
            (
                "1.0-1_2",
                "the revision has a character outside [A-Za-z0-9.+~]",
            ),
        ] {
            let error = Version::parse(text).expect_err(text);
            assert_eq!(error.problem, problem, "{text}");
        }
        assert_eq!(
            Version::parse("1.0_1").unwrap_err().to_string(),
            "invalid version `1.0_1`: the upstream version has a character outside [A-Za-z0-9.+~-:]"
        );
    }

    #[test]
    fn display_keeps_the_text_as_written() {
        assert_eq!(version("0:1.0-00").to_string(), "0:1.0-00");
        assert_eq!(format!("{:?}", version("1.0")), "Version(\"1.0\")");
    }
}
