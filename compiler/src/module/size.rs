//! Sizes as operators write them (`"20GiB"`, `"512 MB"`, `"1024"`), in bytes.

/// Parses `"20GiB"`, `"512 MB"`, `"1024"` (bytes) into bytes.
pub fn parse_size(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let number: i64 = digits
        .parse()
        .map_err(|_| format!("`{}` is not a size", text.escape_default()))?;
    let multiplier: i64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        other => return Err(format!("`{}` is not a size unit", other.escape_default())),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("20GiB"), Ok(20 << 30));
        assert_eq!(parse_size("512 MB"), Ok(512_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("20 parsecs").is_err());
    }
}
