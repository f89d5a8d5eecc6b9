-- Limits of the data API (issue 14): failed authentication counted per source and minute,
-- query budgets per department and resource, and the provider officers who decide applications.

CREATE TABLE access.auth_failure (
    source      text NOT NULL,
    minute      timestamptz NOT NULL,
    failures    integer NOT NULL DEFAULT 1,
    dept_code   text,
    reason      text NOT NULL,
    path        text NOT NULL,
    PRIMARY KEY (source, minute)
);
COMMENT ON TABLE access.auth_failure IS
    'Failed API authentications: one row per source address and minute with a count (first reason and path, truncated)';

CREATE TABLE access.query_budget (
    dept_code   text NOT NULL DEFAULT '*',
    resource    text NOT NULL DEFAULT '*',
    kind        text NOT NULL CHECK (kind IN ('verify', 'masked_filter')),
    per_minute  integer NOT NULL CHECK (per_minute >= 0),
    per_day     integer NOT NULL CHECK (per_day >= 0),
    PRIMARY KEY (dept_code, resource, kind)
);
COMMENT ON TABLE access.query_budget IS
    'Budgets per department and resource (* = any): verification calls, values filtered on masked fields';
INSERT INTO access.query_budget (dept_code, resource, kind, per_minute, per_day) VALUES
    ('*', '*', 'verify', 60, 5000),
    ('*', '*', 'masked_filter', 100, 2000);

-- UNLOGGED: a counter bumped by every verification call must not cost a WAL flush; after a crash the
-- day's counts restart from zero, which the audit (logged) still shows.
CREATE UNLOGGED TABLE access.query_usage (
    dept_code   text NOT NULL,
    resource    text NOT NULL,
    kind        text NOT NULL,
    day         date NOT NULL,
    day_n       integer NOT NULL,
    minute      timestamptz NOT NULL,
    minute_n    integer NOT NULL,
    PRIMARY KEY (dept_code, resource, kind, day)
);
COMMENT ON TABLE access.query_usage IS 'What each department used of its budgets: per day, and in its current minute';

CREATE TABLE access.officer (
    officer_id  text PRIMARY KEY,
    dept_code   text NOT NULL REFERENCES access.department (code),
    name        text NOT NULL CHECK (length(btrim(name)) > 0),
    salt        bytea NOT NULL,
    digest      bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX officer_dept ON access.officer (dept_code);
COMMENT ON TABLE access.officer IS
    'Provider officers who decide applications; credential sho_<id>.<secret>, only HMAC-SM3(salt, secret) kept';
