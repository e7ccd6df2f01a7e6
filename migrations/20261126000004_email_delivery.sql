-- Email delivery by the workers: retries with backoff, a dead-letter state, and at-most-once
-- sending (a row is marked `sending` and committed before the send, so a crash mid-send never
-- leads to a second copy; such rows are moved to `dead` for a human to look at).

ALTER TABLE emails DROP CONSTRAINT emails_status_check;
ALTER TABLE emails ADD CONSTRAINT emails_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'dev_mailbox', 'dead'));
ALTER TABLE emails ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();
-- Which kind of email this is, so users can turn kinds off ('invitation', 'appointment',
-- 'unread_message', ...).
ALTER TABLE emails ADD COLUMN kind text NOT NULL DEFAULT 'other';
CREATE INDEX emails_due ON emails (next_attempt_at) WHERE status = 'pending';

-- The workers handle every clinic's mail; like the outbox relay, they say so explicitly.
CREATE POLICY worker ON emails
    USING (current_setting('app.worker', true) = 'on')
    WITH CHECK (current_setting('app.worker', true) = 'on');

-- The unread-message notifier reads across clinics too.
CREATE POLICY worker ON conversation_reads USING (current_setting('app.worker', true) = 'on');
CREATE POLICY worker ON messages USING (current_setting('app.worker', true) = 'on');
CREATE POLICY worker ON conversations USING (current_setting('app.worker', true) = 'on');
CREATE POLICY worker ON users USING (current_setting('app.worker', true) = 'on');

-- Per user: email kinds they turned off.
CREATE TABLE notification_preferences (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    user_id      uuid NOT NULL,
    kind         text NOT NULL,
    email        boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    created_by   uuid,
    updated_by   uuid,
    deleted_at   timestamptz,
    PRIMARY KEY (tenant_id, user_id, kind),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
SELECT make_tenant_table('notification_preferences');
CREATE POLICY worker ON notification_preferences USING (current_setting('app.worker', true) = 'on');
