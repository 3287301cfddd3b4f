//! The mock OpenAI Realtime endpoint.
