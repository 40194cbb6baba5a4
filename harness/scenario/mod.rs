//! Scenario files: TOML → wire structs → validated `Scenario` model, with
//! located errors (file, line, column, key, hint).
