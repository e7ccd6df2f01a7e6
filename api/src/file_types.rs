//! The file types patients and staff may upload, and how each is recognised from its first
//! bytes.
//!
//! An upload is accepted only when its declared type is on the list *and* its content starts
//! the way that type must: a renamed executable declared as a PDF is refused, and so is a PNG
//! declared as a PDF (the declared type is what browsers would render it as on download).

/// Bytes of the start of a file that [`matches`] needs to decide.
pub const SNIFF_BYTES: usize = 512;

/// An accepted type: its canonical MIME type, other names browsers send for it, and its check.
struct FileType {
    mime: &'static str,
    aliases: &'static [&'static str],
    sniff: fn(&[u8]) -> bool,
}

const TYPES: &[FileType] = &[
    FileType { mime: "application/pdf", aliases: &[], sniff: |b| b.starts_with(b"%PDF-") },
    FileType { mime: "image/png", aliases: &[], sniff: |b| b.starts_with(b"\x89PNG\r\n\x1a\n") },
    FileType { mime: "image/jpeg", aliases: &["image/jpg", "image/pjpeg"], sniff: |b| b.starts_with(b"\xff\xd8\xff") },
    FileType { mime: "image/heic", aliases: &["image/heif", "image/heic-sequence", "image/heif-sequence"], sniff: is_heif },
    FileType {
        mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        aliases: &[],
        sniff: |b| b.starts_with(b"PK\x03\x04"),
    },
    FileType { mime: "text/plain", aliases: &["text/csv"], sniff: is_text },
];

/// What the allow-list says about a declared type and the first bytes of the content.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted; store and serve it as this MIME type.
    Accepted(&'static str),
    /// The declared type is not on the list.
    NotAllowed,
    /// Declared as an accepted type, but the content is not of that type.
    Mismatch(&'static str),
}

/// Checks `declared` (a Content-Type, parameters allowed) against `head`, the first up to
/// [`SNIFF_BYTES`] bytes of the content.
pub fn check(declared: &str, head: &[u8]) -> Verdict {
    let declared = declared.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match TYPES.iter().find(|t| t.mime == declared || t.aliases.contains(&declared.as_str())) {
        None => Verdict::NotAllowed,
        Some(t) if (t.sniff)(head) => Verdict::Accepted(t.mime),
        Some(t) => Verdict::Mismatch(t.mime),
    }
}

/// The accepted MIME types, for error messages and the API documentation.
pub fn allowed() -> Vec<&'static str> {
    TYPES.iter().map(|t| t.mime).collect()
}

/// HEIC/HEIF: an ISO-BMFF `ftyp` box whose brand is one of the HEIF family.
fn is_heif(b: &[u8]) -> bool {
    const BRANDS: &[&[u8; 4]] = &[b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"];
    b.len() >= 12 && &b[4..8] == b"ftyp" && BRANDS.iter().any(|brand| &b[8..12] == *brand)
}

/// Plain text: UTF-8 without NUL or other control bytes (tabs and line breaks aside). The
/// head may end inside a multi-byte character, which is fine.
fn is_text(b: &[u8]) -> bool {
    if b.is_empty() || b.iter().any(|&c| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r' | 0x0c)) {
        return false;
    }
    match std::str::from_utf8(b) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && b.len() - e.valid_up_to() < 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_must_be_on_the_list_and_match_the_content() {
        assert_eq!(check("application/pdf", b"%PDF-1.7\n..."), Verdict::Accepted("application/pdf"));
        assert_eq!(check("image/JPG", b"\xff\xd8\xff\xe0"), Verdict::Accepted("image/jpeg"));
        assert_eq!(check("text/plain; charset=utf-8", "Grüße\n".as_bytes()), Verdict::Accepted("text/plain"));
        assert_eq!(check("image/heic", b"\0\0\0\x18ftypheic\0\0\0\0"), Verdict::Accepted("image/heic"));
        assert_eq!(check("application/x-msdownload", b"MZ\x90\0"), Verdict::NotAllowed);
        assert_eq!(check("text/html", b"<html>"), Verdict::NotAllowed);
        assert_eq!(check("application/pdf", b"\x89PNG\r\n\x1a\n"), Verdict::Mismatch("application/pdf"));
        assert_eq!(check("text/plain", b"MZ\x90\0\x03\0"), Verdict::Mismatch("text/plain"));
    }

    #[test]
    fn text_cut_inside_a_character_is_still_text() {
        let text = "ééé".as_bytes();
        assert!(is_text(&text[..text.len() - 1]));
        assert!(!is_text(b"\xff\xfe"));
    }
}
