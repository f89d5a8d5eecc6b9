-- Reads through the departments' SQL views (issue 14): each read records itself here from inside
-- the view (hub.access.sqlviews), and hub.access.sqlreads.ingest moves the rows into the
-- hash-chained audit. n is the read's number from the department's counter access.sql_reads_<dept>
-- (a sequence, so not rolled back): a number with no row here is a read whose transaction was
-- rolled back (or failed), reported as such.
CREATE TABLE access.sql_read (
    dept_code  text NOT NULL,
    n          bigint NOT NULL,
    view       text NOT NULL,
    at         timestamptz NOT NULL,
    row_count  bigint NOT NULL,
    PRIMARY KEY (dept_code, n)
);
COMMENT ON TABLE access.sql_read IS 'Reads through the departments'' SQL views, until ingested into access.audit';

CREATE TABLE access.sql_read_seen (
    dept_code  text PRIMARY KEY,
    last_n     bigint NOT NULL
);
COMMENT ON TABLE access.sql_read_seen IS 'Highest read number of each department already accounted for in the audit';
