-- Per-batch quality (quality/batch_quality.py): the rows one batch wrote are copied into an unlogged
-- scratch table here, one per shared table (quality_batch.<schema>__<table>), and GX validates that
-- copy instead of scanning the whole shared table once per metric, then dropped.
CREATE SCHEMA IF NOT EXISTS quality_batch;
COMMENT ON SCHEMA quality_batch IS
    'Scratch copies of the rows of the batch being validated (one unlogged table per shared table); disposable';
