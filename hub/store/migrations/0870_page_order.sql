-- The paging order of a key a department sees masked (issue 14): the API pages such a resource by
-- HMAC-SHA256(secret, key) rather than by the key, because the key's own order gives away what the
-- mask hides (an identity number sorts people by birth date within a region).
--
-- The secret lives in this table, which no role but the owner can read (schema hub is not visible
-- to the departments' SQL roles, and PUBLIC has no privilege on it); hub.store.page_order inserts it
-- once, at migration, from the operating system's random source. It is stored as the two HMAC pads
-- (K xor 0x36.., K xor 0x5c.., RFC 2104) so each digest is two sha256 calls.
--
-- hub.page_digest is declared IMMUTABLE because the stored generated column _page_digest built on it
-- (one per declared table whose key holds a personal field, hub.store.page_order) must be: the
-- secret is never updated in place. Replacing it means rewriting every _page_digest column (an
-- UPDATE that sets each row's key to itself) in the same transaction.
CREATE TABLE hub.page_order_key (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    inner_pad  bytea NOT NULL CHECK (length(inner_pad) = 64),
    outer_pad  bytea NOT NULL CHECK (length(outer_pad) = 64),
    created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON hub.page_order_key FROM PUBLIC;
COMMENT ON TABLE hub.page_order_key IS 'Secret of the paging order of masked keys (HMAC pads); owner only';

CREATE FUNCTION hub.page_digest(key text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT sha256(k.outer_pad || sha256(k.inner_pad || convert_to(key, 'UTF8'))) FROM hub.page_order_key k
$$;
REVOKE ALL ON FUNCTION hub.page_digest(text) FROM PUBLIC;
COMMENT ON FUNCTION hub.page_digest(text) IS 'HMAC-SHA256 of a key under the secret paging-order key';
