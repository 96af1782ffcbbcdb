//! Compressing what cairn writes, so that the same bytes in give the same bytes out: an
//! image layer by the compressor and level its image records
//! ([`cairn_lockfiles::LayerCompression`], since compressors' bytes differ across
//! algorithms and levels), and the offline repository's `Packages.gz`.

use std::io::Write;

use cairn_lockfiles::LayerCompression;

/// Compresses `data` as `compression` says: gzip as [`gzip`] writes it, or zstd on one
/// thread. The same input, library and level give the same bytes.
pub fn compress(data: &[u8], compression: LayerCompression) -> std::io::Result<Vec<u8>> {
    match compression {
        LayerCompression::Gzip { level } => Ok(gzip(data, level)),
        LayerCompression::Zstd { level } => zstd::stream::encode_all(data, level),
    }
}

/// The OCI media type of a layer compressed as `compression`.
pub fn media_type(compression: LayerCompression) -> &'static str {
    match compression {
        LayerCompression::Gzip { .. } => "application/vnd.oci.image.layer.v1.tar+gzip",
        LayerCompression::Zstd { .. } => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// gzip at `level` (0 to 9) with no file name, a zero time and an unknown operating system
/// in its header: the bytes depend on `data` and `level` alone.
pub fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::new(level));
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .expect("gzip into memory")
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn gzip_of_the_same_text_is_the_same_bytes_with_no_time_in_its_header() {
        let first = gzip(b"Package: hello\n", 9);
        assert_eq!(first, gzip(b"Package: hello\n", 9));
        assert_eq!(&first[4..8], &[0, 0, 0, 0], "no modification time");
        let mut text = String::new();
        flate2::read::GzDecoder::new(first.as_slice())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "Package: hello\n");
    }
}
