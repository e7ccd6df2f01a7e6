-- Patient-reported outcome measures (PROMs): versioned questionnaire templates, assignments
-- (once or on a schedule) that create due instances, the patient's answers and the scores
-- computed at submission, and item-level alerts for staff.

-- A questionnaire as the clinic knows it; its content lives in versions.
CREATE TABLE prom_templates (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    -- The standard instrument it was created from ('phq9', 'odi', ...), or NULL for custom.
    instrument       text,
    current_version  integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid,
    updated_by       uuid,
    deleted_at       timestamptz,
    UNIQUE (tenant_id, id)
);
SELECT make_tenant_table('prom_templates');

-- Immutable once written: editing a template adds a version, so responses keep the
-- questions they answered and the scores those gave.
CREATE TABLE prom_template_versions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    template_id  uuid NOT NULL,
    version      integer NOT NULL CHECK (version >= 1),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description  text,
    -- The sections, items, scales and alert rules (api/src/proms/definition.rs).
    definition   jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    created_by   uuid,
    updated_by   uuid,
    deleted_at   timestamptz,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, template_id, version),
    FOREIGN KEY (tenant_id, template_id) REFERENCES prom_templates (tenant_id, id)
);
SELECT make_tenant_table('prom_template_versions');

-- Staff asked a patient to complete a questionnaire: once, or every `every_days` days,
-- `occurrences` times in all.
CREATE TABLE prom_assignments (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    patient_id    uuid NOT NULL,
    template_id   uuid NOT NULL,
    first_due_at  timestamptz NOT NULL,
    every_days    integer CHECK (every_days BETWEEN 1 AND 365),
    occurrences   integer NOT NULL DEFAULT 1 CHECK (occurrences BETWEEN 1 AND 52),
    note          text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    created_by    uuid,
    updated_by    uuid,
    deleted_at    timestamptz,
    CHECK (occurrences = 1 OR every_days IS NOT NULL),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, template_id) REFERENCES prom_templates (tenant_id, id)
);
SELECT make_tenant_table('prom_assignments');

-- One completion asked of the patient. The version is fixed when the instance is created;
-- `answers` holds the draft until submission, `scores` what the engine computed then.
CREATE TABLE prom_instances (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id            uuid NOT NULL REFERENCES tenants (id),
    assignment_id        uuid NOT NULL,
    patient_id           uuid NOT NULL,
    template_id          uuid NOT NULL,
    template_version_id  uuid NOT NULL,
    due_at               timestamptz NOT NULL,
    status               text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'in_progress', 'completed')),
    answers              jsonb NOT NULL DEFAULT '{}',
    started_at           timestamptz,
    submitted_at         timestamptz,
    -- [{scale, label, score, band, answered, items, insufficient}, ...]
    scores               jsonb,
    -- 'needs_review' when an alert fired, until staff acknowledge every alert.
    review_status        text NOT NULL DEFAULT 'none' CHECK (review_status IN ('none', 'needs_review', 'reviewed')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    created_by           uuid,
    updated_by           uuid,
    deleted_at           timestamptz,
    CHECK ((status = 'completed') = (submitted_at IS NOT NULL)),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, assignment_id) REFERENCES prom_assignments (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, template_id) REFERENCES prom_templates (tenant_id, id),
    FOREIGN KEY (tenant_id, template_version_id) REFERENCES prom_template_versions (tenant_id, id)
);
CREATE INDEX prom_instances_patient ON prom_instances (tenant_id, patient_id, due_at);
CREATE INDEX prom_instances_open ON prom_instances (tenant_id, due_at) WHERE status <> 'completed' AND deleted_at IS NULL;
SELECT make_tenant_table('prom_instances');

-- An item-level alert rule an answer tripped (e.g. PHQ-9 item 9 above 0).
CREATE TABLE prom_alerts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    instance_id      uuid NOT NULL,
    patient_id       uuid NOT NULL,
    item_id          text NOT NULL,
    value            double precision NOT NULL,
    message          text NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid,
    updated_by       uuid,
    deleted_at       timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, instance_id) REFERENCES prom_instances (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, acknowledged_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX prom_alerts_open ON prom_alerts (tenant_id, created_at DESC) WHERE acknowledged_at IS NULL;
SELECT make_tenant_table('prom_alerts');

-- The due-reminder pass of the workers reads every clinic's open instances.
CREATE POLICY proms_worker ON prom_instances USING (current_setting('app.worker', true) = 'on');
CREATE POLICY proms_worker ON prom_template_versions USING (current_setting('app.worker', true) = 'on');
CREATE POLICY proms_worker ON patients USING (current_setting('app.worker', true) = 'on');
