//! Transcripts and reports.
