-- Freshness alerts: a source whose newest load is older than its schedule allows.
CREATE TABLE hub.freshness_alert (
    id              bigserial PRIMARY KEY,
    source          text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('watch', 'deadline')),
    detected_at     timestamptz NOT NULL DEFAULT now(),
    age_seconds     double precision,
    allowed_seconds double precision NOT NULL,
    run_id          text,
    message         text NOT NULL
);
CREATE INDEX freshness_alert_source ON hub.freshness_alert (source, detected_at DESC);
COMMENT ON TABLE hub.freshness_alert IS 'One row each time a source was found late (freshness watch or Airflow deadline alert)';
