//! Public-to-actual URL mapping: sign over the public URL, send to the local one.

/// A list of `(public_prefix, actual_prefix)` rewrites applied to every outgoing request.
///
/// The fake Twilio signs every request over the public URL (as configured, or as written in the
/// TwiML) but sends it to [`UrlMap::resolve`] of that URL, so a server that validates signatures
/// against its public hostname can run on `127.0.0.1:PORT`.
#[derive(Debug, Clone, Default)]
pub struct UrlMap {
    rules: Vec<(String, String)>,
}

impl UrlMap {
    /// An empty map: every URL resolves to itself.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule; when several prefixes match, the longest wins.
    pub fn with(mut self, public_prefix: &str, actual_prefix: &str) -> Self {
        self.rules
            .push((public_prefix.to_owned(), actual_prefix.to_owned()));
        self
    }

    /// The URL a request for `url` is actually sent to.
    pub fn resolve(&self, url: &str) -> String {
        self.rules
            .iter()
            .filter(|(public, _)| url.starts_with(public.as_str()))
            .max_by_key(|(public, _)| public.len())
            .map_or_else(
                || url.to_owned(),
                |(public, actual)| format!("{actual}{}", &url[public.len()..]),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_unknown_urls_pass_through() {
        let map = UrlMap::new()
            .with("https://callsim.test", "http://127.0.0.1:9")
            .with("wss://callsim.test", "ws://127.0.0.1:9")
            .with("https://callsim.test/special", "http://127.0.0.1:10/x");
        assert_eq!(
            map.resolve("wss://callsim.test/ws/media"),
            "ws://127.0.0.1:9/ws/media"
        );
        assert_eq!(
            map.resolve("https://callsim.test/twiml?a=1"),
            "http://127.0.0.1:9/twiml?a=1"
        );
        assert_eq!(
            map.resolve("https://callsim.test/special/y"),
            "http://127.0.0.1:10/x/y"
        );
        assert_eq!(
            map.resolve("https://elsewhere.test/"),
            "https://elsewhere.test/"
        );
    }
}
