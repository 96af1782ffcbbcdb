//! What an error suggests for a name that is not there: the nearest one by Jaro-Winkler
//! similarity, or the list of names there are. The resolver suggests package names with it;
//! the compiler suggests spec keys, node kinds and setting values with the same functions.

/// The candidate closest to `word`, if any is close enough to be what was meant.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|left, right| left.0.total_cmp(&right.0).then(right.1.cmp(left.1)))
        .map(|(_, candidate)| candidate)
}

/// `` `a`, `b`, `c` ``: names for a message.
pub fn backticked<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_the_key_it_meant() {
        assert_eq!(nearest("prot", ["address", "port", "roles"]), Some("port"));
        assert_eq!(nearest("adress", ["address", "port"]), Some("address"));
        assert_eq!(nearest("zzz", ["address", "port"]), None);
    }
}
