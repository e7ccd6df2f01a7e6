/**
 * Scheduling logic shared by the dashboard's calendar and the portal's booking: appointment
 * statuses and the transitions the server allows, calendar days in the clinic's time zone
 * (working hours are wall-clock times there), the time grid's layout, and free slots.
 * Pure functions, no React.
 */
import type { Appointment, AppointmentStatus, IsoDate, Page, Provider, SelfBooking, Timestamp, WorkingHours } from './api/types';

// ---- statuses -----------------------------------------------------------------------------

export const APPOINTMENT_STATUSES: readonly AppointmentStatus[] = [
  'requested',
  'scheduled',
  'confirmed',
  'checked_in',
  'completed',
  'cancelled',
  'no_show',
];

export const APPOINTMENT_STATUS_LABELS: Record<AppointmentStatus, string> = {
  requested: 'Requested',
  scheduled: 'Scheduled',
  confirmed: 'Confirmed',
  checked_in: 'Checked in',
  completed: 'Completed',
  cancelled: 'Cancelled',
  no_show: 'No-show',
};

/** The status changes staff may make (the server's `transition_allowed`, without staying put). */
export const APPOINTMENT_TRANSITIONS: Record<AppointmentStatus, readonly AppointmentStatus[]> = {
  requested: ['scheduled', 'cancelled'],
  scheduled: ['confirmed', 'checked_in', 'cancelled', 'no_show'],
  confirmed: ['checked_in', 'cancelled', 'no_show'],
  checked_in: ['completed'],
  completed: [],
  cancelled: [],
  no_show: [],
};

/** What the button that moves an appointment to each status says. */
export const APPOINTMENT_ACTION_LABELS: Record<AppointmentStatus, string> = {
  requested: 'Requested',
  scheduled: 'Accept request',
  confirmed: 'Confirm',
  checked_in: 'Check in',
  completed: 'Complete',
  cancelled: 'Cancel appointment',
  no_show: 'Mark no-show',
};

export function appointmentStatusLabel(status: string): string {
  return (APPOINTMENT_STATUS_LABELS as Record<string, string>)[status] ?? status;
}

export function canTransition(from: AppointmentStatus, to: AppointmentStatus): boolean {
  return from === to || (APPOINTMENT_TRANSITIONS[from] ?? []).includes(to);
}

/** Whether the appointment holds the provider's time (the server's no-double-booking rule ignores the others). */
export function holdsTime(status: AppointmentStatus): boolean {
  return status !== 'cancelled' && status !== 'no_show';
}

/** A patient may cancel an appointment that has not started and is still open. */
export function patientCanCancel(a: Pick<Appointment, 'status' | 'starts_at'>, now: Date = new Date()): boolean {
  return (a.status === 'requested' || a.status === 'scheduled' || a.status === 'confirmed') && Date.parse(a.starts_at) > now.getTime();
}

export const APPOINTMENT_KINDS: readonly { value: string; label: string }[] = [
  { value: 'initial', label: 'Initial assessment' },
  { value: 'follow_up', label: 'Follow-up' },
  { value: 'review', label: 'Review' },
  { value: 'telehealth', label: 'Telehealth (video)' },
];

export function appointmentKindLabel(kind: string): string {
  return APPOINTMENT_KINDS.find((k) => k.value === kind)?.label ?? kind.replace(/_/g, ' ');
}

export const SELF_BOOKING_LABELS: Record<SelfBooking, string> = {
  off: 'Off: patients call the clinic',
  request: 'Requests: patients ask for a time, staff confirm',
  direct: 'Direct: patients book free slots within working hours',
};

/** Upcoming (not yet ended) and past, each in the order a person reads them: next first, latest first. */
export function splitUpcoming<T extends Pick<Appointment, 'starts_at' | 'ends_at'>>(
  items: readonly T[],
  now: Date = new Date(),
): { upcoming: T[]; past: T[] } {
  const t = now.getTime();
  const upcoming = items.filter((a) => Date.parse(a.ends_at) > t).sort(byStart);
  const past = items.filter((a) => Date.parse(a.ends_at) <= t).sort((a, b) => byStart(b, a));
  return { upcoming, past };
}

/** The list order of `GET /appointments`: by start, then id. */
export function byStart(a: Pick<Appointment, 'starts_at'> & { id?: string }, b: Pick<Appointment, 'starts_at'> & { id?: string }): number {
  const d = Date.parse(a.starts_at) - Date.parse(b.starts_at);
  if (d !== 0) return d;
  const x = a.id ?? '';
  const y = b.id ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The filters a cached appointment list was read with, as its query key carries them. */
export interface AppointmentRange {
  from?: Timestamp | undefined;
  to?: Timestamp | undefined;
  patient_id?: string | undefined;
  provider_id?: string | undefined;
}

/** Whether the server would list `a` for these filters (`ends_at > from`, `starts_at < to`). */
export function appointmentInRange(a: Appointment, r: AppointmentRange): boolean {
  if (r.from && !(Date.parse(a.ends_at) > Date.parse(r.from))) return false;
  if (r.to && !(Date.parse(a.starts_at) < Date.parse(r.to))) return false;
  if (r.patient_id && a.patient_id !== r.patient_id) return false;
  if (r.provider_id && a.provider_id !== r.provider_id) return false;
  return true;
}

/** Reads every page of a cursor-paged list into one page (for a calendar's range, a patient's appointments). */
export async function collectPages<T>(load: (cursor: string | undefined) => Promise<Page<T>>, maxPages = 50): Promise<Page<T>> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await load(cursor);
    items.push(...page.items);
    if (!page.next_cursor) return { items, next_cursor: null };
    cursor = page.next_cursor;
  }
  return { items, next_cursor: cursor ?? null };
}

// ---- calendar days and clock times ---------------------------------------------------------

/** `HH:MM` or `HH:MM:SS` as minutes after midnight. */
export function parseClock(value: string): number {
  const m = /^(\d{1,2}):(\d{2})/.exec(value);
  if (!m) return NaN;
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Minutes after midnight as `HH:MM` (24 h). */
export function formatClock(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

function isoParts(date: IsoDate): [number, number, number] {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new Error(`not a date: ${date}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function isoFromUtc(t: number): IsoDate {
  return new Date(t).toISOString().slice(0, 10);
}

export function addDays(date: IsoDate, days: number): IsoDate {
  const [y, m, d] = isoParts(date);
  return isoFromUtc(Date.UTC(y, m - 1, d + days));
}

/** ISO weekday of a calendar date: 1 = Monday … 7 = Sunday. */
export function isoWeekday(date: IsoDate): number {
  const [y, m, d] = isoParts(date);
  const w = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return w === 0 ? 7 : w;
}

/** The Monday of the week `date` is in. */
export function startOfWeek(date: IsoDate): IsoDate {
  return addDays(date, 1 - isoWeekday(date));
}

/** `count` consecutive dates from `first`. */
export function dateRange(first: IsoDate, count: number): IsoDate[] {
  return Array.from({ length: count }, (_, i) => addDays(first, i));
}

export function isIsoDate(value: string | null | undefined): value is IsoDate {
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const [y, m, d] = isoParts(value);
  return isoFromUtc(Date.UTC(y, m - 1, d)) === value;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** A valid IANA zone the browser knows, or UTC. */
export function safeTimeZone(timeZone: string | null | undefined): string {
  if (!timeZone) return 'UTC';
  try {
    partsFormatter(timeZone);
    return timeZone;
  } catch {
    return 'UTC';
  }
}

/** The wall clock in `timeZone` at an instant: its calendar date and minutes after midnight. */
export function zonedParts(instant: Date | Timestamp, timeZone: string): { date: IsoDate; minutes: number; seconds: number } {
  const t = typeof instant === 'string' ? new Date(instant) : instant;
  const p: Record<string, string> = {};
  for (const part of partsFormatter(timeZone).formatToParts(t)) p[part.type] = part.value;
  const hour = Number(p['hour']) % 24;
  return {
    date: `${p['year']}-${p['month']}-${p['day']}`,
    minutes: hour * 60 + Number(p['minute']),
    seconds: Number(p['second']),
  };
}

/** How far the wall clock in `timeZone` is ahead of UTC at instant `t` (ms). */
function offsetAt(t: number, timeZone: string): number {
  const { date, minutes, seconds } = zonedParts(new Date(t), timeZone);
  const [y, m, d] = isoParts(date);
  const wall = Date.UTC(y, m - 1, d, 0, minutes, seconds);
  return wall - Math.floor(t / 1000) * 1000;
}

/**
 * The instant the wall clock in `timeZone` shows `date` and `minutes` after midnight. A time
 * skipped by a daylight-saving change resolves to the instant after the gap.
 */
export function zonedInstant(date: IsoDate, minutes: number, timeZone: string): Date {
  const [y, m, d] = isoParts(date);
  const wall = Date.UTC(y, m - 1, d, 0, minutes);
  const first = offsetAt(wall, timeZone);
  let t = wall - first;
  const second = offsetAt(t, timeZone);
  if (second !== first) {
    const retry = wall - second;
    t = offsetAt(retry, timeZone) === second ? retry : Math.max(t, retry);
  }
  return new Date(t);
}

/** Today's date on the clinic's wall clock. */
export function todayIn(timeZone: string, now: Date = new Date()): IsoDate {
  return zonedParts(now, timeZone).date;
}

/** `from` (inclusive) and `to` (exclusive) instants covering `days` calendar days from `first`. */
export function daysRange(first: IsoDate, days: number, timeZone: string): { from: Timestamp; to: Timestamp } {
  return {
    from: zonedInstant(first, 0, timeZone).toISOString(),
    to: zonedInstant(addDays(first, days), 0, timeZone).toISOString(),
  };
}

/** An instant as date and time on the clinic's wall clock, e.g. "Mon 30 Nov 2026, 10:00". */
export function formatInZone(instant: Timestamp | Date, timeZone: string, options: Intl.DateTimeFormatOptions = {}): string {
  const t = typeof instant === 'string' ? new Date(instant) : instant;
  if (Number.isNaN(t.getTime())) return String(instant);
  return t.toLocaleString(undefined, {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    ...options,
  });
}

/** An instant's clock time on the clinic's wall clock, `HH:MM`. */
export function clockInZone(instant: Timestamp | Date, timeZone: string): string {
  return formatClock(zonedParts(instant, timeZone).minutes);
}

/** A calendar date for headings, e.g. "Mon 30 Nov". */
export function formatDay(date: IsoDate, options: Intl.DateTimeFormatOptions = { weekday: 'short', day: 'numeric', month: 'short' }): string {
  const [y, m, d] = isoParts(date);
  return new Date(Date.UTC(y, m - 1, d, 12)).toLocaleDateString(undefined, { timeZone: 'UTC', ...options });
}

// ---- working hours --------------------------------------------------------------------------

/** Working hours as the forms edit them: `HH:MM`, by weekday then start. */
export function normalizeHours(hours: readonly WorkingHours[]): WorkingHours[] {
  return hours
    .map((h) => ({ weekday: h.weekday, start: formatClock(parseClock(h.start)), end: formatClock(parseClock(h.end)) }))
    .sort((a, b) => a.weekday - b.weekday || parseClock(a.start) - parseClock(b.start));
}

/** The blocks of `hours` on the weekday of `date`, as minute ranges. */
export function blocksOn(hours: readonly WorkingHours[], date: IsoDate): { start: number; end: number }[] {
  const weekday = isoWeekday(date);
  return hours
    .filter((h) => h.weekday === weekday)
    .map((h) => ({ start: parseClock(h.start), end: parseClock(h.end) }))
    .filter((b) => b.end > b.start)
    .sort((a, b) => a.start - b.start);
}

/** Whether `[start, end)` minutes of `date` lie inside one working block (the server's direct-booking rule). */
export function withinHours(hours: readonly WorkingHours[], date: IsoDate, start: number, end: number): boolean {
  return blocksOn(hours, date).some((b) => b.start <= start && end <= b.end);
}

export const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

// ---- the calendar grid ----------------------------------------------------------------------

/** One column of the time grid: a provider on a day. */
export interface GridColumn {
  key: string;
  date: IsoDate;
  provider: Provider;
}

export function gridColumns(dates: readonly IsoDate[], providers: readonly Provider[]): GridColumn[] {
  return dates.flatMap((date) => providers.map((provider) => ({ key: `${date}/${provider.id}`, date, provider })));
}

/** An appointment placed in a column: minutes after midnight, and its lane among overlapping ones. */
export interface PlacedAppointment {
  appointment: Appointment;
  start: number;
  end: number;
  lane: number;
  lanes: number;
}

const DAY = 24 * 60;

/**
 * Places appointments into the columns of their provider and day (in the clinic's time zone),
 * an appointment running past midnight clipped to each day it covers. Overlapping ones (a
 * cancelled one under its replacement, say) share the width: each gets a lane, and every
 * appointment of an overlapping group knows the group's lane count.
 */
export function layoutGrid(appointments: readonly Appointment[], columns: readonly GridColumn[], timeZone: string): Map<string, PlacedAppointment[]> {
  const byColumn = new Map<string, PlacedAppointment[]>();
  const index = new Map<string, GridColumn>();
  for (const c of columns) {
    index.set(`${c.date}/${c.provider.id}`, c);
    byColumn.set(c.key, []);
  }
  for (const a of appointments) {
    const s = zonedParts(a.starts_at, timeZone);
    const e = zonedParts(a.ends_at, timeZone);
    for (let date = s.date; date <= e.date; date = addDays(date, 1)) {
      const column = index.get(`${date}/${a.provider_id}`);
      const start = date === s.date ? s.minutes : 0;
      const end = date === e.date ? e.minutes : DAY;
      if (column && end > start) byColumn.get(column.key)!.push({ appointment: a, start, end, lane: 0, lanes: 1 });
      if (date === e.date) break;
    }
  }
  for (const placed of byColumn.values()) assignLanes(placed);
  return byColumn;
}

/** Greedy lanes within groups of transitively overlapping items (sorted in place by start). */
export function assignLanes<T extends { start: number; end: number; lane: number; lanes: number }>(items: T[]): T[] {
  items.sort((a, b) => a.start - b.start || b.end - a.end);
  let group: T[] = [];
  let laneEnds: number[] = [];
  let groupEnd = -Infinity;
  const close = () => {
    for (const item of group) item.lanes = laneEnds.length;
    group = [];
    laneEnds = [];
  };
  for (const item of items) {
    if (item.start >= groupEnd) {
      close();
      groupEnd = -Infinity;
    }
    let lane = laneEnds.findIndex((end) => end <= item.start);
    if (lane < 0) {
      lane = laneEnds.length;
      laneEnds.push(item.end);
    } else {
      laneEnds[lane] = item.end;
    }
    item.lane = lane;
    group.push(item);
    groupEnd = Math.max(groupEnd, item.end);
  }
  close();
  return items;
}

/**
 * The hours the grid shows: whole hours covering the providers' working hours on the shown
 * days and every placed appointment, at least `fallback` (8:00–18:00).
 */
export function gridBounds(
  columns: readonly GridColumn[],
  placed: Iterable<readonly PlacedAppointment[]>,
  fallback: { start: number; end: number } = { start: 8 * 60, end: 18 * 60 },
): { start: number; end: number } {
  let start = fallback.start;
  let end = fallback.end;
  for (const c of columns) {
    for (const b of blocksOn(c.provider.working_hours, c.date)) {
      start = Math.min(start, b.start);
      end = Math.max(end, b.end);
    }
  }
  for (const list of placed) {
    for (const p of list) {
      start = Math.min(start, p.start);
      end = Math.max(end, p.end);
    }
  }
  return { start: Math.max(0, Math.floor(start / 60) * 60), end: Math.min(DAY, Math.ceil(end / 60) * 60) };
}

// ---- free slots ---------------------------------------------------------------------------

export interface Slot {
  starts_at: Timestamp;
  ends_at: Timestamp;
  /** Minutes after midnight on the clinic's wall clock. */
  minutes: number;
}

export interface FreeSlotOptions {
  hours: readonly WorkingHours[];
  date: IsoDate;
  timeZone: string;
  /** Length of an appointment, minutes. */
  duration: number;
  /** Minutes between slot starts; default 30. */
  step?: number;
  /** Appointments known to hold the provider's time (others are ignored by `holdsTime`). */
  busy?: readonly Pick<Appointment, 'starts_at' | 'ends_at' | 'status'>[];
  /** No slot starts before this instant (now). */
  notBefore?: Date;
}

/**
 * The slots of `date` within the provider's working hours that do not overlap a known
 * appointment: starting on the block's start, every `step` minutes, each `duration` long and
 * ending by the block's end.
 */
export function freeSlots({ hours, date, timeZone, duration, step = 30, busy = [], notBefore }: FreeSlotOptions): Slot[] {
  const taken = busy.filter((b) => holdsTime(b.status)).map((b) => [Date.parse(b.starts_at), Date.parse(b.ends_at)] as const);
  const seen = new Set<number>();
  const slots: Slot[] = [];
  for (const block of blocksOn(hours, date)) {
    for (let m = block.start; m + duration <= block.end; m += step) {
      if (seen.has(m)) continue;
      const s = zonedInstant(date, m, timeZone);
      // A wall-clock time skipped by daylight saving lands elsewhere: not a slot.
      if (zonedParts(s, timeZone).minutes !== m) continue;
      const start = s.getTime();
      const end = start + duration * 60_000;
      if (notBefore && start < notBefore.getTime()) continue;
      if (taken.some(([bs, be]) => start < be && bs < end)) continue;
      seen.add(m);
      slots.push({ starts_at: new Date(start).toISOString(), ends_at: new Date(end).toISOString(), minutes: m });
    }
  }
  return slots.sort((a, b) => a.minutes - b.minutes);
}
