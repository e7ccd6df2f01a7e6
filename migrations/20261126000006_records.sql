-- Patient records: documents (metadata here, bytes in the configured storage), consents with
-- versions and an append-only history of decisions, message attachments, and the history of
-- evaluation status changes that the patient timeline shows.

-- An uploaded file of a patient. The bytes live in storage under `storage_key`; this row is
-- what the API lists, checks access against and audits. Deleting is soft: the row and the
-- bytes stay for the record.
CREATE TABLE documents (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    patient_id         uuid NOT NULL,
    file_name          text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    -- The type the content was checked to be (declared and sniffed agree), served on download.
    content_type       text NOT NULL,
    size_bytes         bigint NOT NULL CHECK (size_bytes > 0),
    -- Hex SHA-256 of the content, computed while it streamed in.
    sha256             text NOT NULL CHECK (length(sha256) = 64),
    storage_key        text NOT NULL,
    -- 'referral', 'imaging', 'lab_result', 'letter', 'other', ...
    category           text NOT NULL DEFAULT 'other' CHECK (length(category) BETWEEN 1 AND 50),
    description        text CHECK (length(description) <= 1000),
    -- 'patient' or the clinic role that uploaded it.
    uploaded_by_role   text NOT NULL CHECK (uploaded_by_role IN ('patient', 'staff', 'admin')),
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    created_by         uuid,
    updated_by         uuid,
    deleted_at         timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);
CREATE INDEX documents_patient ON documents (tenant_id, patient_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
SELECT make_tenant_table('documents');

-- A kind of consent a clinic asks for ('privacy', 'treatment', 'telehealth'), and whether
-- patients must grant it before using the portal.
CREATE TABLE consent_types (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    key         text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,49}$'),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    required    boolean NOT NULL DEFAULT false,
    -- Retired types are no longer asked for; their history stays.
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid,
    updated_by  uuid,
    deleted_at  timestamptz,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, key)
);
SELECT make_tenant_table('consent_types');

-- The text of a consent as patients saw it. Versions never change: a new text is a new
-- version, and a patient's grant of an older version no longer counts as current.
CREATE TABLE consent_versions (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    consent_type_id  uuid NOT NULL,
    version          integer NOT NULL CHECK (version >= 1),
    body             text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid,
    updated_by       uuid,
    deleted_at       timestamptz,
    UNIQUE (tenant_id, id),
    UNIQUE (consent_type_id, version),
    FOREIGN KEY (tenant_id, consent_type_id) REFERENCES consent_types (tenant_id, id)
);
SELECT make_tenant_table('consent_versions');
REVOKE UPDATE, DELETE ON consent_versions FROM qivr_app;

-- Every grant and revocation, in order. Append-only: the application may not change or
-- remove a decision, so the history is exactly what happened.
CREATE TABLE consent_decisions (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    patient_id          uuid NOT NULL,
    consent_type_id     uuid NOT NULL,
    consent_version_id  uuid NOT NULL,
    decision            text NOT NULL CHECK (decision IN ('granted', 'revoked')),
    -- 'patient' when the patient decided in the portal; a clinic role when staff recorded it
    -- (e.g. from a signed paper form).
    recorded_by_role    text NOT NULL CHECK (recorded_by_role IN ('patient', 'staff', 'admin')),
    decided_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    created_by          uuid,
    updated_by          uuid,
    deleted_at          timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, consent_type_id) REFERENCES consent_types (tenant_id, id),
    FOREIGN KEY (tenant_id, consent_version_id) REFERENCES consent_versions (tenant_id, id)
);
CREATE INDEX consent_decisions_patient ON consent_decisions (tenant_id, patient_id, consent_type_id, decided_at DESC);
SELECT make_tenant_table('consent_decisions');
REVOKE UPDATE, DELETE ON consent_decisions FROM qivr_app;

-- Documents a message refers to (metadata travels with the message; content is downloaded
-- through the documents API with its own access checks).
CREATE TABLE message_attachments (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    message_id   uuid NOT NULL,
    document_id  uuid NOT NULL,
    position     smallint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    created_by   uuid,
    updated_by   uuid,
    deleted_at   timestamptz,
    PRIMARY KEY (message_id, document_id),
    FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id)
);
SELECT make_tenant_table('message_attachments');

-- Each status an evaluation has been in, written by a trigger so every path that changes an
-- evaluation records it. The timeline reads it.
CREATE TABLE evaluation_status_changes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    evaluation_id  uuid NOT NULL,
    patient_id     uuid NOT NULL,
    status         text NOT NULL,
    changed_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    created_by     uuid,
    updated_by     uuid,
    deleted_at     timestamptz,
    FOREIGN KEY (tenant_id, evaluation_id) REFERENCES evaluations (tenant_id, id)
);
CREATE INDEX evaluation_status_changes_patient ON evaluation_status_changes (tenant_id, patient_id, changed_at DESC);
SELECT make_tenant_table('evaluation_status_changes');
REVOKE UPDATE, DELETE ON evaluation_status_changes FROM qivr_app;

CREATE FUNCTION record_evaluation_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO evaluation_status_changes (tenant_id, evaluation_id, patient_id, status)
        VALUES (NEW.tenant_id, NEW.id, NEW.patient_id, NEW.status);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER status_history AFTER INSERT OR UPDATE OF status ON evaluations
    FOR EACH ROW EXECUTE FUNCTION record_evaluation_status();

-- Evaluations from before this migration: their current status, as of their last change. Row
-- security is forced even on the tables' owner, so it is lifted for this one statement (inside
-- the migration's transaction) for every clinic's rows to be copied.
ALTER TABLE evaluations NO FORCE ROW LEVEL SECURITY;
ALTER TABLE evaluation_status_changes NO FORCE ROW LEVEL SECURITY;
INSERT INTO evaluation_status_changes (tenant_id, evaluation_id, patient_id, status, changed_at)
SELECT tenant_id, id, patient_id, status, updated_at FROM evaluations;
ALTER TABLE evaluations FORCE ROW LEVEL SECURITY;
ALTER TABLE evaluation_status_changes FORCE ROW LEVEL SECURITY;

-- The documents a message carries, as the message's `attachments` array (metadata only).
-- Runs as the caller, so row-level security applies as to any query.
CREATE FUNCTION message_attachments_json(message uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'document_id', d.id, 'patient_id', d.patient_id, 'file_name', d.file_name,
               'content_type', d.content_type, 'size_bytes', d.size_bytes) ORDER BY a.position), '[]')
    FROM message_attachments a JOIN documents d ON d.id = a.document_id
    WHERE a.message_id = message AND d.deleted_at IS NULL
$$;
