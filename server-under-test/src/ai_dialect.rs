//! Which protocol the server speaks to the model: Realtime GA (`/v1/realtime`, the default) or
//! Live (`/v1/live/sessions`). The media session is written against one vocabulary (the
//! Realtime events of [`crate::realtime_event`]); under Live, [`crate::live_link`] translates
//! it at the connection, so the call stages stay the same for both dialects.

use std::sync::Arc;

use crate::config::Config;
use crate::live_link::LiveConnector;
use crate::network::Dialer;
use crate::realtime::{AiConnector, TungsteniteConnector};

/// The model-side protocol (`--ai-dialect`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AiDialect {
    /// OpenAI Realtime GA: `session.update`, responses, truncate on barge-in.
    #[default]
    Realtime,
    /// OpenAI Live: `session.start` once per connection, appends, a continuous output track.
    Live,
}

impl AiDialect {
    /// `realtime` or `live`.
    pub fn as_str(self) -> &'static str {
        match self {
            AiDialect::Realtime => "realtime",
            AiDialect::Live => "live",
        }
    }
}

/// The connector for `config`'s dialect, dialing through `dialer`.
pub fn connector_for(config: &Config, dialer: Arc<dyn Dialer>) -> Arc<dyn AiConnector> {
    let socket = |url: &str| TungsteniteConnector {
        dialer: dialer.clone(),
        url: url.to_owned(),
        api_key: config.openai_api_key.clone(),
        connect_timeout: config.ai_connect_timeout,
    };
    match config.ai_dialect {
        AiDialect::Realtime => Arc::new(socket(&config.realtime_url)),
        AiDialect::Live => Arc::new(LiveConnector {
            socket: socket(&config.live_url),
            model: config.live_model.clone(),
        }),
    }
}

/// The Live URL next to a Realtime URL: same scheme and host, path `/v1/live/sessions` (and
/// Azure's `/openai/v1/live/sessions` when the Realtime path is under `/openai/`), no query.
pub fn live_url_beside(realtime_url: &str) -> String {
    match url::Url::parse(realtime_url) {
        Ok(mut url) => {
            let azure = url.path().starts_with("/openai/");
            url.set_path(if azure {
                "/openai/v1/live/sessions"
            } else {
                "/v1/live/sessions"
            });
            url.set_query(None);
            url.to_string()
        }
        Err(_) => realtime_url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_url_sits_beside_the_realtime_url() {
        assert_eq!(
            live_url_beside("ws://127.0.0.1:9000/v1/realtime?model=gpt-realtime"),
            "ws://127.0.0.1:9000/v1/live/sessions"
        );
        assert_eq!(
            live_url_beside("wss://acme.openai.azure.com/openai/v1/realtime?model=x"),
            "wss://acme.openai.azure.com/openai/v1/live/sessions"
        );
    }
}
