import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  APPOINTMENT_ACTION_LABELS,
  APPOINTMENT_KINDS,
  APPOINTMENT_TRANSITIONS,
  ApiError,
  SelectField,
  TextAreaField,
  TextField,
  appointmentKindLabel,
  appointmentStatusLabel,
  clockInZone,
  emptyToNull,
  errorMessage,
  formErrorMessage,
  formatClock,
  formatDate,
  formatInZone,
  isIsoDate,
  parseClock,
  zonedInstant,
  zonedParts,
  type Appointment,
  type AppointmentPatch,
  type AppointmentStatus,
  type NewAppointment,
  type Provider,
} from '@qivr/shared';
import { api } from '../session';
import { keys } from '../queryClient';
import { AppointmentStatusBadge, appointmentFieldErrors, applyAppointment, providerName } from '../appointments';

/** The booking form's values (strings, as the inputs hold them); times on the clinic's wall clock. */
export interface BookingDraft {
  patient_id: string;
  evaluation_id: string;
  provider_id: string;
  date: string;
  start: string;
  end: string;
  kind: string;
  location: string;
  video_url: string;
  notes: string;
}

export function emptyDraft(date: string): BookingDraft {
  return {
    patient_id: '',
    evaluation_id: '',
    provider_id: '',
    date,
    start: '',
    end: '',
    kind: 'follow_up',
    location: '',
    video_url: '',
    notes: '',
  };
}

const bookingFields = ['patient_id', 'provider_id', 'starts_at', 'ends_at', 'kind', 'location', 'video_url', 'notes'];

/** Client-side checks before the server's: what the form needs to build a request at all. */
function draftProblems(d: { date: string; start: string; end: string; provider_id: string }): Record<string, string> {
  const problems: Record<string, string> = {};
  if (!d.provider_id) problems['provider_id'] = 'Choose a provider.';
  if (!isIsoDate(d.date)) problems['starts_at'] = 'Choose a date.';
  else if (Number.isNaN(parseClock(d.start))) problems['starts_at'] = 'Choose a start time.';
  if (Number.isNaN(parseClock(d.end))) problems['ends_at'] = 'Choose an end time.';
  return problems;
}

function instants(d: { date: string; start: string; end: string }, timeZone: string) {
  return {
    starts_at: zonedInstant(d.date, parseClock(d.start), timeZone).toISOString(),
    ends_at: zonedInstant(d.date, parseClock(d.end), timeZone).toISOString(),
  };
}

interface BookingPanelProps {
  draft: BookingDraft;
  onChange: (draft: BookingDraft) => void;
  providers: Provider[];
  timeZone: string;
  onClose: () => void;
  onBooked: (a: Appointment, date: string) => void;
}

/** "New appointment": patient, provider, times (a clicked slot fills them), kind, place, notes. */
export function BookingPanel({ draft, onChange, providers, timeZone, onClose, onBooked }: BookingPanelProps) {
  const queryClient = useQueryClient();
  const [problems, setProblems] = useState<Record<string, string>>({});
  const book = useMutation({
    mutationFn: (body: NewAppointment) => api.appointments.create(body),
    onSuccess: (created) => {
      applyAppointment(queryClient, created);
      // The evaluation it follows from moved to `scheduled` (no event says so).
      if (created.evaluation_id) void queryClient.invalidateQueries({ queryKey: keys.evaluations });
      onBooked(created, zonedParts(created.starts_at, timeZone).date);
    },
  });
  const chosen = providers.find((p) => p.id === draft.provider_id);
  const fieldErrors = { ...appointmentFieldErrors(book.error, chosen?.name), ...problems };
  const set = (change: Partial<BookingDraft>) => {
    setProblems({});
    if (book.isError) book.reset();
    onChange({ ...draft, ...change });
  };

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const found = draftProblems(draft);
    if (!draft.patient_id) found['patient_id'] = 'Choose a patient.';
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    const telehealth = draft.kind === 'telehealth';
    book.mutate({
      patient_id: draft.patient_id,
      provider_id: draft.provider_id,
      ...instants(draft, timeZone),
      kind: draft.kind,
      location: telehealth ? undefined : (emptyToNull(draft.location) ?? undefined),
      video_url: telehealth ? (emptyToNull(draft.video_url) ?? undefined) : undefined,
      notes: emptyToNull(draft.notes) ?? undefined,
      evaluation_id: draft.evaluation_id || undefined,
    });
  }

  const activeProviders = providers.filter((p) => p.active || p.id === draft.provider_id);
  return (
    <aside className="card" aria-label="New appointment" data-testid="booking-panel">
      <div className="panel-head">
        <h2>New appointment</h2>
        <button type="button" className="button button--small" onClick={onClose}>
          Close
        </button>
      </div>
      <form onSubmit={onSubmit} noValidate aria-label="New appointment">
        {book.isError && !(book.error instanceof ApiError && book.error.status === 409) ? (
          <div className="notice notice--error" role="alert">
            {formErrorMessage(book.error, bookingFields)}
          </div>
        ) : null}
        {draft.evaluation_id ? (
          <div className="notice" role="note">
            Booking from an evaluation: it moves to “Scheduled”.
          </div>
        ) : null}
        <PatientPicker
          patientId={draft.patient_id}
          onPick={(patient_id) => set({ patient_id, evaluation_id: patient_id === draft.patient_id ? draft.evaluation_id : '' })}
          error={fieldErrors['patient_id']}
        />
        <SelectField
          label="Provider"
          options={[{ value: '', label: 'Choose…' }, ...activeProviders.map((p) => ({ value: p.id, label: p.name }))]}
          value={draft.provider_id}
          onChange={(e) => set({ provider_id: e.target.value })}
          error={fieldErrors['provider_id']}
        />
        <TimeFields draft={draft} onChange={set} errors={fieldErrors} timeZone={timeZone} />
        <KindAndPlace draft={draft} onChange={set} errors={fieldErrors} />
        <TextAreaField label="Notes" value={draft.notes} onChange={(e) => set({ notes: e.target.value })} error={fieldErrors['notes']} hint="Seen by clinic staff only." />
        <div className="form-actions">
          <button type="submit" className="button button--primary" disabled={book.isPending}>
            {book.isPending ? 'Booking…' : 'Book appointment'}
          </button>
        </div>
      </form>
    </aside>
  );
}

type TimeDraft = Pick<BookingDraft, 'date' | 'start' | 'end'>;

function TimeFields({
  draft,
  onChange,
  errors,
  timeZone,
}: {
  draft: TimeDraft;
  onChange: (change: Partial<TimeDraft>) => void;
  errors: Record<string, string>;
  timeZone: string;
}) {
  return (
    <div className="form-grid form-grid--times">
      <TextField label="Date" type="date" value={draft.date} onChange={(e) => onChange({ date: e.target.value })} />
      <TextField
        label="Start"
        type="time"
        step={300}
        value={draft.start}
        onChange={(e) => {
          // Keep the length when the start moves.
          const before = parseClock(draft.start);
          const length = parseClock(draft.end) - before;
          const start = parseClock(e.target.value);
          const end = Number.isFinite(length) && length > 0 && Number.isFinite(start) && start + length < 24 * 60 ? start + length : NaN;
          onChange({ start: e.target.value, ...(Number.isFinite(end) ? { end: formatClock(end) } : {}) });
        }}
        error={errors['starts_at']}
        hint={`Clinic time (${timeZone})`}
      />
      <TextField label="End" type="time" step={300} value={draft.end} onChange={(e) => onChange({ end: e.target.value })} error={errors['ends_at']} />
    </div>
  );
}

type PlaceDraft = Pick<BookingDraft, 'kind' | 'location' | 'video_url'>;

function KindAndPlace({ draft, onChange, errors }: { draft: PlaceDraft; onChange: (change: Partial<PlaceDraft>) => void; errors: Record<string, string> }) {
  const kinds = APPOINTMENT_KINDS.some((k) => k.value === draft.kind)
    ? APPOINTMENT_KINDS
    : [...APPOINTMENT_KINDS, { value: draft.kind, label: appointmentKindLabel(draft.kind) }];
  return (
    <div className="form-grid">
      <SelectField label="Kind" options={kinds} value={draft.kind} onChange={(e) => onChange({ kind: e.target.value })} error={errors['kind']} />
      {draft.kind === 'telehealth' ? (
        <TextField
          label="Video link"
          type="url"
          placeholder="https://…"
          value={draft.video_url}
          onChange={(e) => onChange({ video_url: e.target.value })}
          error={errors['video_url']}
        />
      ) : (
        <TextField label="Location" placeholder="Room 1" value={draft.location} onChange={(e) => onChange({ location: e.target.value })} error={errors['location']} />
      )}
    </div>
  );
}

/** Finds a patient by name, email or phone (`GET /patients?q=`), or shows the one chosen. */
function PatientPicker({ patientId, onPick, error }: { patientId: string; onPick: (id: string) => void; error: string | undefined }) {
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setQ(text.trim()), 250);
    return () => clearTimeout(t);
  }, [text]);
  const patient = useQuery({
    queryKey: keys.patient(patientId),
    queryFn: ({ signal }) => api.patients.get(patientId, signal),
    enabled: Boolean(patientId),
  });
  const results = useQuery({
    queryKey: [...keys.patientList(q), 'picker'],
    queryFn: ({ signal }) => api.patients.list({ q, limit: 8 }, signal),
    enabled: !patientId && q.length > 0,
  });

  if (patientId) {
    const p = patient.data;
    return (
      <div className={error ? 'field field--invalid' : 'field'}>
        <span className="field__label">Patient</span>
        <div className="assignee">
          <span data-testid="booking-patient">
            {p ? (
              <>
                {p.first_name} {p.last_name} <span className="muted">· born {formatDate(p.date_of_birth)}</span>
              </>
            ) : patient.isError ? (
              'Patient not found'
            ) : (
              'Loading…'
            )}
          </span>
          <button type="button" className="button button--small" onClick={() => onPick('')}>
            Change
          </button>
        </div>
        {error ? (
          <div className="field__error" role="alert">
            {error}
          </div>
        ) : null}
      </div>
    );
  }
  const items = results.data?.items ?? [];
  return (
    <div className="picker">
      <TextField
        label="Patient"
        type="search"
        placeholder="Name, email or phone"
        autoComplete="off"
        value={text}
        onChange={(e) => setText(e.target.value)}
        error={error}
      />
      {q ? (
        <ul className="picker__results" aria-label="Matching patients">
          {results.isPending ? (
            <li className="muted">Searching…</li>
          ) : results.isError ? (
            <li className="field__error">{errorMessage(results.error)}</li>
          ) : items.length === 0 ? (
            <li className="muted">No patient matches.</li>
          ) : (
            items.map((p) => (
              <li key={p.id}>
                <button type="button" className="picker__option" onClick={() => onPick(p.id)}>
                  {p.first_name} {p.last_name} <span className="muted">· born {formatDate(p.date_of_birth)}</span>
                  {p.email ? <span className="muted"> · {p.email}</span> : null}
                </button>
              </li>
            ))
          )}
        </ul>
      ) : null}
    </div>
  );
}

interface EditDraft extends TimeDraft, PlaceDraft {
  provider_id: string;
  notes: string;
}

function editDraftFrom(a: Appointment, timeZone: string): EditDraft {
  const s = zonedParts(a.starts_at, timeZone);
  return {
    provider_id: a.provider_id,
    date: s.date,
    start: clockInZone(a.starts_at, timeZone),
    end: clockInZone(a.ends_at, timeZone),
    kind: a.kind,
    location: a.location ?? '',
    video_url: a.video_url ?? '',
    notes: a.notes ?? '',
  };
}

const editFields = ['provider_id', 'starts_at', 'ends_at', 'kind', 'location', 'video_url', 'notes', 'status', 'cancel_reason'];

/** One appointment: its details, the status changes the workflow allows, reschedule, cancel with a reason. */
export function AppointmentPanel({
  appointment: a,
  providers,
  timeZone,
  onClose,
}: {
  appointment: Appointment;
  providers: Provider[];
  timeZone: string;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const [mode, setMode] = useState<'view' | 'edit' | 'cancel'>('view');
  const [reason, setReason] = useState('');
  const [edit, setEdit] = useState<EditDraft>(() => editDraftFrom(a, timeZone));
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [done, setDone] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (patch: AppointmentPatch) => api.appointments.update(a.id, patch),
    onSuccess: (updated, patch) => {
      applyAppointment(queryClient, updated);
      setMode('view');
      setDone(
        patch.status === 'cancelled'
          ? 'Appointment cancelled.'
          : patch.status
            ? `Now ${appointmentStatusLabel(updated.status).toLowerCase()}.`
            : 'Saved.',
      );
    },
  });
  const editingProvider = mode === 'edit' ? providerName(providers, edit.provider_id) : a.provider_name;
  const fieldErrors = { ...appointmentFieldErrors(save.error, editingProvider), ...problems };
  const transitions = APPOINTMENT_TRANSITIONS[a.status] ?? [];
  const final = transitions.length === 0;

  function start(next: 'view' | 'edit' | 'cancel') {
    save.reset();
    setProblems({});
    setDone(null);
    if (next === 'edit') setEdit(editDraftFrom(a, timeZone));
    if (next === 'cancel') setReason('');
    setMode(next);
  }

  function onSaveEdit(e: FormEvent) {
    e.preventDefault();
    const found = draftProblems(edit);
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    const before = editDraftFrom(a, timeZone);
    const patch: AppointmentPatch = {};
    if (edit.provider_id !== before.provider_id) patch.provider_id = edit.provider_id;
    if (edit.date !== before.date || edit.start !== before.start || edit.end !== before.end) Object.assign(patch, instants(edit, timeZone));
    if (edit.kind !== before.kind) patch.kind = edit.kind;
    if (emptyToNull(edit.location) !== emptyToNull(before.location)) patch.location = emptyToNull(edit.location);
    if (emptyToNull(edit.video_url) !== emptyToNull(before.video_url)) patch.video_url = emptyToNull(edit.video_url);
    if (emptyToNull(edit.notes) !== emptyToNull(before.notes)) patch.notes = emptyToNull(edit.notes);
    if (Object.keys(patch).length === 0) {
      setMode('view');
      return;
    }
    save.mutate(patch);
  }

  const error =
    save.isError && !(save.error instanceof ApiError && save.error.status === 409 && mode === 'edit') ? (
      <div className="notice notice--error" role="alert">
        {save.error instanceof ApiError && save.error.status === 409
          ? fieldErrors['starts_at']
          : formErrorMessage(save.error, mode === 'view' ? [] : mode === 'cancel' ? ['cancel_reason'] : editFields)}
      </div>
    ) : null;

  return (
    <div>
      <div className="panel-head">
        <div>
          <h2>
            <Link to={`/patients/${a.patient_id}`}>{a.patient_name}</Link>
          </h2>
          <p className="muted">
            {formatInZone(a.starts_at, timeZone)} – {clockInZone(a.ends_at, timeZone)}
          </p>
        </div>
        <button type="button" className="button button--small" aria-label="Close appointment" onClick={onClose}>
          Close
        </button>
      </div>
      <p className="status-list">
        <AppointmentStatusBadge status={a.status} />
      </p>
      <dl className="details" aria-label="Appointment details">
        <dt>Provider</dt>
        <dd data-testid="appointment-provider">{a.provider_name}</dd>
        <dt>Kind</dt>
        <dd>{appointmentKindLabel(a.kind)}</dd>
        <dt>{a.video_url ? 'Video link' : 'Location'}</dt>
        <dd className="break">
          {a.video_url ? (
            <a href={a.video_url} target="_blank" rel="noreferrer">
              {a.video_url}
            </a>
          ) : (
            (a.location ?? '—')
          )}
        </dd>
        <dt>Notes</dt>
        <dd className="break">{a.notes ?? '—'}</dd>
        {a.cancel_reason ? (
          <>
            <dt>Cancelled because</dt>
            <dd className="break" data-testid="cancel-reason">
              {a.cancel_reason}
            </dd>
          </>
        ) : null}
        {a.evaluation_id ? (
          <>
            <dt>Evaluation</dt>
            <dd>
              <Link to={`/evaluations/${a.evaluation_id}`}>Open triage</Link>
            </dd>
          </>
        ) : null}
      </dl>

      {done && mode === 'view' ? (
        <div className="notice notice--ok" role="status">
          {done}
        </div>
      ) : null}
      {mode === 'view' ? (
        <>
          {error}
          {final ? null : (
            <div className="form-actions appt-actions" role="group" aria-label="Status">
              {transitions
                .filter((s) => s !== 'cancelled')
                .map((s: AppointmentStatus) => (
                  <button key={s} type="button" className="button button--small" disabled={save.isPending} onClick={() => save.mutate({ status: s })}>
                    {APPOINTMENT_ACTION_LABELS[s]}
                  </button>
                ))}
            </div>
          )}
          {final || a.status === 'checked_in' ? null : (
            <div className="form-actions appt-actions">
              <button type="button" className="button button--small" onClick={() => start('edit')}>
                Reschedule or edit
              </button>
              {transitions.includes('cancelled') ? (
                <button type="button" className="button button--small button--danger-outline" onClick={() => start('cancel')}>
                  Cancel appointment
                </button>
              ) : null}
            </div>
          )}
        </>
      ) : mode === 'cancel' ? (
        <form
          className="notice notice--error confirm"
          aria-label="Cancel appointment"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate({ status: 'cancelled', ...(emptyToNull(reason) ? { cancel_reason: reason.trim() } : {}) });
          }}
        >
          <p>Cancel this appointment? The patient is told by email and in the portal.</p>
          {error}
          <TextField label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} error={fieldErrors['cancel_reason']} />
          <div className="form-actions">
            <button type="submit" className="button button--danger" disabled={save.isPending}>
              {save.isPending ? 'Cancelling…' : 'Yes, cancel it'}
            </button>
            <button type="button" className="button" onClick={() => start('view')}>
              Keep it
            </button>
          </div>
        </form>
      ) : (
        <form onSubmit={onSaveEdit} noValidate aria-label="Reschedule" className="triage-form">
          <h3>Reschedule or edit</h3>
          {error}
          <SelectField
            label="Provider"
            options={providers.filter((p) => p.active || p.id === edit.provider_id).map((p) => ({ value: p.id, label: p.name }))}
            value={edit.provider_id}
            onChange={(e) => setEdit((d) => ({ ...d, provider_id: e.target.value }))}
            error={fieldErrors['provider_id']}
          />
          <TimeFields draft={edit} onChange={(c) => setEdit((d) => ({ ...d, ...c }))} errors={fieldErrors} timeZone={timeZone} />
          <KindAndPlace draft={edit} onChange={(c) => setEdit((d) => ({ ...d, ...c }))} errors={fieldErrors} />
          <TextAreaField label="Notes" value={edit.notes} onChange={(e) => setEdit((d) => ({ ...d, notes: e.target.value }))} error={fieldErrors['notes']} />
          <div className="form-actions">
            <button type="submit" className="button button--primary" disabled={save.isPending}>
              {save.isPending ? 'Saving…' : 'Save changes'}
            </button>
            <button type="button" className="button" onClick={() => start('view')}>
              Discard
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
