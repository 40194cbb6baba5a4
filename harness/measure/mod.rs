//! Clocks, ticks, probes and the RTO/RPO arithmetic (pure functions) of
//! `shared/spec/drill-semantics.md`.
