-- Consumers of the shared tables: departments, their API keys, applications (grants), the
-- hash-chained audit log, objections (校核纠错) and the SQL roles generated from grants.
CREATE SCHEMA IF NOT EXISTS access;

CREATE TABLE access.department (
    code        text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]{0,15}$'),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE access.department IS 'Registered consuming (and providing) departments';

CREATE TABLE access.api_key (
    key_id      text PRIMARY KEY,
    dept_code   text NOT NULL REFERENCES access.department (code),
    salt        bytea NOT NULL,
    digest      bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_key_dept ON access.api_key (dept_code);
COMMENT ON TABLE access.api_key IS 'API keys: only HMAC-SM3(salt, secret) is kept; the secret is shown once';

CREATE TABLE access.application (
    id           bigserial PRIMARY KEY,
    dept_code    text NOT NULL REFERENCES access.department (code),
    resource     text NOT NULL,
    provider     text NOT NULL,
    fields       text[] NOT NULL,
    unmasked     text[] NOT NULL DEFAULT '{}',
    purpose      text NOT NULL CHECK (length(btrim(purpose)) > 0),
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'approved', 'refused', 'revoked')),
    reason       text,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    due_on       date NOT NULL,
    decided_by   text,
    decided_at   timestamptz,
    expires_at   timestamptz,
    CONSTRAINT refusal_has_reason CHECK (status <> 'refused' OR length(btrim(coalesce(reason, ''))) > 0),
    CONSTRAINT unmasked_within_fields CHECK (unmasked <@ fields)
);
CREATE INDEX application_dept_resource ON access.application (dept_code, resource) WHERE status = 'approved';
COMMENT ON TABLE access.application IS 'Applications for 有条件共享 resources/fields; an approved, unexpired one is a grant';

CREATE TABLE access.audit (
    seq        bigint PRIMARY KEY,
    at         timestamptz NOT NULL,
    dept_code  text,
    action     text NOT NULL,
    resource   text,
    fields     text[] NOT NULL DEFAULT '{}',
    row_count  bigint NOT NULL DEFAULT 0,
    purpose    text,
    outcome    text NOT NULL CHECK (outcome IN ('allowed', 'refused')),
    detail     text NOT NULL DEFAULT '',
    prev_hash  text NOT NULL,
    hash       text NOT NULL
);
COMMENT ON TABLE access.audit IS 'Append-only, SM3 hash-chained log of every read, refusal, grant and view change';

CREATE TABLE access.audit_head (
    id    integer PRIMARY KEY CHECK (id = 1),
    seq   bigint NOT NULL,
    hash  text NOT NULL
);
COMMENT ON TABLE access.audit_head IS 'Last sequence and hash of access.audit, so a deleted tail is detected too';

CREATE FUNCTION access.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access.audit is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON access.audit
    FOR EACH ROW EXECUTE FUNCTION access.audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON access.audit
    FOR EACH STATEMENT EXECUTE FUNCTION access.audit_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON access.audit FROM PUBLIC;

CREATE TABLE access.objection (
    id                 bigserial PRIMARY KEY,
    dept_code          text NOT NULL REFERENCES access.department (code),
    provider           text NOT NULL,
    resource           text NOT NULL,
    record_key         jsonb NOT NULL,
    field              text,
    claim              text NOT NULL CHECK (length(btrim(claim)) > 0),
    status             text NOT NULL DEFAULT 'filed'
                       CHECK (status IN ('filed', 'in_review', 'confirmed', 'corrected')),
    filed_at           timestamptz NOT NULL DEFAULT now(),
    due_on             date NOT NULL,
    batch_at_filing    text,
    hash_at_filing     text,
    answer             text,
    answered_by        text,
    resolved_at        timestamptz,
    correcting_batch   text REFERENCES hub.ledger (batch_id)
);
CREATE INDEX objection_provider_open ON access.objection (provider, due_on) WHERE status IN ('filed', 'in_review');
COMMENT ON TABLE access.objection IS '校核纠错: a consumer questions a record; the provider confirms or corrects it';

CREATE TABLE access.sql_access (
    dept_code   text PRIMARY KEY REFERENCES access.department (code),
    role_name   text NOT NULL UNIQUE,
    schema_name text NOT NULL UNIQUE,
    synced_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE access.sql_access IS 'Departments with a PostgreSQL role whose views are generated from their grants';
