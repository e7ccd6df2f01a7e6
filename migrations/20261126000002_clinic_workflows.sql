-- Live clinic workflows: intakes and the evaluation queue, providers' hours, appointments,
-- clinic settings; and the outbox relay's access.

-- Exclusion constraints over (provider, time range) need GiST on plain equality too.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- The outbox relay reads and marks every clinic's unpublished events. It says so explicitly
-- (app.relay = 'on' for its transaction); ordinary requests never set it.
CREATE POLICY relay ON outbox
    USING (current_setting('app.relay', true) = 'on')
    WITH CHECK (current_setting('app.relay', true) = 'on');

-- Per-clinic settings.
CREATE TABLE clinic_settings (
    tenant_id          uuid PRIMARY KEY REFERENCES tenants (id),
    -- Patients booking themselves: 'off', 'request' (staff approve) or 'direct' (free slots).
    self_booking       text NOT NULL DEFAULT 'request' CHECK (self_booking IN ('off', 'request', 'direct')),
    -- Hours before an appointment that its reminder email goes out.
    reminder_hours     integer NOT NULL DEFAULT 24 CHECK (reminder_hours BETWEEN 1 AND 336),
    timezone           text NOT NULL DEFAULT 'UTC',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    created_by         uuid,
    updated_by         uuid,
    deleted_at         timestamptz
);
SELECT make_tenant_table('clinic_settings');

ALTER TABLE providers
    ADD COLUMN active boolean NOT NULL DEFAULT true,
    -- Weekly hours: [{"weekday": 1..7 (ISO, Monday = 1), "start": "09:00", "end": "17:00"}, ...]
    ADD COLUMN working_hours jsonb NOT NULL DEFAULT '[]',
    ADD UNIQUE (tenant_id, id);

-- What a patient submits. Immutable once submitted: the clinic's work happens on the evaluation.
CREATE TABLE intakes (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    patient_id       uuid NOT NULL,
    chief_complaint  text NOT NULL,
    pain_level       smallint NOT NULL CHECK (pain_level BETWEEN 0 AND 10),
    pain_areas       text[] NOT NULL DEFAULT '{}',
    onset            text,
    duration         text,
    history          text,
    medications      text,
    allergies        text,
    goals            text,
    -- The red-flag questions answered "yes" (e.g. 'bladder_bowel_change'); any raises urgency.
    red_flags        text[] NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid,
    updated_by       uuid,
    deleted_at       timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);
CREATE INDEX intakes_patient ON intakes (tenant_id, patient_id, created_at DESC);
SELECT make_tenant_table('intakes');

-- The clinic's triage of an intake: the evaluation queue.
CREATE TABLE evaluations (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    intake_id          uuid NOT NULL,
    patient_id         uuid NOT NULL,
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'in_review', 'triaged', 'scheduled', 'closed')),
    urgency            text NOT NULL DEFAULT 'routine' CHECK (urgency IN ('routine', 'soon', 'urgent')),
    assignee_user_id   uuid,
    notes              text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    created_by         uuid,
    updated_by         uuid,
    deleted_at         timestamptz,
    UNIQUE (tenant_id, id),
    UNIQUE (intake_id),
    FOREIGN KEY (tenant_id, intake_id) REFERENCES intakes (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, assignee_user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX evaluations_queue ON evaluations (tenant_id, status, created_at DESC) WHERE deleted_at IS NULL;
SELECT make_tenant_table('evaluations');

CREATE TABLE appointments (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    patient_id        uuid NOT NULL,
    provider_id       uuid NOT NULL,
    evaluation_id     uuid,
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    -- 'initial', 'follow_up', 'review', 'telehealth', ...
    kind              text NOT NULL DEFAULT 'follow_up',
    location          text,
    video_url         text,
    notes             text,
    status            text NOT NULL DEFAULT 'scheduled'
                      CHECK (status IN ('requested', 'scheduled', 'confirmed', 'checked_in', 'completed', 'cancelled', 'no_show')),
    cancel_reason     text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    created_by        uuid,
    updated_by        uuid,
    deleted_at        timestamptz,
    CHECK (ends_at > starts_at),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, provider_id) REFERENCES providers (tenant_id, id),
    FOREIGN KEY (tenant_id, evaluation_id) REFERENCES evaluations (tenant_id, id),
    -- A provider is never double-booked, whatever races the application loses.
    CONSTRAINT appointments_no_double_booking EXCLUDE USING gist (
        tenant_id WITH =, provider_id WITH =, tstzrange(starts_at, ends_at) WITH &&
    ) WHERE (status NOT IN ('cancelled', 'no_show') AND deleted_at IS NULL)
);
CREATE INDEX appointments_time ON appointments (tenant_id, starts_at) WHERE deleted_at IS NULL;
CREATE INDEX appointments_patient ON appointments (tenant_id, patient_id, starts_at);
SELECT make_tenant_table('appointments');
