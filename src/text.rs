//! Text that came from outside cnb (registry and daemon error messages, names the user
//! typed, config values) made safe to print: control characters escaped, so an escape
//! sequence cannot recolour or clear the terminal and a carriage return cannot forge a
//! line; and messages from servers bounded in length.

use std::borrow::Cow;

/// How much of a message from a registry or the daemon is kept.
pub const MAX_EXTERNAL_MESSAGE: usize = 512;

/// `text` with every control character but newline and tab escaped as Rust does
/// (`\r`, `\u{1b}`, ...).
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// At most `max` characters of `text`, with `...` when something was cut.
pub fn bounded(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((at, _)) => Cow::Owned(format!("{}...", &text[..at])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(escape_controls("plain text"), "plain text");
        assert_eq!(
            escape_controls("ok\rerror: forged\u{1b}[2J"),
            "ok\\rerror: forged\\u{1b}[2J"
        );
        assert_eq!(
            escape_controls("two\nlines\tand a tab"),
            "two\nlines\tand a tab"
        );
        assert_eq!(escape_controls("bell\u{7}"), "bell\\u{7}");
    }

    #[test]
    fn long_messages_are_cut() {
        assert_eq!(bounded("short", 10), "short");
        assert_eq!(bounded("0123456789abc", 10), "0123456789...");
        assert_eq!(bounded("ééééé", 3), "ééé...");
    }
}
