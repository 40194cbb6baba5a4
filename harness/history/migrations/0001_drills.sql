-- One row per finished drill. The figures a team queries (Grafana, psql)
-- are columns; `record` holds the whole history record as JSON, which is
-- what drdrill reads back. Types are the ones SQLite and PostgreSQL share.
CREATE TABLE IF NOT EXISTS drills (
    run_id           TEXT PRIMARY KEY,
    scenario         TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    finished_at      TEXT NOT NULL,
    verdict          TEXT NOT NULL,
    rto_service_ms   BIGINT,
    rto_verified_ms  BIGINT,
    rpo_ms           BIGINT,
    objective_rto_ms BIGINT,
    objective_rpo_ms BIGINT,
    duration_ms      BIGINT NOT NULL,
    backup_bytes     BIGINT,
    backup_ms        BIGINT,
    lost_writes      BIGINT NOT NULL,
    engine           TEXT NOT NULL,
    server_version   TEXT,
    scenario_commit  TEXT,
    report_dir       TEXT NOT NULL,
    record           TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS drills_by_scenario ON drills (scenario, started_at);
