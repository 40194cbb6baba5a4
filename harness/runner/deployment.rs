//! The deployment a drill holds: whichever provider started it, behind the
//! provider's traits ([`crate::provider::Deployment`]). The runner and the
//! steps hold this one type and never match on the provider.

/// A deployment owned by a drill (or an external one it must not destroy).
pub type Deployment = Box<dyn crate::provider::Deployment>;
