//! Ansible's host patterns: `slave[01:06]` (numbers, their leading zeros kept, an optional
//! step `[1:9:2]`) and `node[a:c]` (letters), any number of them in one name.

use crate::import_error::ImportError;

/// The most names one pattern may stand for: more is a typo (`[0:99999999]`), not a
/// cluster cairn installs from one inventory line.
pub const MOST_NAMES: u64 = 10_000;

/// Every name `pattern` stands for, in order. A name without brackets is itself.
pub fn expand(pattern: &str, line: usize) -> Result<Vec<String>, ImportError> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let invalid = |reason: &str| ImportError::HostRange {
        line,
        pattern: pattern.to_string(),
        reason: reason.to_string(),
    };
    let close = pattern[open..]
        .find(']')
        .map(|offset| open + offset)
        .ok_or_else(|| invalid("a `[` without its `]`"))?;
    let (prefix, range, rest) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let middles = range_items(range).map_err(|reason| invalid(&reason))?;
    let tails = expand(rest, line)?;
    if (middles.len() as u64).saturating_mul(tails.len() as u64) > MOST_NAMES {
        return Err(invalid(&format!(
            "the ranges stand for more than {MOST_NAMES} names together; split the inventory's hosts into groups of fewer"
        )));
    }
    let mut names = Vec::new();
    for middle in &middles {
        for tail in &tails {
            names.push(format!("{prefix}{middle}{tail}"));
        }
    }
    Ok(names)
}

/// `01:06`, `1:9:2` or `a:c`, as the texts it stands for.
fn range_items(range: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = range.split(':').collect();
    let (start, end, step) = match parts.as_slice() {
        [start, end] => (*start, *end, "1"),
        [start, end, step] => (*start, *end, *step),
        _ => return Err("write a range as [start:end] or [start:end:step]".to_string()),
    };
    let step: usize = step
        .parse()
        .ok()
        .filter(|step| *step > 0)
        .ok_or_else(|| format!("`{step}` is not a step"))?;
    if let (Ok(first), Ok(last)) = (start.parse::<u64>(), end.parse::<u64>()) {
        if first > last {
            return Err(format!("{start} comes after {end}"));
        }
        if (last - first) / step as u64 >= MOST_NAMES {
            return Err(format!(
                "[{range}] stands for more than {MOST_NAMES} names; split the inventory's hosts into groups of fewer"
            ));
        }
        let width = start.len();
        return Ok((first..=last)
            .step_by(step)
            .map(|number| format!("{number:0width$}"))
            .collect());
    }
    match (single_letter(start), single_letter(end)) {
        (Some(first), Some(last)) if first <= last => Ok((first..=last)
            .step_by(step)
            .map(|letter| letter.to_string())
            .collect()),
        (Some(_), Some(_)) => Err(format!("{start} comes after {end}")),
        _ => Err("a range is of numbers, [01:06], or of letters, [a:c]".to_string()),
    }
}

fn single_letter(text: &str) -> Option<char> {
    let mut characters = text.chars();
    match (characters.next(), characters.next()) {
        (Some(letter), None) if letter.is_ascii_alphabetic() => Some(letter),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn a_numeric_range_keeps_its_leading_zeros() {
        assert_eq!(
            expand("slave[01:03]", 1).unwrap(),
            ["slave01", "slave02", "slave03"]
        );
        assert_eq!(expand("db[8:10]", 1).unwrap(), ["db8", "db9", "db10"]);
    }

    #[test]
    fn a_letter_range_a_step_and_two_ranges_in_one_name() {
        assert_eq!(expand("lb[a:c]", 1).unwrap(), ["lba", "lbb", "lbc"]);
        assert_eq!(expand("n[1:7:3]", 1).unwrap(), ["n1", "n4", "n7"]);
        assert_eq!(
            expand("r[1:2]-[a:b]", 1).unwrap(),
            ["r1-a", "r1-b", "r2-a", "r2-b"]
        );
        assert_eq!(expand("10.0.0.[5:6]", 1).unwrap(), ["10.0.0.5", "10.0.0.6"]);
    }

    #[test]
    fn a_range_of_more_than_ten_thousand_names_is_refused_before_it_is_expanded() {
        let refused = expand("h[0:99999999999]", 3).unwrap_err().to_string();
        assert!(refused.contains("more than 10000 names"), "{refused}");
        let refused = expand("h[0:999][0:999]", 4).unwrap_err().to_string();
        assert!(refused.contains("more than 10000 names"), "{refused}");
        assert_eq!(expand("h[1:9999]", 5).unwrap().len(), 9999);
    }

    #[test]
    fn a_broken_range_names_its_line_and_pattern() {
        let error = expand("slave[06:01]", 7).unwrap_err().to_string();
        assert!(
            error.contains("line 7") && error.contains("slave[06:01]"),
            "{error}"
        );
        assert!(expand("slave[01:06", 1).is_err());
        assert!(expand("slave[a:06]", 1).is_err());
    }
}
