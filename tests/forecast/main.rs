//! The RTO forecast's test in a binary of its own: it compares a restore
//! time measured in one drill with one measured minutes later, so it must
//! not share the machine with the integration tests running in parallel
//! (cargo runs test binaries one after another). A timing figure measured
//! under the load of other tests would say nothing about the model.

#[path = "../integration/ctx.rs"]
mod ctx;
mod restore;
