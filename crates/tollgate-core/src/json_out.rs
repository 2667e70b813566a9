//! JSON written by hand for the answers and files that carry many resources (list pages, the
//! export): the same bytes serde_json writes, without its per-field calls. Strings are escaped
//! a word of eight bytes at a time: bit tests find the bytes of the word to escape, and the
//! runs between them are appended as whole words cut back to their length. Ids, names and types
//! have nothing to escape; JSON text stored inside a string (the export's `attributes` and
//! `data`) has a quote every few bytes, which serde_json reaches a byte at a time, with a copy
//! per run.

/// Appends `s` as a JSON string, exactly as `serde_json::to_writer` writes it (a test checks
/// every byte in every position against it).
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        push_word(out, u64::from_le_bytes(w.try_into().expect("eight bytes")), 8);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        push_word(out, tail.iter().rev().fold(0, |x, &b| x << 8 | u64::from(b)), tail.len());
    }
    out.push(b'"');
}

/// Appends `n` as serde_json writes an integer.
pub fn push_int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends the first `n` (1 to 8) bytes of the little-endian word `x`, escaped.
fn push_word(out: &mut Vec<u8>, x: u64, n: usize) {
    let mut escapes = to_escape(x) & (0x8080_8080_8080_8080 >> (8 * (8 - n)));
    let mut from = 0;
    while escapes != 0 {
        let at = escapes.trailing_zeros() as usize / 8;
        push_bytes(out, x, from, at);
        push_escape(out, x.to_le_bytes()[at]);
        from = at + 1;
        escapes &= escapes - 1;
    }
    push_bytes(out, x, from, n);
}

/// Appends bytes `from..to` of the little-endian word `x`: the word from `from` on, in one
/// eight-byte store, then cut back to the run's length.
fn push_bytes(out: &mut Vec<u8>, x: u64, from: usize, to: usize) {
    if from < to {
        let end = out.len() + (to - from);
        out.extend_from_slice(&(x >> (8 * from)).to_le_bytes());
        out.truncate(end);
    }
}

/// The high bit of each byte of `x` that serde_json escapes: `"`, `\` and the control
/// characters below U+0020, nothing else (not DEL, not U+2028, not `/`). Exact per byte: the
/// test for a zero byte adds within each byte and never carries into the next.
fn to_escape(x: u64) -> u64 {
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let zero = |v: u64| !(((v & LOW) + LOW) | v | LOW);
    zero(x & 0xe0e0_e0e0_e0e0_e0e0) | zero(x ^ 0x2222_2222_2222_2222) | zero(x ^ 0x5c5c_5c5c_5c5c_5c5c)
}

/// Appends the escape serde_json writes for `b`: the short forms it has, else `\u00XX` in
/// lower-case hex.
fn push_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
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
        for n in [0, -1, 42, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            push_int(&mut out, n);
            assert_eq!(out, serde_json::to_vec(&n).unwrap());
        }
    }
}
