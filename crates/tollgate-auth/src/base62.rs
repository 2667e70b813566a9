//! Base62 with the alphabet `0-9A-Za-z`, as Tollgate's credential format fixes it.

/// The alphabet, in value order.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base62, left-padded with `0` to `width` characters.
pub fn encode_padded(mut n: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out).expect("alphabet is ASCII")
}

/// Whether every byte is in the alphabet.
pub fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes() {
        assert_eq!(encode_padded(0, 6), "000000");
        assert_eq!(encode_padded(61, 2), "0z");
        assert_eq!(encode_padded(62, 2), "10");
        assert_eq!(encode_padded(u64::from(u32::MAX), 6), "4gfFC3");
    }
}
