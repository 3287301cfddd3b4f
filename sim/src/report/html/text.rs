//! Small text helpers: HTML escaping, id slugs, durations and status callback records.

/// Appends formatted text to a `String`; writing to a `String` cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}
pub(super) use w;

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTML id fragment for a name: ASCII alphanumerics kept (lower-cased), the rest become `-`.
pub(super) fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "x".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// A duration on the scenario clock, for humans: `850 ms`, `12.300 s`, `1:02:03.000`.
pub(super) fn fmt_ms(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{}.{:03} s", ms / 1_000, ms % 1_000)
    } else {
        let (h, m, s, frac) = (
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1_000 % 60,
            ms % 1_000,
        );
        if h > 0 {
            format!("{h}:{m:02}:{s:02}.{frac:03}")
        } else {
            format!("{m}:{s:02}.{frac:03}")
        }
    }
}

pub(super) fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

/// Parses a status callback record `event@ms`.
pub(super) fn parse_callback(record: &str) -> Option<(&str, u64)> {
    let (event, ms) = record.rsplit_once('@')?;
    Some((event, ms.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn slugs_and_times_are_readable() {
        assert_eq!(
            slug("seed/inbound-empty-ai-prompt"),
            "seed-inbound-empty-ai-prompt"
        );
        assert_eq!(slug("A b//c"), "a-b-c");
        assert_eq!(slug("///"), "x");
        assert_eq!(fmt_ms(850), "850 ms");
        assert_eq!(fmt_ms(12_300), "12.300 s");
        assert_eq!(fmt_ms(7_203_000), "2:00:03.000");
        assert_eq!(
            parse_callback("completed@61000"),
            Some(("completed", 61_000))
        );
        assert_eq!(parse_callback("garbage"), None);
    }
}
