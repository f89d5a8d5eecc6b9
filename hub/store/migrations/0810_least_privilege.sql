-- Least privilege (issue 14): the data API and the departments' views no longer run as the
-- superuser that migrates the store. Roles are cluster-wide, so they are prefixed by the database
-- like the departments' roles; a double underscore keeps them apart from <db>_<dept>, whose code
-- starts with a letter.
--   <db>__api    the data API's login (its password is set from the hub_store_api connection, or
--                a secret under $HUB_HOME for the embedded server; never in this file)
--   <db>__views  owns the departments' schemas of views: it reads shared.* and the grants they
--                check; the API may SET ROLE to it to regenerate views after a decision
-- Neither may UPDATE, DELETE or TRUNCATE the audit, nor set session_replication_role (superuser only).
-- The roles, their grants and the departments' schemas' owner are hub.store.roles.ROLES_SQL, run
-- (idempotent) at the end of every migrate(): a store restored under another database name or on
-- another server gets its own roles too, and tables the declared-table sync creates are covered.

-- belt and braces: nobody but the owner may rewrite the audit
REVOKE UPDATE, DELETE, TRUNCATE ON access.audit FROM PUBLIC;
