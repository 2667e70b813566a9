//! Text from outside (a file that may have been made to be hostile, a request header) quoted
//! back in a message: escaped and cut so that it can neither write to the terminal or log it
//! lands in nor make the message as long as itself.

/// `text` safe to print: control characters escaped (`\u{1b}`, `\n`) and at most `max` of its
/// characters, followed by `...` when it had more.
pub fn printable(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars().take(max) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if text.chars().nth(max).is_some() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped_and_long_text_cut() {
        assert_eq!(printable("a\u{1b}[2J\n", 10), "a\\u{1b}[2J\\n");
        assert_eq!(printable("abcdef", 3), "abc...");
        assert_eq!(printable("abc", 3), "abc");
    }
}
