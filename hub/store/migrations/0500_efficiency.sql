-- Efficiency supervision (效能监管): the working-day calendar and the incremental state of the
-- indicator computation (hub/efficiency/). The indicator tables themselves are declared in
-- schemas/tables/service_efficiency.py.

CREATE TABLE hub.working_calendar (
    day      date PRIMARY KEY,
    kind     text NOT NULL CHECK (kind IN ('holiday', 'makeup_workday')),
    name     text NOT NULL,
    origin   text NOT NULL DEFAULT 'operator',
    added_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE hub.working_calendar IS
    'Exceptions to Monday-Friday: public holidays (days off) and 调休 make-up working days; extend with hub calendar add/load';

-- Every date from 2020 to two years past the calendar, with its working-day ordinal:
-- wd_index(d) = number of working days in [2020-01-01, d], so
-- working days in (a, b] = wd_index(b) - wd_index(a).
CREATE VIEW hub.working_day AS
WITH span AS (
    SELECT generate_series(
        date '2020-01-01',
        (greatest(current_date, coalesce((SELECT max(day) FROM hub.working_calendar), current_date))
            + interval '2 years')::date,
        interval '1 day'
    )::date AS day
), flagged AS (
    SELECT s.day,
           CASE c.kind
               WHEN 'holiday' THEN false
               WHEN 'makeup_workday' THEN true
               ELSE extract(isodow FROM s.day) < 6
           END AS is_working
    FROM span s LEFT JOIN hub.working_calendar c ON c.day = s.day
)
SELECT day, is_working, count(*) FILTER (WHERE is_working) OVER (ORDER BY day) AS wd_index
FROM flagged;

CREATE FUNCTION hub.is_working_day(d date) RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT is_working FROM hub.working_day WHERE day = d $$;

CREATE FUNCTION hub.working_days_between(a date, b date) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT (SELECT wd_index FROM hub.working_day WHERE day = b) - (SELECT wd_index FROM hub.working_day WHERE day = a)
$$;

CREATE FUNCTION hub.add_working_days(d date, n integer) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT min(w.day) FROM hub.working_day w
    WHERE w.is_working AND w.wd_index = (SELECT wd_index FROM hub.working_day WHERE day = d) + n
$$;

-- One row per case: the facts the daily indicators are computed from, as of the last computation.
CREATE TABLE hub.efficiency_case (
    case_no        text PRIMARY KEY,
    dept_code      text NOT NULL,
    dept_name      text NOT NULL,
    item_code      text NOT NULL,
    item_name      text NOT NULL,
    received_on    date,
    accepted_on    date,
    completed_on   date,
    ended_on       date,
    promised_days  bigint,
    due_on         date,
    on_time        boolean,
    online         boolean NOT NULL,
    satisfaction   bigint,
    evaluated_on   date,
    followup_due   date,
    followed_up_on date
);
COMMENT ON TABLE hub.efficiency_case IS 'Per-case facts behind shared.service_efficiency, as of the last computation';

-- Step batches already folded into hub.efficiency_case (exact: no timestamp race with open loads).
CREATE TABLE hub.efficiency_seen (
    batch_id      text PRIMARY KEY,
    loaded_at_max timestamptz NOT NULL
);

CREATE TABLE hub.efficiency_state (
    id                   boolean PRIMARY KEY DEFAULT true CHECK (id),
    as_of                date NOT NULL,
    calendar_fingerprint text NOT NULL,
    computed_at          timestamptz NOT NULL DEFAULT now(),
    last_run             jsonb NOT NULL DEFAULT '{}'
);

-- 差评 follow-ups recorded by the department (hub efficiency followup); the source system has none.
CREATE TABLE hub.bad_review_followup (
    case_no        text PRIMARY KEY,
    followed_up_on date NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
