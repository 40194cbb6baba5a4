//! The one table of providers. Each line names a provider's variant, the
//! name scenario files and `--provider` use, whether the harness starts
//! (and so owns) what it provides, and its starter; the macro turns the
//! table into [`ProviderKind`] and [`start`]. Adding a provider is a folder
//! under `provider/` with a `start` function, plus one line here.

use serde::{Deserialize, Serialize};

use super::{Deployment, DeploymentSpec, ProviderError};

/// Generates [`ProviderKind`] (with its names) and [`start`] from the table.
macro_rules! providers {
    ($($(#[$meta:meta])* $variant:ident => $name:literal, owned: $owned:literal, $start:path;)+) => {
        /// Where a deployment comes from: one variant per registered provider.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum)]
        pub enum ProviderKind {
            $($(#[$meta])* #[serde(rename = $name)] #[value(name = $name)] $variant,)+
        }

        impl ProviderKind {
            /// Every provider's name, in the table's order.
            pub const NAMES: &[&str] = &[$($name),+];

            /// The name scenario files and `--provider` use.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }

            /// The provider a scenario file or `--provider` names.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// Whether the harness starts, and so owns and may fault, what
            /// this provider provides (an existing deployment it does not).
            pub fn starts_its_deployment(self) -> bool {
                match self {
                    $(Self::$variant => $owned,)+
                }
            }
        }

        /// Starts (or, for an existing deployment, names) the deployment
        /// `spec` describes, through its provider.
        pub async fn start(spec: &DeploymentSpec) -> Result<Box<dyn Deployment>, ProviderError> {
            match spec.provider {
                $(ProviderKind::$variant => $start(spec).await,)+
            }
        }
    };
}

providers! {
    /// Server processes started by the harness on this machine.
    #[default]
    Local => "local", owned: true, super::local::start;
    /// Containers started through testcontainers (Docker or Podman).
    Containers => "containers", owned: true, super::containers::start;
    /// An existing deployment named by URI; never destroyed.
    External => "external", owned: false, super::external::start;
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back_as_its_provider() {
        for name in ProviderKind::NAMES {
            let kind: ProviderKind = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(kind.name(), *name);
            assert_eq!(ProviderKind::from_name(name), Some(kind));
            assert_eq!(<ProviderKind as clap::ValueEnum>::from_str(name, false), Ok(kind));
        }
        assert_eq!(ProviderKind::default(), ProviderKind::Local);
        assert!(!ProviderKind::External.starts_its_deployment());
    }
}
