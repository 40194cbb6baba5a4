//! The one error-chain renderer: an error and each of its causes, once,
//! on one line. Every layer's error type marks its cause `#[source]` and
//! never repeats it in its own message, so the chain needs no
//! deduplication. The CLI prints errors with it; steps and verification
//! use it where an error becomes a line of a report.

use std::error::Error;
use std::fmt;

/// `error: cause: cause of the cause ...`, each message once.
pub fn chain(error: &dyn Error) -> String {
    Chain(error).to_string()
}

/// Displays an error with its causes, as [`chain`] renders them.
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a dyn Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(formatter, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read the manifest {path}")]
    struct Outer {
        path: String,
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn every_cause_appears_once_in_order() {
        let error = Outer {
            path: "backup/manifest.json".into(),
            source: std::io::Error::other("disk gone"),
        };
        assert_eq!(
            chain(&error),
            "cannot read the manifest backup/manifest.json: disk gone"
        );
    }

    #[test]
    fn an_error_without_a_source_is_its_message() {
        assert_eq!(chain(&std::io::Error::other("refused")), "refused");
    }
}
