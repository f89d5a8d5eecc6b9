-- Per-batch GX outcomes (quality/batch_quality.py). A batch's check runs GX in memory, without a
-- Checkpoint or a Data Docs update (the daily whole-table run rebuilds those), so its outcome is
-- recorded here: counts per expectation only, never a row's values.
CREATE TABLE quality.batch_validation (
    batch_id      text NOT NULL,
    table_name    text NOT NULL,
    validated_at  timestamptz NOT NULL DEFAULT now(),
    rows          bigint NOT NULL,
    whole_table   boolean NOT NULL,
    success       boolean NOT NULL,
    evaluated     integer NOT NULL,
    failed        text[] NOT NULL,
    unexpected    jsonb NOT NULL,
    PRIMARY KEY (batch_id, table_name)
);
COMMENT ON TABLE quality.batch_validation IS
    'GX outcome of the rows one batch wrote: failed expectations and unexpected counts per expectation (last check wins)';
