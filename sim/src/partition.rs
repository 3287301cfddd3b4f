//! Sharding of scenario runs: `hash:M/N` and `count:M/N`.
