-- Secure messaging between a patient and their clinic.

CREATE TABLE conversations (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    patient_id         uuid NOT NULL,
    subject            text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    status             text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    assignee_user_id   uuid,
    last_message_at    timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    created_by         uuid,
    updated_by         uuid,
    deleted_at         timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, assignee_user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX conversations_inbox ON conversations (tenant_id, last_message_at DESC NULLS LAST, id) WHERE deleted_at IS NULL;
CREATE INDEX conversations_patient ON conversations (tenant_id, patient_id);
SELECT make_tenant_table('conversations');

CREATE TABLE messages (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    conversation_id  uuid NOT NULL,
    -- NULL for system messages ("appointment booked").
    sender_user_id   uuid,
    sender_role      text NOT NULL CHECK (sender_role IN ('patient', 'staff', 'admin', 'system')),
    body             text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    -- Chosen by the sending client so a retried send is recognised, not stored twice.
    client_id        text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid,
    updated_by       uuid,
    deleted_at       timestamptz,
    UNIQUE (tenant_id, id),
    UNIQUE (conversation_id, sender_user_id, client_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id),
    FOREIGN KEY (tenant_id, sender_user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX messages_history ON messages (conversation_id, created_at DESC, id DESC);
SELECT make_tenant_table('messages');

-- Per user and conversation: how far they have read and how many messages they have not.
-- Kept in the transaction that sends or reads, so counts are always right.
CREATE TABLE conversation_reads (
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    conversation_id    uuid NOT NULL,
    user_id            uuid NOT NULL,
    unread_count       integer NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
    last_read_message_id uuid,
    last_read_at       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    created_by         uuid,
    updated_by         uuid,
    deleted_at         timestamptz,
    PRIMARY KEY (conversation_id, user_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX conversation_reads_user ON conversation_reads (tenant_id, user_id) WHERE unread_count > 0;
SELECT make_tenant_table('conversation_reads');
