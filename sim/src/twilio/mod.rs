//! The fake Twilio.
