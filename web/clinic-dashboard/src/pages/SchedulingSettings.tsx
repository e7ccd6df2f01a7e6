import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  SELF_BOOKING_LABELS,
  SelectField,
  TextField,
  errorMessage,
  formErrorMessage,
  type ClinicSettings,
  type ClinicSettingsPatch,
  type SelfBooking,
} from '@qivr/shared';
import { api } from '../session';
import { AdminOnly } from '../admin';
import { appointmentKeys, useClinicSettings } from '../appointments';

export const SCHEDULING_ADMIN_ONLY = 'Only clinic admins can change scheduling settings.';

export function SchedulingSettingsPage() {
  return (
    <AdminOnly title="Scheduling settings" message={SCHEDULING_ADMIN_ONLY}>
      <SchedulingSettings />
    </AdminOnly>
  );
}

function SchedulingSettings() {
  const settings = useClinicSettings();
  return (
    <section>
      <div className="page-head">
        <h1>Scheduling settings</h1>
      </div>
      {settings.isPending ? (
        <p className="muted">Loading settings…</p>
      ) : settings.isError ? (
        <div className="notice notice--error" role="alert">
          Could not load the settings: {errorMessage(settings.error)}
        </div>
      ) : (
        <SettingsForm key={JSON.stringify(settings.data)} settings={settings.data} />
      )}
    </section>
  );
}

const fields = ['self_booking', 'reminder_hours', 'timezone'];

/** The zones the browser knows, for suggestions (the server checks the name). */
function knownZones(): string[] {
  try {
    return (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  } catch {
    return [];
  }
}

function SettingsForm({ settings }: { settings: ClinicSettings }) {
  const queryClient = useQueryClient();
  const [mode, setMode] = useState<SelfBooking>(settings.self_booking);
  const [reminder, setReminder] = useState(String(settings.reminder_hours));
  const [zone, setZone] = useState(settings.timezone);
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: (patch: ClinicSettingsPatch) => api.clinicSettings.update(patch),
    onSuccess: (updated) => {
      queryClient.setQueryData(appointmentKeys.settings, updated);
      setSaved(true);
    },
  });
  const errors = save.error instanceof ApiError ? save.error.fieldErrors : {};
  const [zones] = useState(knownZones);

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const patch: ClinicSettingsPatch = {};
    if (mode !== settings.self_booking) patch.self_booking = mode;
    const hours = Number(reminder);
    if (reminder.trim() !== String(settings.reminder_hours)) patch.reminder_hours = Number.isInteger(hours) ? hours : -1;
    if (zone.trim() !== settings.timezone) patch.timezone = zone.trim();
    if (Object.keys(patch).length === 0) {
      setSaved(true);
      return;
    }
    save.mutate(patch);
  }

  return (
    <form className="card" onSubmit={onSubmit} noValidate aria-label="Scheduling settings">
      {save.isError ? (
        <div className="notice notice--error" role="alert">
          {formErrorMessage(save.error, fields)}
        </div>
      ) : null}
      {saved ? (
        <div className="notice notice--ok" role="status">
          Saved.
        </div>
      ) : null}
      <SelectField
        label="Online booking by patients"
        options={(Object.keys(SELF_BOOKING_LABELS) as SelfBooking[]).map((m) => ({ value: m, label: SELF_BOOKING_LABELS[m] }))}
        value={mode}
        onChange={(e) => {
          setSaved(false);
          setMode(e.target.value as SelfBooking);
        }}
        error={errors['self_booking']}
      />
      <div className="form-grid">
        <TextField
          label="Reminder (hours before)"
          type="number"
          min={1}
          max={336}
          value={reminder}
          onChange={(e) => {
            setSaved(false);
            setReminder(e.target.value);
          }}
          error={errors['reminder_hours']}
          hint="1 to 336 (two weeks)."
        />
        <TextField
          label="Time zone"
          list="qivr-time-zones"
          value={zone}
          onChange={(e) => {
            setSaved(false);
            setZone(e.target.value);
          }}
          error={errors['timezone']}
          hint="IANA name, e.g. Australia/Sydney. Working hours and the calendar use it."
        />
        <datalist id="qivr-time-zones">
          {zones.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
      </div>
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Save settings'}
        </button>
      </div>
    </form>
  );
}
