-- Delivery to the provincial platform: the outbox (written in the transaction that creates each
-- certificate or case version), the derive state per source record, every send attempt, and
-- the daily reconciliation. shared.e_certificate itself is declared in schemas/tables/.
CREATE TABLE hub.push_outbox (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('certificates', 'cases')),
    record_key   text NOT NULL,
    version      integer NOT NULL CHECK (version >= 1),
    payload      jsonb NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'parked')),
    batch_id     text,
    batched_at   timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    result       text CHECK (result IN ('ACCEPTED', 'DUPLICATE', 'REJECTED')),
    code         text,
    message      text,
    accepted_on  date,
    delivered_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, record_key, version),
    CONSTRAINT delivered_has_date CHECK (status <> 'delivered' OR accepted_on IS NOT NULL),
    CONSTRAINT parked_has_code CHECK (status <> 'parked' OR code IS NOT NULL)
);
CREATE INDEX push_outbox_unbatched ON hub.push_outbox (kind, id) WHERE status = 'pending' AND batch_id IS NULL;
CREATE INDEX push_outbox_batch ON hub.push_outbox (batch_id) WHERE status = 'pending';
CREATE INDEX push_outbox_delivered ON hub.push_outbox (kind, accepted_on) WHERE status = 'delivered';
COMMENT ON TABLE hub.push_outbox IS 'Every certificate and case version to deliver to the province; delivered = ACCEPTED or DUPLICATE, parked = REJECTED until hub push retry';

CREATE TABLE hub.certificate_source (
    type_code      text NOT NULL,
    source_key     text NOT NULL,
    series         text NOT NULL UNIQUE,
    latest_version integer NOT NULL,
    content_hash   text NOT NULL,
    source_hash    text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (type_code, source_key)
);
COMMENT ON TABLE hub.certificate_source IS 'Which certificate series a source record (entity, card holder) has, and its latest version';

CREATE TABLE hub.case_source (
    case_no        text PRIMARY KEY,
    latest_version integer NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE hub.case_source IS 'Latest service_case version turned into a case record version';

CREATE TABLE hub.push_attempt (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL,
    batch_id   text NOT NULL,
    records    integer NOT NULL,
    accepted   integer NOT NULL DEFAULT 0,
    duplicate  integer NOT NULL DEFAULT 0,
    rejected   integer NOT NULL DEFAULT 0,
    outcome    text NOT NULL CHECK (outcome IN ('answered', 'refused')),
    sent_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (outcome <> 'answered' OR records = accepted + duplicate + rejected)
);
CREATE INDEX push_attempt_kind ON hub.push_attempt (kind, sent_at);
COMMENT ON TABLE hub.push_attempt IS 'One row per batch the platform answered (resends included)';

CREATE TABLE hub.push_reconciliation (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL,
    day             date NOT NULL,
    platform_count  bigint NOT NULL,
    platform_digest text NOT NULL,
    hub_count       bigint NOT NULL,
    hub_digest      text NOT NULL,
    matched         boolean NOT NULL,
    requeued        integer NOT NULL DEFAULT 0,
    checked_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_reconciliation_day ON hub.push_reconciliation (kind, day, checked_at DESC);
COMMENT ON TABLE hub.push_reconciliation IS 'Daily 对账 with the provincial platform: counts and digests per kind and day, and what was re-queued';
