/// How an image's layers are compressed: recorded with the image (it is among its inputs),
/// because compressors' bytes differ across algorithms and levels even when the tar does
/// not, and an image's digests must follow from its lockfile alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerCompression {
    /// gzip, level 0 to 9.
    Gzip { level: u32 },
    /// zstd, level 1 to 22.
    Zstd { level: i32 },
}

impl Default for LayerCompression {
    /// gzip at level 6, which every Docker engine and registry takes.
    fn default() -> Self {
        LayerCompression::Gzip { level: 6 }
    }
}

impl LayerCompression {
    /// `name` (`gzip` or `zstd`) at `level`, or at its default level (gzip 6, zstd 3).
    pub fn new(name: &str, level: Option<i64>) -> Result<Self, String> {
        match name {
            "gzip" => {
                let level = level.unwrap_or(6);
                if !(0..=9).contains(&level) {
                    return Err(format!("gzip's level is 0 to 9, not {level}"));
                }
                Ok(LayerCompression::Gzip {
                    level: level as u32,
                })
            }
            "zstd" => {
                let level = level.unwrap_or(3);
                if !(1..=22).contains(&level) {
                    return Err(format!("zstd's level is 1 to 22, not {level}"));
                }
                Ok(LayerCompression::Zstd {
                    level: level as i32,
                })
            }
            other => Err(format!(
                "`{other}` is not a layer compression cairn writes: `gzip` or `zstd`"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LayerCompression::Gzip { .. } => "gzip",
            LayerCompression::Zstd { .. } => "zstd",
        }
    }

    pub fn level(self) -> i64 {
        match self {
            LayerCompression::Gzip { level } => i64::from(level),
            LayerCompression::Zstd { level } => i64::from(level),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_compressor_takes_its_own_levels_and_has_a_default() {
        assert_eq!(
            LayerCompression::new("gzip", None),
            Ok(LayerCompression::Gzip { level: 6 })
        );
        assert_eq!(
            LayerCompression::new("zstd", Some(19)),
            Ok(LayerCompression::Zstd { level: 19 })
        );
        assert!(LayerCompression::new("gzip", Some(10)).is_err());
        assert!(LayerCompression::new("zstd", Some(0)).is_err());
        assert!(LayerCompression::new("xz", None).is_err());
    }
}
