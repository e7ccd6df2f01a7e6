-- Qivr's foundation: tenancy, identity, patients, the access audit log and the event outbox.
--
-- Conventions (see docs/ARCHITECTURE.md):
--   * Every tenant-owned table has tenant_id, created_at/updated_at/created_by/updated_by and
--     deleted_at (soft delete). The audit fields are filled by triggers from the transaction's
--     app.user_id, so queries never have to name them.
--   * Child rows reference their parent by (tenant_id, id), so even a foreign-key check, which
--     RLS does not filter, cannot tie one clinic's row to another clinic's parent.
--   * Row-level security is enabled on every tenant table and applies to the role the server
--     runs as (qivr_app): a row is visible only when its tenant_id equals app.tenant_id, set per
--     transaction. qivr_app owns nothing and cannot bypass RLS.

-- The application role. Roles are cluster-wide, so another database may have made it already.
DO $$
BEGIN
    CREATE ROLE qivr_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;
GRANT USAGE ON SCHEMA public TO qivr_app;

-- The current transaction's tenant and user, or NULL outside a tenant transaction.
CREATE FUNCTION app_tenant_id() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;
CREATE FUNCTION app_user_id() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

-- Fills the audit fields of tenant tables.
CREATE FUNCTION set_audit_fields() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := coalesce(NEW.created_at, now());
        NEW.created_by := coalesce(NEW.created_by, app_user_id());
    END IF;
    NEW.updated_at := now();
    NEW.updated_by := coalesce(app_user_id(), NEW.updated_by);
    RETURN NEW;
END
$$;

-- Makes `tbl` a tenant table: audit-field trigger, RLS bound to app.tenant_id, grants.
CREATE FUNCTION make_tenant_table(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER audit_fields BEFORE INSERT OR UPDATE ON %s
                    FOR EACH ROW EXECUTE FUNCTION set_audit_fields()', tbl);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s
                    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id())', tbl);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO qivr_app', tbl);
END
$$;

CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
-- Logging in starts from a slug, before any tenant is known; the app may read tenants but
-- only provisioning (as the owner) creates them.
GRANT SELECT ON tenants TO qivr_app;

CREATE TYPE user_role AS ENUM ('admin', 'staff', 'patient');

CREATE TABLE users (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    email             text NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role              user_role NOT NULL,
    -- NULL until an invitation is accepted, or for users who sign in externally only.
    password_hash     text,
    -- The `sub` of this user's tokens at the tenant's external identity provider.
    external_subject  text,
    failed_logins     integer NOT NULL DEFAULT 0,
    locked_until      timestamptz,
    last_login_at     timestamptz,
    disabled_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    created_by        uuid,
    updated_by        uuid,
    deleted_at        timestamptz
);
ALTER TABLE users ADD UNIQUE (tenant_id, id);
CREATE UNIQUE INDEX users_email_per_tenant ON users (tenant_id, email) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_external_subject ON users (tenant_id, external_subject)
    WHERE external_subject IS NOT NULL AND deleted_at IS NULL;
SELECT make_tenant_table('users');

-- A session is one login: the family of refresh tokens rotated from it.
CREATE TABLE sessions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    user_id       uuid NOT NULL,
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    -- 'logout', 'refresh_reuse', 'user_disabled', ...
    revoked_reason text,
    ip            text,
    user_agent    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    created_by    uuid,
    updated_by    uuid,
    deleted_at    timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);
SELECT make_tenant_table('sessions');

CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    session_id  uuid NOT NULL,
    -- SHA-256 of the secret part; the token itself is never stored.
    token_hash  bytea NOT NULL UNIQUE,
    -- Set when rotated; presenting a used token again revokes the whole session.
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    updated_by  uuid,
    deleted_at  timestamptz,
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id)
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
SELECT make_tenant_table('refresh_tokens');

-- Our token signing keys (not tenant data).
CREATE TABLE signing_keys (
    kid              text PRIMARY KEY,
    private_key_pem  text NOT NULL,
    public_key       bytea NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    retired_at       timestamptz
);
GRANT SELECT, INSERT ON signing_keys TO qivr_app;

-- A tenant's own OpenID provider (what Cognito user pools were).
CREATE TABLE identity_providers (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    issuer      text NOT NULL,
    audience    text NOT NULL,
    jwks_url    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    updated_by  uuid,
    deleted_at  timestamptz
);
CREATE UNIQUE INDEX identity_providers_issuer ON identity_providers (issuer) WHERE deleted_at IS NULL;
SELECT make_tenant_table('identity_providers');

-- A token's issuer is all we know before verifying it, so finding its provider must cross
-- tenants. This is the only such read, and it returns nothing but the provider's public data.
CREATE FUNCTION identity_provider_for_issuer(token_issuer text)
RETURNS TABLE (tenant_id uuid, issuer text, audience text, jwks_url text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT tenant_id, issuer, audience, jwks_url FROM identity_providers
    WHERE issuer = token_issuer AND deleted_at IS NULL
$$;
REVOKE ALL ON FUNCTION identity_provider_for_issuer(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION identity_provider_for_issuer(text) TO qivr_app;

-- Providers are records assigned to appointments; they do not log in.
CREATE TABLE providers (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    specialty   text,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    updated_by  uuid,
    deleted_at  timestamptz
);
SELECT make_tenant_table('providers');

CREATE TABLE patients (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    -- The patient's portal login, once invited.
    user_id          uuid UNIQUE,
    first_name       text NOT NULL,
    last_name        text NOT NULL,
    date_of_birth    date NOT NULL,
    sex              text,
    email            text,
    phone            text,
    address          text,
    medical_history  text,
    medications      text,
    allergies        text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid,
    updated_by       uuid,
    deleted_at       timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX patients_by_name ON patients (tenant_id, lower(last_name), lower(first_name), id)
    WHERE deleted_at IS NULL;
SELECT make_tenant_table('patients');

CREATE TABLE conditions (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    patient_id     uuid NOT NULL,
    name           text NOT NULL,
    status         text NOT NULL CHECK (status IN ('active', 'resolved')),
    onset_date     date,
    resolved_date  date,
    notes          text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    created_by     uuid,
    updated_by     uuid,
    deleted_at     timestamptz,
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);
CREATE INDEX conditions_patient ON conditions (tenant_id, patient_id);
SELECT make_tenant_table('conditions');

-- Invitations to set a password: staff invited by an admin, patients invited to the portal.
CREATE TABLE invitations (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    user_id      uuid NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    created_by   uuid,
    updated_by   uuid,
    deleted_at   timestamptz,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
SELECT make_tenant_table('invitations');

-- Outgoing email. The workers send `pending` rows (SES v2); with no SES configured the rows
-- stay here as the dev mailbox, which admins can read.
CREATE TABLE emails (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    -- Makes enqueueing idempotent: the same key is never sent twice.
    idempotency_key  text NOT NULL,
    to_address       text NOT NULL,
    subject          text NOT NULL,
    body_text        text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dev_mailbox', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    sent_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid,
    updated_by       uuid,
    deleted_at       timestamptz,
    UNIQUE (tenant_id, idempotency_key)
);
SELECT make_tenant_table('emails');

-- Events written in the same transaction as the change they describe; published right after
-- commit, and by the relay for whatever a crash left unpublished (DESIGN §2).
CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    channel       text NOT NULL,
    kind          text NOT NULL,
    payload       jsonb NOT NULL,
    published_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    created_by    uuid,
    updated_by    uuid,
    deleted_at    timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
SELECT make_tenant_table('outbox');

-- The access audit log: who read or wrote what, when, from where. Append-only and
-- tamper-evident: each entry's hash covers its content and the previous entry's hash, per
-- tenant, so editing or removing any entry breaks every hash after it.
CREATE TABLE access_audit (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    seq            bigint NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    actor_user_id  uuid,
    actor_role     text,
    -- e.g. 'patient.read', 'patient.update', 'auth.login', 'auth.login_failed', 'auth.lockout'
    action         text NOT NULL,
    resource_type  text,
    resource_id    uuid,
    patient_id     uuid,
    ip             text,
    user_agent     text,
    request_id     text,
    detail         jsonb NOT NULL DEFAULT '{}',
    prev_hash      bytea NOT NULL,
    hash           bytea NOT NULL,
    -- Written once, so created_at is `at`; no updated_*/deleted_at: entries never change.
    UNIQUE (tenant_id, seq)
);
CREATE INDEX access_audit_patient ON access_audit (tenant_id, patient_id, at) WHERE patient_id IS NOT NULL;
CREATE INDEX access_audit_actor ON access_audit (tenant_id, actor_user_id, at);
ALTER TABLE access_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE access_audit FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON access_audit
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT ON access_audit TO qivr_app;

-- The last entry of each tenant's chain; locked while an entry is appended.
CREATE TABLE access_audit_heads (
    tenant_id  uuid PRIMARY KEY REFERENCES tenants (id),
    seq        bigint NOT NULL,
    hash       bytea NOT NULL
);

-- The bytes an entry's hash covers, after the previous hash.
CREATE FUNCTION access_audit_digest(prev bytea, e access_audit) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(prev || convert_to(concat_ws('|',
        e.tenant_id, e.seq, (extract(epoch FROM e.at) * 1000000)::bigint, e.actor_user_id,
        e.actor_role, e.action, e.resource_type, e.resource_id, e.patient_id, e.ip,
        e.user_agent, e.request_id, e.detail::text), 'UTF8'))
$$;

CREATE FUNCTION access_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    head access_audit_heads;
BEGIN
    INSERT INTO access_audit_heads (tenant_id, seq, hash)
    VALUES (NEW.tenant_id, 0, '\x'::bytea) ON CONFLICT (tenant_id) DO NOTHING;
    SELECT * INTO head FROM access_audit_heads WHERE tenant_id = NEW.tenant_id FOR UPDATE;
    NEW.at := now();
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    NEW.hash := access_audit_digest(head.hash, NEW);
    UPDATE access_audit_heads SET seq = NEW.seq, hash = NEW.hash WHERE tenant_id = NEW.tenant_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER chain BEFORE INSERT ON access_audit
    FOR EACH ROW EXECUTE FUNCTION access_audit_chain();

CREATE FUNCTION access_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the access audit log is append-only';
END
$$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON access_audit
    FOR EACH ROW EXECUTE FUNCTION access_audit_refuse_change();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON access_audit
    FOR EACH STATEMENT EXECUTE FUNCTION access_audit_refuse_change();

-- The first entry of the current tenant's chain whose hash does not match its content and
-- predecessor, or NULL when the whole chain is intact.
CREATE FUNCTION access_audit_first_broken() RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    e access_audit;
    prev bytea := '\x'::bytea;
    expected bigint := 1;
BEGIN
    FOR e IN SELECT * FROM access_audit WHERE tenant_id = app_tenant_id() ORDER BY seq LOOP
        IF e.seq <> expected OR e.prev_hash <> prev OR e.hash <> access_audit_digest(prev, e) THEN
            RETURN e.seq;
        END IF;
        prev := e.hash;
        expected := expected + 1;
    END LOOP;
    RETURN NULL;
END
$$;
GRANT EXECUTE ON FUNCTION access_audit_first_broken() TO qivr_app;
