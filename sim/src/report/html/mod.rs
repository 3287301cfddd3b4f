//! The self-contained HTML report.
//!
//! One HTML5 file with inline CSS and no script at all: it must open from a CI artifact or an
//! e-mail attachment with no network. A Content-Security-Policy meta tag enforces that in the
//! browser (`default-src 'none'`), so a future edit that adds an external URL shows up as a
//! console error instead of a silent leak. Audio is embedded as `data:` URLs.
//!
//! The page is built to make the seed bug obvious: an inbound call that received the tenant's
//! OUTBOUND prompt gets a red `wrong-prompt` banner above its prompt ledger, and its scenario row
//! in the summary is flagged. Rendering is deterministic (no wall clock), so two renders of one
//! report are byte-identical.

mod ledger;
mod log;
mod page;
mod records;
mod text;
mod timeline;

#[cfg(test)]
mod fixtures;

pub use self::log::CallAudio;
pub use self::page::render_html;
pub use self::text::escape;
