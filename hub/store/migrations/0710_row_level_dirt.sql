-- Row-level dirt (issue 15): a record that cannot be a row is quarantined on its own, with where it
-- was and the exact bytes delivered, and a file that cannot be read at all is recorded as rejected
-- instead of stopping the feed.

ALTER TABLE quarantine.record
    ADD COLUMN raw_bytes   bytea,
    ADD COLUMN source_file text,
    ADD COLUMN source_line bigint;
COMMENT ON COLUMN quarantine.record.raw_bytes IS 'The record exactly as delivered, when raw (JSON) cannot hold it: a CSV line that is no record, a NUL, bytes that are not UTF-8';
COMMENT ON COLUMN quarantine.record.source_file IS 'The delivered file the record came from (file-drop sources)';
COMMENT ON COLUMN quarantine.record.source_line IS 'The physical line of source_file the record starts on (quoted line breaks counted)';
CREATE INDEX quarantine_source_file ON quarantine.record (source_file) WHERE source_file IS NOT NULL;

-- The same view, plus: outcome 'rejected' (the whole file unreadable), its rule and reason, and the
-- records of a loaded file that went to quarantine before mapping (lines that are no row).
CREATE OR REPLACE VIEW hub.file_delivery AS
SELECT l.source,
       f.value ->> 'file'                 AS file_name,
       f.value ->> 'sha256'               AS sha256,
       (f.value ->> 'size')::bigint       AS size_bytes,
       (f.value ->> 'records')::bigint    AS records,
       CASE WHEN f.value ? 'duplicate_of' THEN 'duplicate'
            WHEN f.value ? 'rejected' THEN 'rejected'
            ELSE 'loaded' END             AS outcome,
       f.value ->> 'duplicate_of'         AS duplicate_of,
       l.batch_id,
       l.finished_at,
       f.value ->> 'rejected'             AS rule,
       f.value ->> 'reason'               AS reason,
       coalesce((f.value ->> 'quarantined')::bigint, 0) AS unparsed_records
FROM hub.ledger l
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(l.cursor_to -> 'files') = 'array' THEN l.cursor_to -> 'files' ELSE '[]'::jsonb END
) WITH ORDINALITY AS f(value, n)
WHERE l.status = 'succeeded'
  AND f.n > coalesce(
      CASE WHEN jsonb_typeof(l.cursor_from -> 'files') = 'array' THEN jsonb_array_length(l.cursor_from -> 'files') END,
      0);
COMMENT ON VIEW hub.file_delivery IS 'Every delivered file a file-drop source handled: loaded, skipped as a duplicate (same SHA-256), or rejected as unreadable (rule, reason)';
