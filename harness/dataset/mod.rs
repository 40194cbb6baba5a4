//! Deterministic documents from (profile, seed, size), and seeding them into
//! a database in bounded memory. Owns the dataset profiles' model; does not
//! own connections or servers (callers pass a `mongodb::Database`).
