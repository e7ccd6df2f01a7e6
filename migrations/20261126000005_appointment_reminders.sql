-- Appointment reminders are queued by the workers for every clinic, so they read appointments,
-- their patients, providers and the clinic's reminder setting across clinics, saying so with
-- `app.worker` like the email and unread-message workers (0004).
CREATE POLICY worker ON appointments USING (current_setting('app.worker', true) = 'on');
CREATE POLICY worker ON patients USING (current_setting('app.worker', true) = 'on');
CREATE POLICY worker ON providers USING (current_setting('app.worker', true) = 'on');
CREATE POLICY worker ON clinic_settings USING (current_setting('app.worker', true) = 'on');

-- The reminder pass looks for appointments starting soon that are still on.
CREATE INDEX appointments_upcoming ON appointments (starts_at)
    WHERE deleted_at IS NULL AND status IN ('scheduled', 'confirmed');
