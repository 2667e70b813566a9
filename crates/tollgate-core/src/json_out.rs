//! JSON written by hand for the answers and files that carry many resources (list pages, the
//! export): the same bytes serde_json writes, without its per-field calls. Ids, names and types
//! have nothing to escape, and are checked eight bytes at a time and copied whole. JSON text
//! stored inside a string (the export's `attributes` and `data`) has a quote every few bytes:
//! it is escaped a word at a time into room reserved for the worst case, bit tests finding the
//! bytes to escape and the runs between them stored as whole words, where serde_json reaches
//! every byte alone and copies every run with a call.

/// Appends `s` as a JSON string, exactly as `serde_json::to_writer` writes it (a test checks
/// every byte in every position against it).
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    push_text(out, s.as_bytes());
}

/// [`push_str`] for text whose UTF-8 the caller checks, once, in what it writes: escaping adds
/// only ASCII and copies every other byte, so the bytes appended are UTF-8 exactly when `bytes`
/// are.
pub fn push_text(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if is_plain(bytes) {
        out.extend_from_slice(bytes);
    } else {
        // Bounded, so that a long string never reserves six times its length at once.
        bytes.chunks(4096).for_each(|chunk| push_escaped(out, chunk));
    }
    out.push(b'"');
}

/// Appends `n` as serde_json writes an integer.
pub fn push_int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// What serde_json writes after a backslash for each byte it escapes (`u` for `\u00XX`), and 0
/// for the bytes it copies: it escapes `"`, `\` and the control characters below U+0020,
/// nothing else (not DEL, not U+2028, not `/`).
const ESCAPE: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// The high bit of each byte of the little-endian word `x` that serde_json escapes (see
/// [`ESCAPE`]). Exact per byte: the test for a zero byte adds within each byte and never
/// carries into the next.
fn to_escape(x: u64) -> u64 {
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let zero = |v: u64| !(((v & LOW) + LOW) | v | LOW);
    zero(x & 0xe0e0_e0e0_e0e0_e0e0) | zero(x ^ 0x2222_2222_2222_2222) | zero(x ^ 0x5c5c_5c5c_5c5c_5c5c)
}

/// Whether serde_json would copy every byte as it is.
fn is_plain(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    words.all(|w| to_escape(u64::from_le_bytes(w.try_into().expect("eight bytes"))) == 0)
        && words.remainder().iter().all(|&b| ESCAPE[usize::from(b)] == 0)
}

/// Appends `bytes` escaped. Room for the worst case (every byte six, and a word stored past
/// the end) is made first and what is not used cut off after, so each word, run and escape is
/// one store.
fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + 6 * bytes.len() + 8, 0);
    let room = &mut out[start..];
    let mut at = 0;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        at = escape_word(room, at, u64::from_le_bytes(w.try_into().expect("eight bytes")), 8);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        at = escape_word(room, at, tail.iter().rev().fold(0, |x, &b| x << 8 | u64::from(b)), tail.len());
    }
    out.truncate(start + at);
}

/// Writes the first `n` (1 to 8) bytes of the little-endian word `x`, escaped, into `room` at
/// `at`; where the next byte goes.
#[inline(always)]
fn escape_word(room: &mut [u8], mut at: usize, x: u64, n: usize) -> usize {
    let mut escapes = to_escape(x) & (0x8080_8080_8080_8080 >> (8 * (8 - n)));
    let mut from = 0;
    while escapes != 0 {
        let next = escapes.trailing_zeros() as usize / 8;
        // The run before the escape: the word from `from` on, of which only the run is kept.
        room[at..at + 8].copy_from_slice(&(x >> (8 * from)).to_le_bytes());
        at += next - from;
        let b = x.to_le_bytes()[next];
        match ESCAPE[usize::from(b)] {
            b'u' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let (high, low) = (HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]);
                room[at..at + 6].copy_from_slice(&[b'\\', b'u', b'0', b'0', high, low]);
                at += 6;
            }
            short => {
                room[at..at + 2].copy_from_slice(&[b'\\', short]);
                at += 2;
            }
        }
        from = next + 1;
        escapes &= escapes - 1;
    }
    if from < n {
        room[at..at + 8].copy_from_slice(&(x >> (8 * from)).to_le_bytes());
        at += n - from;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let cases = [
            "",
            "plain",
            "res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R",
            "quote \" and backslash \\",
            "tab\tnewline\nreturn\rbell\u{7}nul\u{0}",
            "unicode é ü 漢字 🚀 and \u{7f} and \u{2028}",
            "slash / stays",
            "\u{1f}\u{20}",
        ];
        for s in cases {
            let mut out = Vec::new();
            push_str(&mut out, s);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(s).unwrap(), "{s:?}");
        }
        // Every ASCII byte in every position of words and of tails of every length.
        for len in 1..=17 {
            for at in 0..len {
                for b in 0..=127u8 {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    let s = String::from_utf8(bytes).unwrap();
                    let mut out = Vec::new();
                    push_str(&mut out, &s);
                    assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap(), "{s:?}");
                }
            }
        }
        // Runs of every length between escapes, multi-byte characters beside them, and stored
        // JSON text, from a fixed sequence of pseudo-random picks.
        let pieces = ["a", "\"", "\\", "\n", "\u{1}", "\u{1f}", "é", "漢", "🚀", "\u{7f}", "abcdefgh", "{\"k\":\"v\"}"];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..5000 {
            let mut s = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for k in 0..seed % 24 {
                s.push_str(pieces[((seed >> (k * 2 + 8)) % pieces.len() as u64) as usize]);
            }
            let mut out = Vec::new();
            push_str(&mut out, &s);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap(), "{s:?}");
        }
        // Long enough to be escaped in several pieces, split wherever they fall.
        let long: String = pieces.iter().cycle().take(3000).copied().collect();
        let mut out = Vec::new();
        push_str(&mut out, &long);
        assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&long).unwrap());
        for n in [0, -1, 42, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            push_int(&mut out, n);
            assert_eq!(out, serde_json::to_vec(&n).unwrap());
        }
    }
}
