-- Foundation: the ledger, cursors and quarantine. Shared tables themselves are generated from
-- the declarations in schemas/ (see hub/store/migrate.py), not written here.
CREATE SCHEMA IF NOT EXISTS hub;
CREATE SCHEMA IF NOT EXISTS shared;
CREATE SCHEMA IF NOT EXISTS quarantine;

CREATE TABLE hub.ledger (
    batch_id      text PRIMARY KEY,
    source        text NOT NULL,
    run_id        text NOT NULL,
    target_table  text NOT NULL,
    status        text NOT NULL CHECK (status IN ('succeeded', 'failed')),
    extracted     bigint NOT NULL DEFAULT 0,
    inserted      bigint NOT NULL DEFAULT 0,
    updated       bigint NOT NULL DEFAULT 0,
    unchanged     bigint NOT NULL DEFAULT 0,
    quarantined   bigint NOT NULL DEFAULT 0,
    cursor_from   jsonb,
    cursor_to     jsonb,
    drift_columns text[] NOT NULL DEFAULT '{}',
    rule_counts   jsonb NOT NULL DEFAULT '{}',
    attempts      integer NOT NULL DEFAULT 1,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL DEFAULT now(),
    error         text,
    CONSTRAINT ledger_balances CHECK (
        status <> 'succeeded' OR extracted = inserted + updated + unchanged + quarantined
    )
);
CREATE INDEX ledger_source_started ON hub.ledger (source, started_at DESC);
COMMENT ON TABLE hub.ledger IS 'One row per source batch (DAG run): rows in = inserted + updated + unchanged + quarantined';

CREATE TABLE hub.cursor (
    source     text PRIMARY KEY,
    value      jsonb NOT NULL,
    batch_id   text NOT NULL REFERENCES hub.ledger (batch_id),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE hub.cursor IS 'Committed incremental position per source; moves only with the load it covers';

CREATE TABLE quarantine.record (
    id                bigserial PRIMARY KEY,
    source            text NOT NULL,
    batch_id          text NOT NULL,
    target_table      text NOT NULL,
    record_ref        text NOT NULL,
    rule              text NOT NULL,
    field             text,
    message           text NOT NULL,
    raw               jsonb NOT NULL,
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'released', 'superseded')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    released_at       timestamptz,
    released_batch_id text,
    UNIQUE (batch_id, record_ref)
);
CREATE INDEX quarantine_source_rule ON quarantine.record (source, rule);
CREATE INDEX quarantine_pending ON quarantine.record (source) WHERE status = 'pending';
COMMENT ON TABLE quarantine.record IS 'Rows that did not load, with the raw record and the rule they failed; never deleted';

CREATE TABLE hub.declared_table (
    qualified_name text PRIMARY KEY,
    fingerprint    text NOT NULL,
    synced_at      timestamptz NOT NULL DEFAULT now()
);
