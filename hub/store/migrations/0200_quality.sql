-- Data quality: cross-department findings and their summary. Findings are recomputed by
-- quality/findings.py after each load: a problem still present keeps its row (last_seen_at
-- moves), a problem gone is marked resolved, never deleted.
CREATE SCHEMA IF NOT EXISTS quality;

CREATE TABLE quality.finding (
    id             bigserial PRIMARY KEY,
    source         text NOT NULL,
    rule           text NOT NULL,
    record_key     text NOT NULL,
    related_table  text,
    related_key    text,
    message        text NOT NULL,
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    check_run_id   text NOT NULL,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz,
    UNIQUE (source, rule, record_key)
);
CREATE INDEX finding_open ON quality.finding (source, rule) WHERE status = 'open';
COMMENT ON TABLE quality.finding IS
    'Cross-department consistency problems (source table, rule, record key, related record); the rows stay loaded';

CREATE VIEW quality.finding_summary AS
SELECT source, rule,
       count(*) FILTER (WHERE status = 'open') AS open,
       count(*) FILTER (WHERE status = 'resolved') AS resolved,
       max(last_seen_at) AS last_seen_at
FROM quality.finding
GROUP BY source, rule;
COMMENT ON VIEW quality.finding_summary IS 'Open and resolved findings per source table and rule';
