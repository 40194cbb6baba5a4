//! The macro behind the one table of providers, which `provider/mod.rs`
//! holds. Each line of the table names a provider's variant, the name
//! scenario files and `--provider` use, the module (folder) that holds it,
//! and whether the harness starts (and so owns) what it provides; the macro
//! turns the table into [`ProviderKind`] and [`start`](super::start).
//! Adding a provider is a folder under `provider/` with a `start`
//! function (declared with `pub mod` beside the others: a module declared
//! by a macro would be invisible to `cargo fmt`), plus one line in that
//! table.

use super::ProviderKind;

/// Generates [`ProviderKind`] (with its names) and `start` from the table. Paths are absolute: the items
/// land in `provider/mod.rs`, where the table is.
macro_rules! providers {
    ($($(#[$meta:meta])* $variant:ident => $name:literal in $module:ident, owned: $owned:literal;)+) => {
        /// Where a deployment comes from: one variant per registered provider.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Default, ::serde::Serialize, ::serde::Deserialize, ::clap::ValueEnum,
        )]
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
        pub async fn start(
            spec: &$crate::provider::DeploymentSpec,
        ) -> Result<Box<dyn $crate::provider::Deployment>, $crate::provider::ProviderError> {
            match spec.provider {
                $(ProviderKind::$variant => $module::start(spec).await,)+
            }
        }
    };
}

pub(super) use providers;

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
