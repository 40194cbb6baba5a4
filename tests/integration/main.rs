//! One integration-test binary (STYLE.md): every file here is a module that
//! shares [`ctx`], which starts real servers and cleans them up.

mod ctx;
mod format;
mod provider;
mod reports;
