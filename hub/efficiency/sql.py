"""The set-based SQL of the indicator computation (see :mod:`hub.efficiency.compute` for the flow).

Every statement runs in the computation's transaction against temporary tables it creates:
``wd`` (day, is_working, wd_index), ``wdi`` (wd_index → first working day with it), ``changed``
(case numbers to refresh), ``new_facts`` and ``affected`` (stat dates to rewrite).
"""

from __future__ import annotations

from schemas.tables.service_efficiency import SERVICE_BAD_REVIEW, SERVICE_EFFICIENCY

LOCAL_DATE = "(s.step_at AT TIME ZONE 'Asia/Shanghai')::date"
ONLINE_CHANNELS = ("WEB", "MOBILE")
FOLLOWUP_WORKING_DAYS = 15
SATISFIED = (4, 5)
BAD = (1, 2)

CALENDAR = """
CREATE TEMP TABLE wd ON COMMIT DROP AS SELECT day, is_working, wd_index FROM hub.working_day;
ALTER TABLE wd ADD PRIMARY KEY (day);
CREATE TEMP TABLE wdi ON COMMIT DROP AS
    SELECT wd_index, min(day) AS day FROM wd WHERE is_working GROUP BY wd_index;
ALTER TABLE wdi ADD PRIMARY KEY (wd_index);
ANALYZE wd;
ANALYZE wdi;
"""

# Cases touched by step rows not yet folded in (new batch, or a batch re-run with newer rows), and
# cases whose recorded 差评 follow-up differs from the one their facts were built with.
CHANGED = """
CREATE TEMP TABLE new_batches ON COMMIT DROP AS
    SELECT s.batch_id, max(s.loaded_at) AS loaded_at_max
    FROM shared.service_case_step s LEFT JOIN hub.efficiency_seen e ON e.batch_id = s.batch_id
    WHERE e.batch_id IS NULL OR s.loaded_at > e.loaded_at_max
    GROUP BY s.batch_id;
CREATE TEMP TABLE changed ON COMMIT DROP AS
    SELECT DISTINCT s.case_no
    FROM shared.service_case_step s LEFT JOIN hub.efficiency_seen e ON e.batch_id = s.batch_id
    WHERE e.batch_id IS NULL OR s.loaded_at > e.loaded_at_max
    UNION
    SELECT c.case_no FROM hub.efficiency_case c
    FULL JOIN hub.bad_review_followup f ON f.case_no = c.case_no
    WHERE c.case_no IS NOT NULL AND c.followed_up_on IS DISTINCT FROM f.followed_up_on;
ALTER TABLE changed ADD PRIMARY KEY (case_no);
ANALYZE changed;
"""

_ONLINE = ", ".join(f"'{c}'" for c in ONLINE_CHANNELS)
_BAD = ", ".join(str(v) for v in BAD)

NEW_FACTS = f"""
CREATE TEMP TABLE new_facts ON COMMIT DROP AS
WITH st AS (
    SELECT s.*, {LOCAL_DATE} AS d FROM shared.service_case_step s JOIN changed USING (case_no)
), agg AS (
    SELECT case_no,
           (array_agg(dept_code ORDER BY step_no DESC))[1] AS dept_code,
           (array_agg(dept_name ORDER BY step_no DESC))[1] AS dept_name,
           (array_agg(item_code ORDER BY step_no DESC))[1] AS item_code,
           (array_agg(item_name ORDER BY step_no DESC))[1] AS item_name,
           min(d) FILTER (WHERE step = 'SQ') AS received_on,
           min(d) FILTER (WHERE step = 'SL') AS accepted_on,
           min(d) FILTER (WHERE step = 'BJ') AS completed_on,
           min(d) FILTER (WHERE step IN ('BYSL', 'CH')) AS ended_on,
           max(promised_days) AS promised_days,
           bool_and(channel IN ({_ONLINE})) AS all_online,
           (array_agg(satisfaction ORDER BY step_no DESC) FILTER (WHERE satisfaction BETWEEN 1 AND 5))[1]
               AS satisfaction,
           (array_agg(d ORDER BY step_no DESC) FILTER (WHERE satisfaction BETWEEN 1 AND 5))[1] AS evaluated_on
    FROM st GROUP BY case_no
), dated AS (
    SELECT a.*, ws.wd_index AS start_index, due.day AS due_on,
           CASE WHEN a.completed_on IS NOT NULL THEN a.satisfaction END AS eval_value,
           CASE WHEN a.completed_on IS NOT NULL AND a.satisfaction IS NOT NULL THEN a.evaluated_on END AS eval_on
    FROM agg a
    LEFT JOIN wd ws ON ws.day = coalesce(a.accepted_on, a.received_on)
    LEFT JOIN wdi due ON due.wd_index = ws.wd_index + a.promised_days
)
SELECT d.case_no, d.dept_code, d.dept_name, d.item_code, d.item_name,
       d.received_on, d.accepted_on, d.completed_on, d.ended_on, d.promised_days, d.due_on,
       CASE WHEN d.completed_on IS NOT NULL AND d.due_on IS NOT NULL
            THEN wc.wd_index - d.start_index <= d.promised_days END AS on_time,
       d.completed_on IS NOT NULL AND d.all_online AS online,
       d.eval_value AS satisfaction, d.eval_on AS evaluated_on,
       CASE WHEN d.eval_value IN ({_BAD}) THEN fu.day END AS followup_due,
       CASE WHEN d.eval_value IN ({_BAD}) THEN f.followed_up_on END AS followed_up_on
FROM dated d
LEFT JOIN wd wc ON wc.day = d.completed_on
LEFT JOIN wd we ON we.day = d.eval_on
LEFT JOIN wdi fu ON fu.wd_index = we.wd_index + {FOLLOWUP_WORKING_DAYS}
LEFT JOIN hub.bad_review_followup f ON f.case_no = d.case_no;
"""


def contributions_sql(facts: str, *, only_affected: bool) -> str:
    """What each case contributes to which stat date, as rows ``(kind, d, dept…, item…, a)``.

    A case contributes a point on its 申请, 受理, 办结 and evaluation days, and an interval of
    days while it is open past its due date (``a`` = working days past due) and while its 差评
    is past its follow-up due. Intervals are cut at ``%(as_of)s``.

    Args:
        facts: Table of case facts (``hub.efficiency_case`` or a temporary one).
        only_affected: Restrict to the dates in the temporary table ``affected``.
    """
    group = "f.dept_code, f.dept_name, f.item_code, f.item_name"
    point = "AND {col} IN (SELECT d FROM affected)" if only_affected else ""

    def points(kind: str, col: str, a: str, b: str = "NULL") -> str:
        cond = point.format(col=f"f.{col}")
        return (
            f"SELECT '{kind}'::text AS kind, f.{col} AS d, {group}, {a}::bigint AS a, {b}::bigint AS b "
            f"FROM {facts} f WHERE f.{col} IS NOT NULL AND f.{col} <= %(as_of)s {cond}"
        )

    def interval(kind: str, due: str, until: str, where: str) -> str:
        # From the first working day after the due day (o) to the day before the clock stopped.
        end = f"least(coalesce({until}, %(as_of)s::date), %(as_of)s::date)"
        days = (
            f"JOIN affected x ON x.d BETWEEN o.day AND {end}"
            if only_affected
            else f"CROSS JOIN LATERAL generate_series(o.day, {end}, interval '1 day') AS x(d)"
        )
        return (
            f"SELECT '{kind}'::text, x.d::date, {group}, xd.wd_index - dd.wd_index, NULL::bigint FROM {facts} f "
            f"JOIN wd dd ON dd.day = f.{due} JOIN wdi o ON o.wd_index = dd.wd_index + 1 {days} "
            f"JOIN wd xd ON xd.day = x.d WHERE {where}"
        )

    return "\nUNION ALL\n".join(
        (
            points("received", "received_on", "NULL"),
            points("accepted", "accepted_on", "NULL"),
            points("completed", "completed_on", "f.on_time::int", "f.online::int"),
            points("evaluated", "evaluated_on", "f.satisfaction"),
            interval("overdue", "due_on", "coalesce(f.completed_on, f.ended_on) - 1", "f.accepted_on IS NOT NULL"),
            interval("bad_overdue", "followup_due", "f.followed_up_on - 1", "true"),
        )
    )


# A full computation rewrites every day from the first case event to as_of.
AFFECTED_ALL = """
CREATE TEMP TABLE affected (d date PRIMARY KEY) ON COMMIT DROP;
INSERT INTO affected
SELECT generate_series(min(least(received_on, accepted_on, completed_on, evaluated_on)), %(as_of)s::date,
                       interval '1 day')::date
FROM new_facts;
ANALYZE affected;
"""

AFFECTED = """
CREATE TEMP TABLE affected (d date PRIMARY KEY) ON COMMIT DROP;
INSERT INTO affected
SELECT DISTINCT d FROM (
    (SELECT * FROM ({old}) o EXCEPT ALL SELECT * FROM ({new}) n)
    UNION ALL
    (SELECT * FROM ({new}) n EXCEPT ALL SELECT * FROM ({old}) o)
) diff
UNION
SELECT generate_series(%(since)s::date + 1, %(as_of)s::date, interval '1 day')::date WHERE %(since)s::date IS NOT NULL
ON CONFLICT DO NOTHING;
ANALYZE affected;
"""

OLD_FACTS = "(SELECT c.* FROM hub.efficiency_case c JOIN changed USING (case_no))"

_TABLE = SERVICE_EFFICIENCY.qualified_name


def stats_insert_sql() -> str:
    """Delete the affected dates' rows and insert them again from the facts (params: as_of, batch_id)."""
    contributions = contributions_sql("hub.efficiency_case", only_affected=True)
    business = ", ".join(f.name for f in SERVICE_EFFICIENCY.fields)
    return f"""
DELETE FROM {_TABLE} WHERE stat_date IN (SELECT d FROM affected);
INSERT INTO {_TABLE} ({business}, source_system, batch_id, loaded_at, record_hash)
SELECT *, 'efficiency', %(batch_id)s, now(), md5(ROW({business})::text) FROM (
SELECT d AS stat_date, dept_code, item_code, max(dept_name) AS dept_name, max(item_name) AS item_name,
       count(*) FILTER (WHERE kind = 'received') AS received,
       count(*) FILTER (WHERE kind = 'accepted') AS accepted,
       count(*) FILTER (WHERE kind = 'completed') AS completed,
       count(a) FILTER (WHERE kind = 'completed') AS completed_with_promise,
       count(*) FILTER (WHERE kind = 'completed' AND a = 1) AS completed_on_time,
       round((count(*) FILTER (WHERE kind = 'completed' AND a = 1))::numeric
             / nullif(count(a) FILTER (WHERE kind = 'completed'), 0), 4) AS on_time_rate,
       count(*) FILTER (WHERE kind = 'overdue') AS overdue_open,
       coalesce(sum(a) FILTER (WHERE kind = 'overdue'), 0) AS overdue_working_days,
       coalesce(max(a) FILTER (WHERE kind = 'overdue'), 0) AS overdue_max_working_days,
       count(*) FILTER (WHERE kind = 'completed' AND b = 1) AS completed_online,
       round((count(*) FILTER (WHERE kind = 'completed' AND b = 1))::numeric
             / nullif(count(*) FILTER (WHERE kind = 'completed'), 0), 4) AS online_rate,
       count(*) FILTER (WHERE kind = 'evaluated' AND a = 5) AS eval_5,
       count(*) FILTER (WHERE kind = 'evaluated' AND a = 4) AS eval_4,
       count(*) FILTER (WHERE kind = 'evaluated' AND a = 3) AS eval_3,
       count(*) FILTER (WHERE kind = 'evaluated' AND a = 2) AS eval_2,
       count(*) FILTER (WHERE kind = 'evaluated' AND a = 1) AS eval_1,
       count(*) FILTER (WHERE kind = 'evaluated') AS evaluations,
       round((count(*) FILTER (WHERE kind = 'evaluated' AND a IN {SATISFIED}))::numeric
             / nullif(count(*) FILTER (WHERE kind = 'evaluated'), 0), 4) AS satisfaction_rate,
       count(*) FILTER (WHERE kind = 'evaluated' AND a IN {BAD}) AS bad_reviews,
       count(*) FILTER (WHERE kind = 'bad_overdue') AS bad_reviews_overdue
FROM ({contributions}) c
GROUP BY d, dept_code, item_code
) s;
"""


FACT_COLUMNS = (
    "case_no, dept_code, dept_name, item_code, item_name, received_on, accepted_on, completed_on, ended_on, "
    "promised_days, due_on, on_time, online, satisfaction, evaluated_on, followup_due, followed_up_on"
)
_REVIEW = SERVICE_BAD_REVIEW.qualified_name
_REVIEW_COLUMNS = ", ".join(f.name for f in SERVICE_BAD_REVIEW.fields)

# 差评 rows of the changed cases are rewritten; every row's overdue flag is re-judged as of as_of:
# overdue when the follow-up came (or, still missing, as_of is) on or after the first working day
# past the due day.
BAD_REVIEWS = f"""
DELETE FROM {_REVIEW} WHERE case_no IN (SELECT case_no FROM changed);
INSERT INTO {_REVIEW} ({_REVIEW_COLUMNS}, source_system, batch_id, loaded_at, record_hash)
SELECT case_no, dept_code, dept_name, item_code, item_name, satisfaction, evaluated_on, followup_due, followed_up_on,
       %(as_of)s, false, 'efficiency', %(batch_id)s, now(), ''
FROM hub.efficiency_case JOIN changed USING (case_no)
WHERE followup_due IS NOT NULL;
UPDATE {_REVIEW} r SET as_of = %(as_of)s, followup_overdue = z.overdue, batch_id = %(batch_id)s, loaded_at = now(),
       record_hash = md5(ROW(r.case_no, r.dept_code, r.dept_name, r.item_code, r.item_name, r.satisfaction,
                             r.evaluated_on, r.followup_due, r.followed_up_on, %(as_of)s::date, z.overdue)::text)
FROM (SELECT r2.case_no, coalesce(r2.followed_up_on, %(as_of)s::date) >= o.day AS overdue
      FROM {_REVIEW} r2 JOIN wd dd ON dd.day = r2.followup_due JOIN wdi o ON o.wd_index = dd.wd_index + 1) z
WHERE z.case_no = r.case_no AND (r.as_of <> %(as_of)s OR r.followup_overdue <> z.overdue OR r.record_hash = '');
"""

FOLD_FACTS = f"""
DELETE FROM hub.efficiency_case WHERE case_no IN (SELECT case_no FROM changed);
INSERT INTO hub.efficiency_case ({FACT_COLUMNS}) SELECT {FACT_COLUMNS} FROM new_facts;
INSERT INTO hub.efficiency_seen (batch_id, loaded_at_max) SELECT batch_id, loaded_at_max FROM new_batches
ON CONFLICT (batch_id) DO UPDATE
    SET loaded_at_max = greatest(hub.efficiency_seen.loaded_at_max, excluded.loaded_at_max);
"""
