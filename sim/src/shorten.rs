//! Shortening of long values in failure messages.
//!
//! A failure message quotes the values it compares, and a value can be a 10 MB prompt. The full
//! value is always in the transcript, so a message only needs enough of it to be recognised: a
//! value longer than [`VALUE_LIMIT`] characters becomes `head…[N chars]…tail`, where N is the
//! value's full length. Values are the Rust-quoted string literals in a line (`"…"`, the form
//! the assertions print) and the text of a diff line (`- …`, `+ …`); any other line is shortened
//! as a whole past [`LINE_LIMIT`]. A whole message keeps at most [`MESSAGE_LINES`] lines and
//! [`MESSAGE_CHARS`] characters.
//!
//! Shortening is idempotent: a shortened value fits its limit, so the terminal can shorten the
//! messages the assertion records already hold without changing them or their counts.

use std::borrow::Cow;

/// Characters a value may take before it is shortened.
pub const VALUE_LIMIT: usize = 200;
/// Characters any one line may take before it is shortened as a whole.
pub const LINE_LIMIT: usize = 1_000;
/// Lines a message keeps, its "… more lines" note included.
pub const MESSAGE_LINES: usize = 30;
/// Characters a message keeps, its "… more lines" note included.
pub const MESSAGE_CHARS: usize = 8_000;

/// Room kept for the "… N more line(s) left out" note within [`MESSAGE_CHARS`].
const NOTE_RESERVE: usize = 64;

/// The text between a shortened value's head and tail starts with this.
const MARKER_OPEN: &str = "…[";
/// And ends with this.
const MARKER_CLOSE: &str = " chars]…";

/// `n` with thousands separators: `10,485,760`.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// The marker that stands for a left-out middle: `…[10,485,760 chars]…`.
fn marker(total: usize) -> String {
    format!("{MARKER_OPEN}{}{MARKER_CLOSE}", grouped(total))
}

/// True when `line` holds a value this module shortened.
pub fn is_shortened(line: &str) -> bool {
    line.match_indices(MARKER_OPEN).any(|(i, _)| {
        let rest = &line[i + MARKER_OPEN.len()..];
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ','))
            .unwrap_or(rest.len());
        digits > 0 && rest[digits..].starts_with(MARKER_CLOSE)
    })
}

/// Head and tail lengths, in units, of a value shortened to `limit`: together with the marker
/// they stay under `limit`, which is what makes shortening idempotent.
fn head_tail(limit: usize) -> (usize, usize) {
    (limit / 2, limit / 4)
}

/// Shortens `text` to `head…[N chars]…tail` when it has more than `limit` characters.
/// Cuts fall on character boundaries, so any UTF-8 text is safe.
pub fn shorten(text: &str, limit: usize) -> Cow<'_, str> {
    // A string has at most as many characters as bytes, so short byte lengths skip the count.
    if text.len() <= limit {
        return Cow::Borrowed(text);
    }
    let total = text.chars().count();
    if total <= limit {
        return Cow::Borrowed(text);
    }
    let (head, tail) = head_tail(limit);
    let head_end = text.char_indices().nth(head).map_or(text.len(), |(i, _)| i);
    let tail_start = text
        .char_indices()
        .nth_back(tail.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    Cow::Owned(format!(
        "{}{}{}",
        &text[..head_end],
        marker(total),
        &text[tail_start..]
    ))
}

/// Byte length of the character or escape sequence that starts `s` inside a Rust-quoted string
/// literal: `\n`, `\"` and `\u{1f600}` each count as one character of the value.
fn unit_len(s: &str) -> usize {
    let mut chars = s.chars();
    match chars.next() {
        Some('\\') => match chars.next() {
            // `\u` and `{` are ASCII, so byte 2 is a character boundary.
            Some('u') if s[2..].starts_with('{') => {
                2 + s[2..].find('}').map_or(s.len() - 2, |i| i + 1)
            }
            Some(c) => 1 + c.len_utf8(),
            None => 1,
        },
        Some(c) => c.len_utf8(),
        None => 0,
    }
}

/// For `s` starting with `"`, the byte length of the quoted literal (both quotes included) and
/// the number of characters of the value it spells; `None` when the quote is never closed.
fn literal_at(s: &str) -> Option<(usize, usize)> {
    let mut pos = 1;
    let mut units = 0;
    while pos < s.len() {
        if s[pos..].starts_with('"') {
            return Some((pos + 1, units));
        }
        pos += unit_len(&s[pos..]);
        units += 1;
    }
    None
}

/// Byte offset of the `n`-th unit of a literal's content (or its end).
fn unit_offset(content: &str, n: usize) -> usize {
    let mut pos = 0;
    for _ in 0..n {
        if pos >= content.len() {
            break;
        }
        pos += unit_len(&content[pos..]);
    }
    pos.min(content.len())
}

/// The quoted literal `lit` (quotes included, `units` characters of value), shortened.
fn shorten_literal(lit: &str, units: usize, limit: usize) -> Cow<'_, str> {
    if units <= limit {
        return Cow::Borrowed(lit);
    }
    let content = &lit[1..lit.len() - 1];
    let (head, tail) = head_tail(limit);
    let head_end = unit_offset(content, head);
    let tail_start = unit_offset(content, units - tail);
    Cow::Owned(format!(
        "\"{}{}{}\"",
        &content[..head_end],
        marker(units),
        &content[tail_start..]
    ))
}

/// `text` with every quoted literal longer than [`VALUE_LIMIT`] shortened; an unclosed quote is
/// plain text.
fn shorten_literals(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut changed = false;
    let mut rest = text;
    while let Some(q) = rest.find('"') {
        out.push_str(&rest[..q]);
        let from_quote = &rest[q..];
        let Some((end, units)) = literal_at(from_quote) else {
            out.push_str(from_quote);
            rest = "";
            break;
        };
        let lit = shorten_literal(&from_quote[..end], units, VALUE_LIMIT);
        changed |= matches!(lit, Cow::Owned(_));
        out.push_str(&lit);
        rest = &from_quote[end..];
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// One message line with its values shortened (see the module documentation).
pub fn shorten_line(line: &str) -> Cow<'_, str> {
    if line.len() <= VALUE_LIMIT {
        return Cow::Borrowed(line);
    }
    // A line shortened before is at most LINE_LIMIT long, but cutting it as a whole may have
    // split a quoted value; parsing its quotes again could pair them differently and change it.
    if is_shortened(line) && line.chars().count() <= LINE_LIMIT {
        return Cow::Borrowed(line);
    }
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    let diff_sign = ["- ", "+ "].into_iter().find(|s| body.starts_with(s));
    if let Some(sign) = diff_sign {
        let value = &body[sign.len()..];
        return match shorten(value, VALUE_LIMIT) {
            Cow::Borrowed(_) => Cow::Borrowed(line),
            Cow::Owned(short) => Cow::Owned(format!("{indent}{sign}{short}")),
        };
    }
    match shorten_literals(line) {
        Cow::Borrowed(_) => shorten(line, LINE_LIMIT),
        Cow::Owned(short) => Cow::Owned(shorten(&short, LINE_LIMIT).into_owned()),
    }
}

/// A message cut to its first lines, each shortened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortMessage {
    /// The lines kept, each shortened.
    pub lines: Vec<String>,
    /// How many lines were left out after them.
    pub left_out: usize,
}

impl ShortMessage {
    /// The note that ends a message whose last lines were left out.
    pub fn note(&self) -> Option<String> {
        (self.left_out > 0).then(|| format!("… {} more line(s) left out", self.left_out))
    }
}

/// Shortens every line of `text` and keeps as many lines as fit [`MESSAGE_LINES`] and
/// [`MESSAGE_CHARS`] (the first line always stays).
pub fn shorten_lines(text: &str) -> ShortMessage {
    let all: Vec<&str> = text.lines().collect();
    let lines: Vec<Cow<'_, str>> = all.iter().map(|l| shorten_line(l)).collect();
    let chars = |ls: &[Cow<'_, str>]| ls.iter().map(|l| l.chars().count() + 1).sum::<usize>();
    if lines.len() <= MESSAGE_LINES && chars(&lines) <= MESSAGE_CHARS {
        return ShortMessage {
            lines: lines.into_iter().map(Cow::into_owned).collect(),
            left_out: 0,
        };
    }
    let mut kept = Vec::new();
    let mut used = 0;
    for line in lines {
        let cost = line.chars().count() + 1;
        let full = kept.len() + 1 >= MESSAGE_LINES || used + cost > MESSAGE_CHARS - NOTE_RESERVE;
        if full && !kept.is_empty() {
            break;
        }
        used += cost;
        kept.push(line.into_owned());
    }
    ShortMessage {
        left_out: all.len() - kept.len(),
        lines: kept,
    }
}

/// `text` shortened for an assertion record: the lines [`shorten_lines`] keeps, then the note.
pub fn shorten_message(text: &str) -> String {
    let short = shorten_lines(text);
    let mut lines = short.lines.clone();
    lines.extend(short.note());
    let mut out = lines.join("\n");
    if text.ends_with('\n') && short.left_out == 0 {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_separates_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(10_485_760), "10,485,760");
    }

    #[test]
    fn short_text_is_kept_and_long_text_keeps_head_tail_and_length() {
        assert!(matches!(shorten("hello", 200), Cow::Borrowed("hello")));
        let long = format!("START{}END", "x".repeat(10_000));
        let short = shorten(&long, 200);
        assert!(short.starts_with("STARTxx"), "{short}");
        assert!(short.ends_with("xxEND"), "{short}");
        assert!(short.contains("…[10,008 chars]…"), "{short}");
        assert!(short.chars().count() <= 200, "{}", short.chars().count());
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        // Multi-byte characters everywhere: any byte-based cut would panic or split one.
        for filler in ["é", "…", "😀", "aé😀"] {
            let long = filler.repeat(5_000);
            let short = shorten(&long, 200);
            assert!(short.contains(" chars]…"), "{short}");
            let lit = format!("actual: {long:?}");
            let line = shorten_line(&lit);
            assert!(is_shortened(&line), "{line}");
        }
    }

    #[test]
    fn quoted_values_are_shortened_with_their_real_length() {
        let value = format!(
            "You are the inbound agent of Acme.\n{}Goodbye.",
            "z".repeat(1_000)
        );
        let line = format!("at `x`: expected it contains \"nope\"; actual: {value:?}");
        let short = shorten_line(&line);
        let count = value.chars().count();
        assert!(
            short.contains(&format!("[{} chars]", grouped(count))),
            "{short}"
        );
        assert!(short.contains("\"nope\""), "{short}");
        assert!(
            short.contains("You are the inbound agent of Acme.\\n"),
            "{short}"
        );
        assert!(short.ends_with("Goodbye.\""), "{short}");
        // Escapes are never cut in half: each `\n` stays whole.
        let escapes = format!("{:?}", "\n".repeat(1_000));
        let short = shorten_line(&escapes);
        assert!(short.contains("…[1,000 chars]…"), "{short}");
        assert!(!short.contains("\\…") && !short.contains("\\\""), "{short}");
    }

    #[test]
    fn diff_lines_and_plain_lines() {
        let diff = format!("      + {}", "d".repeat(5_000));
        let short = shorten_line(&diff);
        assert!(short.starts_with("      + ddd"), "{short}");
        assert!(short.contains("[5,000 chars]"), "{short}");
        let plain = "p".repeat(LINE_LIMIT - 1);
        assert_eq!(shorten_line(&plain), plain.as_str());
        let plain = "p".repeat(LINE_LIMIT + 1);
        assert!(shorten_line(&plain).contains("[1,001 chars]"));
        // An unclosed quote is plain text, not a value.
        let odd = format!("say \"{}", "q".repeat(300));
        assert_eq!(shorten_line(&odd), odd.as_str());
    }

    #[test]
    fn shortening_is_idempotent() {
        let value = "v".repeat(100_000);
        let text = format!(
            "actual: {value:?}\n      - {value}\n      + {value}x\n{}",
            "line\n".repeat(100)
        );
        let once = shorten_message(&text);
        assert_eq!(shorten_message(&once), once);
        assert!(once.contains("[100,000 chars]"), "{once}");
        assert!(once.contains("[100,001 chars]"), "{once}");
    }

    #[test]
    fn messages_keep_a_bounded_number_of_lines_and_characters() {
        let many = "a line\n".repeat(1_000);
        let short = shorten_lines(&many);
        assert_eq!(short.lines.len(), MESSAGE_LINES - 1);
        assert_eq!(short.left_out, 1_000 - (MESSAGE_LINES - 1));
        let message = shorten_message(&many);
        assert_eq!(message.lines().count(), MESSAGE_LINES);
        assert!(message.ends_with("more line(s) left out"), "{message}");

        let wide = format!("{}\n", "w".repeat(900)).repeat(25);
        let message = shorten_message(&wide);
        assert!(
            message.chars().count() <= MESSAGE_CHARS,
            "{}",
            message.len()
        );
        assert!(message.ends_with("more line(s) left out"), "{message}");

        let small = "one\ntwo\n";
        assert_eq!(shorten_message(small), small);
    }

    #[test]
    fn markers_are_recognised() {
        assert!(is_shortened("\"ab…[1,234 chars]…cd\""));
        assert!(!is_shortened("ab…[x chars]…cd"));
        assert!(!is_shortened("plain"));
    }
}
