//! JSON written by hand for the answers that carry many resources (list pages): the same bytes
//! serde_json writes, without its per-field calls. A resource's strings are nearly always plain
//! (ids, names, types: no quote, backslash or control character), and a plain string is
//! copied whole; anything else is escaped by serde_json itself, so the escaping rules are
//! serde_json's in every case.

/// Appends `s` as a JSON string, exactly as `serde_json::to_writer` writes it.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    if is_plain(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing a `str` to a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Appends `n` as serde_json writes an integer.
pub fn push_int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Whether serde_json would copy every byte as it is (it escapes `"`, `\` and the control
/// characters below U+0020, and nothing else). Eight bytes at a time: the classic bit tests for
/// "a byte below n" and "a byte equal to c" on a word.
fn is_plain(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let equal = |x: u64, c: u8| below(x ^ (ONES * u64::from(c)), 1);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let x = u64::from_le_bytes(w.try_into().expect("eight bytes"));
        if below(x, 0x20) | equal(x, b'"') | equal(x, b'\\') != 0 {
            return false;
        }
    }
    words.remainder().iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
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
        // Every byte in every position of a word, and in the tail after it.
        for len in [8, 11] {
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
        for n in [0, -1, 42, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            push_int(&mut out, n);
            assert_eq!(out, serde_json::to_vec(&n).unwrap());
        }
    }
}
