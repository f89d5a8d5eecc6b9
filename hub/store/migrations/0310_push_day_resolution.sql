-- The day the platform counts a delivered record on, when its answer did not tell, and the
-- alerts of a 对账 difference that a re-queue did not repair.
--
-- A DUPLICATE answer for a record the hub never saw ACCEPTED (the reply that stored it was lost)
-- or an ACCEPTED answer to a request that spanned midnight leaves the day open: accepted_on is a
-- guess and accepted_days lists the days it may be. The daily 对账 settles it from the platform's
-- count and digest per day (hub.push.reconcile); accepted_group keeps together the records the
-- platform stored in one go (one batch), which always share a day.
ALTER TABLE hub.push_outbox
    ADD COLUMN accepted_days  date[],
    ADD COLUMN accepted_group text,
    ADD CONSTRAINT open_day_has_group CHECK (accepted_days IS NULL OR accepted_group IS NOT NULL);
CREATE INDEX push_outbox_open_day ON hub.push_outbox (kind) WHERE status = 'delivered' AND accepted_days IS NOT NULL;
COMMENT ON COLUMN hub.push_outbox.accepted_days IS 'Days the platform may count this record on when its answer did not tell (NULL: accepted_on is certain); narrowed by the daily 对账';
COMMENT ON COLUMN hub.push_outbox.accepted_group IS 'The batch whose send stored this record when its day is open: the records of one group share a day';

ALTER TABLE hub.push_reconciliation ADD COLUMN rebooked integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN hub.push_reconciliation.rebooked IS 'Records whose day this comparison settled from the platform''s figures (moved or confirmed)';

CREATE TABLE hub.reconciliation_alert (
    id             bigserial PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('certificates', 'cases')),
    day            date NOT NULL,
    platform_count bigint NOT NULL,
    hub_count      bigint NOT NULL,
    message        text NOT NULL,
    raised_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    cleared_at     timestamptz
);
CREATE UNIQUE INDEX reconciliation_alert_open ON hub.reconciliation_alert (kind, day) WHERE cleared_at IS NULL;
COMMENT ON TABLE hub.reconciliation_alert IS 'A day whose 对账 still differs after its records were re-queued and resent; cleared when a later comparison of that day matches';
