//! Clocks, ticks, probes and the RTO/RPO arithmetic (pure functions) of
//! `shared/spec/drill-semantics.md`, and the verdict built on them
//! ([`verdict::judge_drill`], the only judge).
//!
//! Never does: open a connection (the tick writer and the canary probe hand
//! their records in; this module only computes), print, or map verdicts to
//! exit statuses (the command line does, in one function).

pub mod clock;
pub mod forecast;
pub mod rpo;
pub mod rto;
pub mod ticks;
pub mod verdict;

pub use clock::{DrillClock, Stamp, format_duration};
pub use rpo::{CollectionRpo, DrillRpo, PointInTimeResult, RpoResult, check_point_in_time, compute_rpo, worst_of};
pub use rto::{ObjectiveCheck, Objectives, RtoAppliesTo, RtoResult, compute_rto, evaluate};
pub use ticks::{DuplicateTick, TICKS_COLLECTION, TickLog, TickLogs, TickOutcome, is_tick_id, tick_id};
pub use verdict::{CheckResult, DrillFacts, Ending, ExpectedFailure, KNOWN_CHECKS, Verdict, judge_drill, tick_checks};
