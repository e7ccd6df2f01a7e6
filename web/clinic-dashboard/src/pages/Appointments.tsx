import { useState, type CSSProperties } from 'react';
import { useSearchParams } from 'react-router';
import {
  SelectField,
  TextField,
  addDays,
  appointmentKindLabel,
  appointmentStatusLabel,
  clockInZone,
  daysRange,
  dateRange,
  errorMessage,
  formatClock,
  formatDay,
  gridBounds,
  gridColumns,
  isIsoDate,
  layoutGrid,
  safeTimeZone,
  startOfWeek,
  todayIn,
  withinHours,
  type Appointment,
  type GridColumn,
  type PlacedAppointment,
  type Provider,
} from '@qivr/shared';
import { useAppointments, useClinicSettings, useProviders } from '../appointments';
import { AppointmentPanel, BookingPanel, emptyDraft, type BookingDraft } from './AppointmentPanels';

/** Minutes per bookable slot in the grid, and its height. */
const SLOT_MINUTES = 30;
const PX_PER_MINUTE = 0.9;
/** Length of a new appointment booked from a slot. */
export const DEFAULT_LENGTH = 45;

type View = 'day' | 'week';

export function AppointmentsPage() {
  const [params, setParams] = useSearchParams();
  const settings = useClinicSettings();
  const timeZone = safeTimeZone(settings.data?.timezone);
  const today = todayIn(timeZone);
  const view: View = params.get('view') === 'week' ? 'week' : 'day';
  const rawDate = params.get('date');
  const date = isIsoDate(rawDate) ? rawDate : today;
  const providerFilter = params.get('provider') ?? '';
  const selectedId = params.get('appt');
  const first = view === 'week' ? startOfWeek(date) : date;
  const days = dateRange(first, view === 'week' ? 7 : 1);
  const range = daysRange(first, days.length, timeZone);
  const providers = useProviders();
  // Wait for the clinic's time zone: the range's instants depend on it.
  const appointments = useAppointments(range, settings.isSuccess);
  const items = appointments.data?.items ?? [];

  const [booking, setBooking] = useState<BookingDraft | null>(() =>
    params.get('book')
      ? {
          ...emptyDraft(date),
          patient_id: params.get('patient') ?? '',
          evaluation_id: params.get('evaluation') ?? '',
          kind: params.get('evaluation') ? 'initial' : 'follow_up',
        }
      : null,
  );

  function update(change: Record<string, string | null>) {
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        for (const [k, v] of Object.entries(change)) {
          if (v === null || v === '') next.delete(k);
          else next.set(k, v);
        }
        return next;
      },
      { replace: true },
    );
  }

  const all = providers.data?.items ?? [];
  const shown = all.filter((p) => (providerFilter ? p.id === providerFilter : p.active || items.some((a) => a.provider_id === p.id)));
  const selected = selectedId ? (items.find((a) => a.id === selectedId) ?? null) : null;

  function onSlot(column: GridColumn, minutes: number) {
    update({ appt: null });
    setBooking((d) => ({
      ...(d ?? emptyDraft(column.date)),
      provider_id: column.provider.id,
      date: column.date,
      start: formatClock(minutes),
      end: formatClock(Math.min(minutes + DEFAULT_LENGTH, 24 * 60 - 1)),
    }));
  }

  function onAppointment(a: Appointment) {
    setBooking(null);
    update({ appt: a.id });
  }

  const step = view === 'week' ? 7 : 1;
  const title =
    view === 'week'
      ? `${formatDay(days[0]!, { day: 'numeric', month: 'short' })} – ${formatDay(days[6]!, { day: 'numeric', month: 'short', year: 'numeric' })}`
      : formatDay(date, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });

  return (
    <section className="cal-page">
      <div className="page-head">
        <h1>Appointments</h1>
        <div className="cal-nav" role="group" aria-label="Dates">
          <button type="button" className="button button--small" onClick={() => update({ date: null })} disabled={date === today}>
            Today
          </button>
          <button
            type="button"
            className="button button--small"
            aria-label={view === 'week' ? 'Previous week' : 'Previous day'}
            onClick={() => update({ date: addDays(date, -step) })}
          >
            ‹
          </button>
          <strong data-testid="calendar-title">{title}</strong>
          <button
            type="button"
            className="button button--small"
            aria-label={view === 'week' ? 'Next week' : 'Next day'}
            onClick={() => update({ date: addDays(date, step) })}
          >
            ›
          </button>
        </div>
      </div>
      <form className="filters" aria-label="Calendar options" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <span className="field__label">View</span>
          <div className="segmented" role="group" aria-label="View">
            {(['day', 'week'] as const).map((v) => (
              <button
                key={v}
                type="button"
                className={v === view ? 'button button--small button--primary' : 'button button--small'}
                aria-pressed={v === view}
                onClick={() => update({ view: v === 'day' ? null : v })}
              >
                {v === 'day' ? 'Day' : 'Week'}
              </button>
            ))}
          </div>
        </div>
        <SelectField
          label="Provider"
          options={[{ value: '', label: 'All providers' }, ...all.map((p) => ({ value: p.id, label: p.active ? p.name : `${p.name} (inactive)` }))]}
          value={providerFilter}
          onChange={(e) => update({ provider: e.target.value })}
        />
        <TextField label="Go to date" type="date" value={date} onChange={(e) => isIsoDate(e.target.value) && update({ date: e.target.value })} />
        <button
          type="button"
          className="button"
          onClick={() => {
            update({ appt: null });
            setBooking((d) => d ?? emptyDraft(date));
          }}
        >
          New appointment
        </button>
      </form>
      <p className="muted cal-hint">
        Times are in the clinic's time zone ({timeZone}). Click a free slot to book; shaded slots are outside the provider's
        working hours.
      </p>
      <div className={booking || selectedId ? 'queue queue--with-panel' : 'queue'}>
        <div>
          {providers.isError || appointments.isError || settings.isError ? (
            <div className="notice notice--error" role="alert">
              Could not load the calendar: {errorMessage(providers.error ?? appointments.error ?? settings.error)}
            </div>
          ) : providers.isPending || appointments.isPending ? (
            <p className="muted">Loading the calendar…</p>
          ) : shown.length === 0 ? (
            <p className="muted">No active providers. Admins add them on the Providers page.</p>
          ) : (
            <Calendar
              view={view}
              days={days}
              providers={shown}
              appointments={items}
              timeZone={timeZone}
              today={today}
              selectedId={selectedId}
              draft={booking}
              onSlot={onSlot}
              onAppointment={onAppointment}
            />
          )}
        </div>
        {booking ? (
          <BookingPanel
            draft={booking}
            onChange={setBooking}
            providers={all}
            timeZone={timeZone}
            onClose={() => {
              setBooking(null);
              update({ book: null, patient: null, evaluation: null });
            }}
            onBooked={(a, onDate) => {
              setBooking(null);
              update({ book: null, patient: null, evaluation: null, appt: a.id, date: onDate === today ? null : onDate });
            }}
          />
        ) : selectedId ? (
          <aside className="card" aria-label="Appointment" data-testid="appointment-panel">
            {selected ? (
              <AppointmentPanel key={selected.id} appointment={selected} providers={all} timeZone={timeZone} onClose={() => update({ appt: null })} />
            ) : (
              <>
                <p className="muted">{appointments.isFetching ? 'Loading…' : 'This appointment is not on the days shown.'}</p>
                <button type="button" className="button button--small" onClick={() => update({ appt: null })}>
                  Close
                </button>
              </>
            )}
          </aside>
        ) : null}
      </div>
    </section>
  );
}

interface CalendarProps {
  view: View;
  days: string[];
  providers: Provider[];
  appointments: Appointment[];
  timeZone: string;
  today: string;
  selectedId: string | null;
  draft: BookingDraft | null;
  onSlot: (column: GridColumn, minutes: number) => void;
  onAppointment: (a: Appointment) => void;
}

/** The time grid: a column per provider per day, slots to book, appointments placed by time. */
function Calendar({ view, days, providers, appointments, timeZone, today, selectedId, draft, onSlot, onAppointment }: CalendarProps) {
  const columns = gridColumns(days, providers);
  const placed = layoutGrid(appointments, columns, timeZone);
  const bounds = gridBounds(columns, placed.values());
  const height = (bounds.end - bounds.start) * PX_PER_MINUTE;
  const hours: number[] = [];
  for (let m = bounds.start; m < bounds.end; m += 60) hours.push(m);
  const week = view === 'week';
  const style: CSSProperties = {
    gridTemplateColumns: `3.5rem repeat(${columns.length}, minmax(${week ? (providers.length > 1 ? '2.75rem' : '6rem') : '10rem'}, 1fr))`,
  };
  return (
    <div className="cal-scroll">
      <div className={week ? 'cal cal--week' : 'cal'} style={style} role="grid" aria-label={week ? 'Week calendar' : 'Day calendar'}>
        {week ? (
          <>
            <div className="cal__corner" style={{ gridRow: 'span 2' }} />
            {days.map((d) => (
              <div
                key={d}
                className={d === today ? 'cal__day cal__day--today' : 'cal__day'}
                style={{ gridColumn: `span ${providers.length}` }}
                role="columnheader"
              >
                {formatDay(d)}
              </div>
            ))}
            {columns.map((c) => (
              <div key={c.key} className="cal__prov" title={c.provider.name} role="columnheader">
                {providers.length > 1 ? initials(c.provider.name) : c.provider.name}
              </div>
            ))}
          </>
        ) : (
          <>
            <div className="cal__corner" />
            {columns.map((c) => (
              <div key={c.key} className="cal__prov" role="columnheader">
                {c.provider.name}
                {c.provider.specialty ? <div className="muted cal__specialty">{c.provider.specialty}</div> : null}
              </div>
            ))}
          </>
        )}
        <div className="cal__gutter" style={{ height }}>
          {hours.map((m) => (
            <div key={m} className="cal__hour" style={{ top: (m - bounds.start) * PX_PER_MINUTE }}>
              {formatClock(m)}
            </div>
          ))}
        </div>
        {columns.map((c, i) => (
          <CalendarColumn
            key={c.key}
            column={c}
            firstOfDay={i % providers.length === 0}
            placed={placed.get(c.key) ?? []}
            bounds={bounds}
            height={height}
            week={week}
            timeZone={timeZone}
            selectedId={selectedId}
            draft={draft}
            onSlot={onSlot}
            onAppointment={onAppointment}
          />
        ))}
      </div>
    </div>
  );
}

function initials(name: string): string {
  const words = name.replace(/^(dr\.?|prof\.?)\s+/i, '').split(/\s+/).filter(Boolean);
  return words.map((w) => w[0]!.toUpperCase()).join('').slice(0, 3);
}

interface ColumnProps {
  column: GridColumn;
  firstOfDay: boolean;
  placed: PlacedAppointment[];
  bounds: { start: number; end: number };
  height: number;
  week: boolean;
  timeZone: string;
  selectedId: string | null;
  draft: BookingDraft | null;
  onSlot: (column: GridColumn, minutes: number) => void;
  onAppointment: (a: Appointment) => void;
}

function CalendarColumn({ column, firstOfDay, placed, bounds, height, week, timeZone, selectedId, draft, onSlot, onAppointment }: ColumnProps) {
  const { provider, date } = column;
  const slots: number[] = [];
  for (let m = bounds.start; m < bounds.end; m += SLOT_MINUTES) slots.push(m);
  const day = formatDay(date, { weekday: 'long', day: 'numeric', month: 'long' });
  const drafting = draft && draft.provider_id === provider.id && draft.date === date ? draft.start : null;
  return (
    <div
      className={firstOfDay && week ? 'cal__col cal__col--day-start' : 'cal__col'}
      style={{ height }}
      role="gridcell"
      data-testid="calendar-column"
      data-date={date}
      data-provider={provider.id}
    >
      {slots.map((m) => {
        const open = withinHours(provider.working_hours, date, m, m + SLOT_MINUTES);
        const label = `Book ${provider.name} on ${day} at ${formatClock(m)}`;
        return (
          <button
            key={m}
            type="button"
            className={[open ? 'cal__slot' : 'cal__slot cal__slot--off', drafting === formatClock(m) ? 'cal__slot--draft' : '']
              .filter(Boolean)
              .join(' ')}
            style={{ top: (m - bounds.start) * PX_PER_MINUTE, height: SLOT_MINUTES * PX_PER_MINUTE }}
            aria-label={label}
            title={label}
            data-testid="calendar-slot"
            data-time={formatClock(m)}
            onClick={() => onSlot(column, m)}
          />
        );
      })}
      {placed.map((p) => {
        const a = p.appointment;
        const top = (Math.max(p.start, bounds.start) - bounds.start) * PX_PER_MINUTE;
        const h = Math.max((Math.min(p.end, bounds.end) - Math.max(p.start, bounds.start)) * PX_PER_MINUTE, 14);
        const when = week ? clockInZone(a.starts_at, timeZone) : `${clockInZone(a.starts_at, timeZone)}–${clockInZone(a.ends_at, timeZone)}`;
        const summary = `${clockInZone(a.starts_at, timeZone)}–${clockInZone(a.ends_at, timeZone)} ${a.patient_name}, ${appointmentKindLabel(a.kind)}, ${appointmentStatusLabel(a.status)} (${a.provider_name})`;
        return (
          <button
            key={a.id}
            type="button"
            className={[
              'cal__appt',
              `cal__appt--${a.status}`,
              a.id === selectedId ? 'cal__appt--selected' : '',
            ]
              .filter(Boolean)
              .join(' ')}
            style={{ top, height: h, left: `${(p.lane / p.lanes) * 100}%`, width: `${100 / p.lanes}%` }}
            title={summary}
            aria-label={summary}
            data-testid="calendar-appointment"
            data-id={a.id}
            data-status={a.status}
            onClick={() => onAppointment(a)}
          >
            <span className="cal__appt-time">{when}</span> <span className="cal__appt-name">{a.patient_name}</span>
            {!week && a.status !== 'scheduled' ? <span className="cal__appt-status"> · {appointmentStatusLabel(a.status)}</span> : null}
          </button>
        );
      })}
    </div>
  );
}
