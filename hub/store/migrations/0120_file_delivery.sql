-- Deliveries of file-drop sources (e.g. 医保 YB_CBXX_<YYYYMMDD>.csv), derived from the ledger.
-- A file-drop cursor is the append-only list of deliveries handled ({"files": [...]}), committed
-- with the load that handled them; the entries past cursor_from's length are that batch's own.
-- So the registry needs no table of its own and cannot disagree with the loads it describes.
CREATE VIEW hub.file_delivery AS
SELECT l.source,
       f.value ->> 'file'                 AS file_name,
       f.value ->> 'sha256'               AS sha256,
       (f.value ->> 'size')::bigint       AS size_bytes,
       (f.value ->> 'records')::bigint    AS records,
       CASE WHEN f.value ? 'duplicate_of' THEN 'duplicate' ELSE 'loaded' END AS outcome,
       f.value ->> 'duplicate_of'         AS duplicate_of,
       l.batch_id,
       l.finished_at
FROM hub.ledger l
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(l.cursor_to -> 'files') = 'array' THEN l.cursor_to -> 'files' ELSE '[]'::jsonb END
) WITH ORDINALITY AS f(value, n)
WHERE l.status = 'succeeded'
  AND f.n > coalesce(
      CASE WHEN jsonb_typeof(l.cursor_from -> 'files') = 'array' THEN jsonb_array_length(l.cursor_from -> 'files') END,
      0);
COMMENT ON VIEW hub.file_delivery IS 'Every delivered file a file-drop source handled: loaded, or skipped as a duplicate (same SHA-256)';
