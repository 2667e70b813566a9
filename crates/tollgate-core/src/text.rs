//! Text from outside (a file that may have been made to be hostile, a request header, a value
//! a message quotes) quoted back in a message: escaped and cut so that it can neither write to
//! the terminal or log it lands in nor make the message as long as itself.

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

/// `message` as text of at most about `max` bytes: whole when it fits, otherwise its first and
/// last `max / 2` bytes around ` … ` (a message that quotes a value says what is wrong at its
/// end). Written through a bounded buffer, so a message quoting a large value never exists whole.
pub fn elided(message: &impl std::fmt::Display, max: usize) -> String {
    use std::fmt::Write;

    struct Ends {
        part: usize,
        head: String,
        /// Set once anything went past the head: the head then never grows again, so the text
        /// keeps its order.
        head_closed: bool,
        tail: String,
        cut: bool,
    }
    impl Write for Ends {
        fn write_str(&mut self, mut s: &str) -> std::fmt::Result {
            if !self.head_closed {
                let room = floor_char_boundary(s, self.part - self.head.len());
                self.head.push_str(&s[..room]);
                s = &s[room..];
                self.head_closed = !s.is_empty();
            }
            if s.len() > self.part {
                // Only the last part of a long piece can end up in the tail.
                s = &s[ceil_char_boundary(s, s.len() - self.part)..];
                self.cut = true;
            }
            self.tail.push_str(s);
            if self.tail.len() > 4 * self.part {
                let from = ceil_char_boundary(&self.tail, self.tail.len() - self.part);
                self.tail.drain(..from);
                self.cut = true;
            }
            Ok(())
        }
    }

    let part = max / 2;
    let mut ends = Ends { part, head: String::new(), head_closed: false, tail: String::new(), cut: false };
    let _ = write!(ends, "{message}");
    if !ends.cut && ends.head.len() + ends.tail.len() <= max {
        return ends.head + &ends.tail;
    }
    let from = ceil_char_boundary(&ends.tail, ends.tail.len().saturating_sub(part));
    format!("{} … {}", ends.head, &ends.tail[from..])
}

/// The largest char boundary of `s` at or below `i` (`str::floor_char_boundary`, which is newer
/// than the workspace's MSRV).
fn floor_char_boundary(s: &str, i: usize) -> usize {
    (0..=i.min(s.len())).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// The smallest char boundary of `s` at or above `i`.
fn ceil_char_boundary(s: &str, i: usize) -> usize {
    (i..=s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len())
}

#[cfg(test)]
mod tests {
    use super::{elided, printable};

    #[test]
    fn a_long_message_keeps_its_ends_on_char_boundaries() {
        assert_eq!(elided(&"é".repeat(200), 300), format!("{} … {}", "é".repeat(75), "é".repeat(75)));
        assert_eq!(elided(&"short", 300), "short");
    }

    #[test]
    fn control_characters_are_escaped_and_long_text_cut() {
        assert_eq!(printable("a\u{1b}[2J\n", 10), "a\\u{1b}[2J\\n");
        assert_eq!(printable("abcdef", 3), "abc...");
        assert_eq!(printable("abc", 3), "abc");
    }
}
