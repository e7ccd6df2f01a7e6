import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import {
  ApiError,
  SelectField,
  TextAreaField,
  TextField,
  WEEKDAY_NAMES,
  appointmentKindLabel,
  appointmentStatusLabel,
  byStart,
  channels,
  clockInZone,
  collectPages,
  emptyToNull,
  errorMessage,
  formatClock,
  formatInZone,
  freeSlots,
  isIsoDate,
  normalizeHours,
  parseClock,
  patientCanCancel,
  safeTimeZone,
  splitUpcoming,
  todayIn,
  upsertIntoLists,
  useAuthState,
  useLiveCache,
  zonedInstant,
  type Appointment,
  type AppointmentEvent,
  type NewAppointment,
  type Provider,
  type SelfBooking,
  type Slot,
} from '@qivr/shared';
import { api, auth } from './session';

/** Length of an appointment a patient books or requests. */
const PATIENT_LENGTH = 45;
/** How long a row that just arrived stays highlighted. */
const FRESH_MS = 5000;

export const appointmentKeys = {
  mine: ['appointments', 'mine'] as const,
  providers: ['providers'] as const,
  settings: ['clinic-settings'] as const,
  busy: (providerId: string, date: string) => ['providers', providerId, 'busy', date] as const,
};

function applyMine(queryClient: QueryClient, item: Appointment) {
  const { by_patient: _ignored, ...appointment } = item as AppointmentEvent;
  void _ignored;
  upsertIntoLists<Appointment>(queryClient, appointmentKeys.mine, appointment, { compare: byStart });
}

/**
 * "My appointments": upcoming and past, live from `appointment.*` on the patient's own
 * channel (a booking by the clinic appears at once), cancelling an upcoming one, and booking
 * as the clinic's setting allows (off, request, direct into free slots).
 */
export function MyAppointments() {
  const userId = useAuthState(auth, (s) => s.user?.id ?? null);
  const settings = useQuery({ queryKey: appointmentKeys.settings, queryFn: ({ signal }) => api.clinicSettings.get(signal) });
  const timeZone = safeTimeZone(settings.data?.timezone);
  const mine = useQuery({
    queryKey: appointmentKeys.mine,
    queryFn: ({ signal }) => collectPages((cursor) => api.appointments.list({ cursor, limit: 100 }, signal)),
  });
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());
  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach(clearTimeout);
  }, []);
  const highlight = (id: string) => {
    setFresh((s) => new Set(s).add(id));
    const t = setTimeout(() => {
      timers.current.delete(t);
      setFresh((s) => {
        const next = new Set(s);
        next.delete(id);
        return next;
      });
    }, FRESH_MS);
    timers.current.add(t);
  };

  useLiveCache(userId ? channels.user(userId) : null, {
    refetch: [appointmentKeys.mine],
    apply: (event, queryClient) => {
      if (!event.kind.startsWith('appointment.')) return;
      const item = event.data as AppointmentEvent;
      applyMine(queryClient, item);
      if (event.kind === 'appointment.created' && !item.by_patient) highlight(item.id);
    },
  });

  const { upcoming, past } = splitUpcoming(mine.data?.items ?? []);
  return (
    <section>
      <div className="page-head">
        <h1>My appointments</h1>
      </div>
      {mine.isPending ? (
        <p className="muted">Loading your appointments…</p>
      ) : mine.isError ? (
        <div className="notice notice--error" role="alert">
          {mine.error instanceof ApiError && mine.error.status === 404
            ? 'Your login is not linked to a patient record yet. Please contact your clinic.'
            : `Could not load your appointments: ${errorMessage(mine.error)}`}
        </div>
      ) : (
        <>
          <h2>Upcoming</h2>
          {upcoming.length === 0 ? (
            <p className="muted" data-testid="no-upcoming">
              No upcoming appointments.
            </p>
          ) : (
            <table className="list" aria-label="Upcoming appointments">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">With</th>
                  <th scope="col">Where</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {upcoming.map((a) => (
                  <UpcomingRow key={a.id} appointment={a} timeZone={timeZone} fresh={fresh.has(a.id)} />
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      {settings.data ? (
        <BookingCard mode={settings.data.self_booking} timeZone={timeZone} mine={mine.data?.items ?? []} />
      ) : settings.isError ? (
        <div className="notice notice--error" role="alert">
          Could not load the clinic's booking options: {errorMessage(settings.error)}
        </div>
      ) : null}
      {mine.data ? (
        <>
          <h2>Past</h2>
          {past.length === 0 ? (
            <p className="muted">No past appointments.</p>
          ) : (
            <table className="list" aria-label="Past appointments">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">With</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {past.map((a) => (
                  <tr key={a.id} data-testid="my-appointment" data-id={a.id}>
                    <td className="nowrap">{formatInZone(a.starts_at, timeZone)}</td>
                    <td>{a.provider_name}</td>
                    <td>
                      <MyStatus status={a.status} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      ) : null}
    </section>
  );
}

function MyStatus({ status }: { status: string }) {
  return (
    <span className={`status appt-status--${status}`} data-testid="appointment-status" data-status={status}>
      {status === 'requested' ? 'Requested (awaiting the clinic)' : appointmentStatusLabel(status)}
    </span>
  );
}

function UpcomingRow({ appointment: a, timeZone, fresh }: { appointment: Appointment; timeZone: string; fresh: boolean }) {
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const cancel = useMutation({
    mutationFn: () => api.appointments.update(a.id, { status: 'cancelled', ...(emptyToNull(reason) ? { cancel_reason: reason.trim() } : {}) }),
    onSuccess: (updated) => {
      applyMine(queryClient, updated);
      setConfirming(false);
    },
  });
  const cancellable = patientCanCancel(a);
  return (
    <>
      <tr data-testid="my-appointment" data-id={a.id} className={fresh ? 'row--new' : undefined}>
        <td className="nowrap">
          {formatInZone(a.starts_at, timeZone)}–{clockInZone(a.ends_at, timeZone)}
        </td>
        <td>
          {a.provider_name}
          <div className="muted">{appointmentKindLabel(a.kind)}</div>
        </td>
        <td className="break">
          {a.video_url ? (
            <a href={a.video_url} target="_blank" rel="noreferrer">
              Video link
            </a>
          ) : (
            (a.location ?? '—')
          )}
        </td>
        <td>
          <MyStatus status={a.status} />
          {a.cancel_reason ? <div className="muted break">{a.cancel_reason}</div> : null}
        </td>
        <td className="row-actions">
          {cancellable && !confirming ? (
            <button
              type="button"
              className="button button--small button--danger-outline"
              onClick={() => {
                cancel.reset();
                setReason('');
                setConfirming(true);
              }}
            >
              Cancel
            </button>
          ) : null}
        </td>
      </tr>
      {confirming ? (
        <tr>
          <td colSpan={5}>
            <form
              className="notice notice--error confirm"
              role="alertdialog"
              aria-label="Confirm cancellation"
              onSubmit={(e) => {
                e.preventDefault();
                cancel.mutate();
              }}
            >
              <p>
                Cancel your appointment with {a.provider_name} on {formatInZone(a.starts_at, timeZone)}?
              </p>
              {cancel.isError ? <p role="alert">Could not cancel: {errorMessage(cancel.error)}</p> : null}
              <TextField label="Reason (optional)" value={reason} onChange={(e) => setReason(e.target.value)} />
              <div className="form-actions">
                <button type="submit" className="button button--danger" disabled={cancel.isPending}>
                  {cancel.isPending ? 'Cancelling…' : 'Yes, cancel it'}
                </button>
                <button type="button" className="button" onClick={() => setConfirming(false)}>
                  Keep it
                </button>
              </div>
            </form>
          </td>
        </tr>
      ) : null}
    </>
  );
}

function hoursText(p: Provider): string {
  const hours = normalizeHours(p.working_hours);
  if (hours.length === 0) return 'No regular hours listed.';
  return `Works ${hours.map((h) => `${WEEKDAY_NAMES[h.weekday - 1]?.slice(0, 3) ?? h.weekday} ${h.start}–${h.end}`).join(', ')}.`;
}

/** Booking as the clinic allows: a note to call, a request for a preferred time, or a free slot. */
function BookingCard({ mode, timeZone, mine }: { mode: SelfBooking; timeZone: string; mine: Appointment[] }) {
  if (mode === 'off') {
    return (
      <section className="card" aria-label="Book an appointment">
        <h2>Book an appointment</h2>
        <p data-testid="booking-off">Online booking is not available. Call the clinic to book.</p>
      </section>
    );
  }
  return <BookingForm mode={mode} timeZone={timeZone} mine={mine} />;
}

function BookingForm({ mode, timeZone, mine }: { mode: 'request' | 'direct'; timeZone: string; mine: Appointment[] }) {
  const queryClient = useQueryClient();
  const providers = useQuery({ queryKey: appointmentKeys.providers, queryFn: ({ signal }) => api.providers.list(signal) });
  const today = todayIn(timeZone);
  const [providerId, setProviderId] = useState('');
  const [date, setDate] = useState('');
  const [time, setTime] = useState('');
  const [slot, setSlot] = useState<Slot | null>(null);
  const [notes, setNotes] = useState('');
  const [taken, setTaken] = useState<ReadonlySet<string>>(new Set());
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [booked, setBooked] = useState<Appointment | null>(null);
  const book = useMutation({
    mutationFn: (body: NewAppointment) => api.appointments.create(body),
    onSuccess: (created) => {
      applyMine(queryClient, created);
      setBooked(created);
      setSlot(null);
      setTime('');
      setNotes('');
    },
    onError: (e, body) => {
      if (e instanceof ApiError && e.status === 409) setTaken((s) => new Set(s).add(body.starts_at));
    },
  });
  const items = providers.data?.items ?? [];
  const provider = items.find((p) => p.id === providerId);
  // Everyone's bookings with this provider around the chosen day (times only). A day either side
  // covers any clinic time zone; a slot taken since is answered 409 and marked taken.
  const busy = useQuery({
    queryKey: appointmentKeys.busy(providerId, date),
    enabled: mode === 'direct' && Boolean(provider) && isIsoDate(date),
    queryFn: ({ signal }) => {
      const day = Date.parse(`${date}T00:00:00Z`);
      const from = new Date(day - 86_400_000).toISOString();
      const to = new Date(day + 2 * 86_400_000).toISOString();
      return api.providers.busy(providerId, from, to, signal);
    },
  });
  const held = [...mine, ...(busy.data ?? []).map((b) => ({ ...b, status: 'scheduled' as const }))];
  const slots =
    mode === 'direct' && provider && isIsoDate(date)
      ? freeSlots({
          hours: provider.working_hours,
          date,
          timeZone,
          duration: PATIENT_LENGTH,
          step: 30,
          // The patient's own appointments hold their time too.
          busy: held,
          notBefore: new Date(),
        })
      : [];

  const serverErrors = book.error instanceof ApiError ? book.error.fieldErrors : {};
  const conflict = book.error instanceof ApiError && book.error.status === 409;
  const errors: Record<string, string> = {
    ...serverErrors,
    ...(conflict ? { starts_at: 'That time has just been taken. Please pick another.' } : {}),
    ...problems,
  };
  const edit = () => {
    setProblems({});
    setBooked(null);
    if (book.isError) book.reset();
  };

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const found: Record<string, string> = {};
    if (!providerId) found['provider_id'] = 'Choose who you would like to see.';
    if (!isIsoDate(date)) found['starts_at'] = 'Choose a day.';
    else if (mode === 'direct' && !slot) found['starts_at'] = 'Choose a time.';
    else if (mode === 'request' && Number.isNaN(parseClock(time))) found['starts_at'] = 'Choose a preferred time.';
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    const starts = mode === 'direct' ? new Date(slot!.starts_at) : zonedInstant(date, parseClock(time), timeZone);
    book.mutate({
      provider_id: providerId,
      starts_at: starts.toISOString(),
      ends_at: new Date(starts.getTime() + PATIENT_LENGTH * 60_000).toISOString(),
      notes: emptyToNull(notes) ?? undefined,
    });
  }

  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const zoneNote = browserZone === timeZone ? null : ` Times are the clinic's local time (${timeZone}).`;
  return (
    <form className="card" onSubmit={onSubmit} noValidate aria-label="Book an appointment">
      <h2>{mode === 'direct' ? 'Book an appointment' : 'Request an appointment'}</h2>
      <p className="muted">
        {mode === 'direct'
          ? `Pick who you would like to see, a day and a free time (${PATIENT_LENGTH} minutes).`
          : `Tell us who you would like to see and when suits you; the clinic confirms the time (${PATIENT_LENGTH} minutes).`}
        {zoneNote}
      </p>
      {booked ? (
        <div className="notice notice--ok" role="status" data-testid="booking-done">
          {booked.status === 'requested'
            ? `Request sent for ${formatInZone(booked.starts_at, timeZone)} with ${booked.provider_name}. The clinic will confirm it.`
            : `Booked: ${formatInZone(booked.starts_at, timeZone)} with ${booked.provider_name}.`}
        </div>
      ) : null}
      {book.isError && !conflict && !serverErrors['starts_at'] && !serverErrors['provider_id'] ? (
        <div className="notice notice--error" role="alert">
          {book.error instanceof ApiError && book.error.status === 403
            ? 'The clinic does not take bookings online at the moment. Please call the clinic.'
            : errorMessage(book.error)}
        </div>
      ) : null}
      <div className="form-grid">
        <SelectField
          label="Who would you like to see?"
          options={[{ value: '', label: providers.isPending ? 'Loading…' : 'Choose…' }, ...items.map((p) => ({ value: p.id, label: p.specialty ? `${p.name} (${p.specialty})` : p.name }))]}
          value={providerId}
          onChange={(e) => {
            edit();
            setProviderId(e.target.value);
            setSlot(null);
          }}
          error={errors['provider_id']}
          hint={provider ? hoursText(provider) : undefined}
        />
        <TextField
          label="Day"
          type="date"
          min={today}
          value={date}
          onChange={(e) => {
            edit();
            setDate(e.target.value);
            setSlot(null);
          }}
        />
        {mode === 'request' ? (
          <TextField
            label="Preferred time"
            type="time"
            step={900}
            value={time}
            onChange={(e) => {
              edit();
              setTime(e.target.value);
            }}
            error={errors['starts_at']}
          />
        ) : null}
      </div>
      {mode === 'direct' ? (
        <fieldset className="choices">
          <legend>Free times</legend>
          {!provider || !isIsoDate(date) ? (
            <p className="muted">Choose who you would like to see and a day to see free times.</p>
          ) : slots.length === 0 ? (
            <p className="muted" data-testid="no-slots">
              No free times that day. Try another day.
            </p>
          ) : (
            <div className="slots" role="group" aria-label="Free times">
              {slots.map((s) => (
                <button
                  key={s.starts_at}
                  type="button"
                  className="slot"
                  aria-pressed={slot?.starts_at === s.starts_at}
                  disabled={taken.has(s.starts_at)}
                  data-testid="free-slot"
                  onClick={() => {
                    edit();
                    setSlot(s);
                  }}
                >
                  {formatClock(s.minutes)}
                </button>
              ))}
            </div>
          )}
          {errors['starts_at'] ? (
            <div className="field__error" role="alert">
              {errors['starts_at']}
            </div>
          ) : null}
        </fieldset>
      ) : null}
      <TextAreaField label="Reason for the visit (optional)" value={notes} onChange={(e) => setNotes(e.target.value)} error={errors['notes']} />
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={book.isPending}>
          {book.isPending
            ? 'Sending…'
            : mode === 'direct'
              ? slot
                ? `Book ${formatClock(slot.minutes)}`
                : 'Book'
              : 'Request appointment'}
        </button>
      </div>
    </form>
  );
}
