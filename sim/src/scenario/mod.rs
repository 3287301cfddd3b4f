//! Scenario files, plans, the runner and assertions.
