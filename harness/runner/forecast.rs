//! The RTO forecast of a finished drill (`[forecast]` in the scenario):
//! the production size (given, or read with `dbStats` from the deployment
//! a variable names), this drill's phases, the model of
//! [`crate::measure::forecast`], and what it means against the objective:
//! a finding, or the `rto_forecast` check when the scenario asks for one.

use bson::{Document, doc};

use super::context::DrillContext;
use crate::measure::forecast::{DrillFigures, Forecast, ForecastHistory, TargetSize, forecast};
use crate::measure::rto::RtoAppliesTo;
use crate::outcome::{CheckKind, CheckRecord, DrillOutcome, Status};
use crate::scenario::ForecastSize;

/// Why the production size could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SizeError {
    /// The variable is unset or empty.
    #[error("forecast.uri_env: the environment variable {0} is not set (or empty)")]
    Unset(String),
    /// Its value is not a URI we accept.
    #[error("forecast.uri_env ({name})")]
    Uri {
        /// The variable.
        name: String,
        /// What is wrong with it.
        #[source]
        source: crate::uri::UriError,
    },
    /// `dbStats` did not answer in time.
    #[error("dbStats on {uri} took longer than {seconds}s")]
    Timeout {
        /// The deployment, redacted.
        uri: String,
        /// The limit.
        seconds: u64,
    },
    /// The server refused or could not be reached.
    #[error("dbStats on {uri}: {reason}")]
    Server {
        /// The deployment, redacted.
        uri: String,
        /// The driver's explanation, redacted.
        reason: String,
    },
}

/// Longest a `dbStats` of the production deployment may take.
const STATS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Adds the forecast, its finding or check, to `outcome`; a scenario
/// without `[forecast]` gets nothing.
pub async fn apply(context: &DrillContext<'_>, outcome: &mut DrillOutcome, history: &ForecastHistory) {
    let Some(settings) = &context.scenario().forecast else {
        return;
    };
    let target = match target_size(&settings.size, &context.scenario().dataset.database).await {
        Ok(target) => target,
        Err(error) => {
            outcome.findings.push(format!(
                "no RTO forecast: cannot read the production size: {}",
                crate::error::chain(&error)
            ));
            return;
        }
    };
    let objectives = &context.scenario().objectives;
    let verified = objectives.rto_applies_to == RtoAppliesTo::Verified;
    let measured_rto_ms = if verified {
        outcome.measurements.rto_verified_ms
    } else {
        outcome.measurements.rto_service_ms
    };
    let figures = DrillFigures {
        samples: context.phase_samples(),
        measured_rto_ms,
        rto_includes_verify: verified,
        objective_ms: objectives.rto.map(crate::measure::clock::duration_to_millis),
    };
    let Some(forecast) = forecast(figures, &target, history) else {
        outcome
            .findings
            .push("no RTO forecast: no backup, restore or verification was measured".into());
        return;
    };
    let statement = statement(&forecast, context);
    if settings.fail {
        outcome.checks.push(CheckRecord {
            name: "rto_forecast".into(),
            counts_as: "rto_forecast".into(),
            kind: CheckKind::Objective,
            status: match (forecast.rto_ms, forecast.exceeds_objective()) {
                (None, _) => Status::Error,
                (Some(_), true) => Status::Failed,
                (Some(_), false) => Status::Passed,
            },
            measured: forecast.rto_ms.map(|ms| ms as f64),
            objective: forecast.objective_ms.map(|ms| ms as f64),
            unit: Some("ms".into()),
            message: statement,
        });
    } else if forecast.may_exceed_objective() {
        outcome.findings.push(statement);
    }
    outcome.forecast = Some(forecast);
}

/// The forecast in one sentence: size, figure, band and objective.
fn statement(forecast: &Forecast, context: &DrillContext<'_>) -> String {
    let human = |ms: u64| crate::measure::clock::human_duration_ms(ms);
    let size = match (forecast.target.documents, forecast.target.bytes) {
        (Some(documents), _) => format!("{documents} documents"),
        (None, Some(bytes)) => format!("{bytes} bytes"),
        (None, None) => "the target size".into(),
    };
    let Some(rto) = forecast.rto_ms else {
        return format!("RTO forecast at {size}: this drill measured no RTO to scale");
    };
    let band = format!(
        "{}–{}",
        human(forecast.rto_low_ms.unwrap_or(rto)),
        human(forecast.rto_high_ms.unwrap_or(rto))
    );
    let objective = context.scenario().objectives.rto.map(|objective| {
        crate::measure::rto::objective_text(context.scenario().objectives.rto_written.as_deref(), objective)
    });
    match objective {
        Some(objective) if forecast.exceeds_objective() => {
            format!(
                "RTO forecast at {size} {} ({band}) exceeds objective {objective}",
                human(rto)
            )
        }
        Some(objective) if forecast.may_exceed_objective() => format!(
            "RTO forecast at {size} {} within objective {objective}, but its band ({band}) reaches past it",
            human(rto)
        ),
        Some(objective) => format!(
            "RTO forecast at {size} {} ({band}) within objective {objective}",
            human(rto)
        ),
        None => format!("RTO forecast at {size} {} ({band}); no RTO objective", human(rto)),
    }
}

/// The size to forecast at: as the scenario gives it, or `dbStats` of the
/// dataset's database on the deployment the variable names (a read-only
/// command; the URI is never shown unredacted).
async fn target_size(size: &ForecastSize, database: &str) -> Result<TargetSize, SizeError> {
    match size {
        ForecastSize::Documents(documents) => Ok(TargetSize {
            documents: Some(*documents),
            source: "scenario".into(),
            ..TargetSize::default()
        }),
        ForecastSize::Bytes(bytes) => Ok(TargetSize {
            bytes: Some(*bytes),
            source: "scenario".into(),
            ..TargetSize::default()
        }),
        ForecastSize::UriEnv(name) => {
            let text = std::env::var(name)
                .ok()
                .filter(|text| !text.trim().is_empty())
                .ok_or_else(|| SizeError::Unset(name.clone()))?;
            let uri = crate::uri::MongoUri::parse(&text).map_err(|source| SizeError::Uri {
                name: name.clone(),
                source,
            })?;
            let stats = tokio::time::timeout(STATS_TIMEOUT, db_stats(&uri, database))
                .await
                .map_err(|_| SizeError::Timeout {
                    uri: uri.redacted(),
                    seconds: STATS_TIMEOUT.as_secs(),
                })?
                .map_err(|error| SizeError::Server {
                    uri: uri.redacted(),
                    reason: uri.scrubber().scrub(&crate::connect::explain(&error)),
                })?;
            Ok(TargetSize {
                documents: number(&stats, "objects"),
                bytes: number(&stats, "dataSize"),
                index_bytes: number(&stats, "indexSize"),
                source: format!("dbStats of {database} on {uri}"),
            })
        }
    }
}

async fn db_stats(uri: &crate::uri::MongoUri, database: &str) -> Result<Document, mongodb::error::Error> {
    let client = crate::connect::client(uri.expose_secret(), crate::connect::ConnectProfile::Drill).await?;
    let stats = client.database(database).run_command(doc! { "dbStats": 1 }).await;
    client.shutdown().await;
    stats
}

/// A dbStats figure: servers answer with an int, a long or a double.
fn number(stats: &Document, key: &str) -> Option<u64> {
    match stats.get(key)? {
        bson::Bson::Int32(value) => u64::try_from(*value).ok(),
        bson::Bson::Int64(value) => u64::try_from(*value).ok(),
        bson::Bson::Double(value) if value.is_finite() && *value >= 0.0 => Some(value.round() as u64),
        _ => None,
    }
}
