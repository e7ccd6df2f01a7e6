import { describe, expect, test } from 'vitest';
import {
  APPOINTMENT_STATUSES,
  APPOINTMENT_TRANSITIONS,
  addDays,
  appointmentInRange,
  assignLanes,
  canTransition,
  collectPages,
  daysRange,
  freeSlots,
  gridBounds,
  gridColumns,
  isIsoDate,
  isoWeekday,
  layoutGrid,
  normalizeHours,
  patientCanCancel,
  splitUpcoming,
  startOfWeek,
  withinHours,
  zonedInstant,
  zonedParts,
} from '../src/appointments';
import type { Appointment, AppointmentStatus, Provider, WorkingHours } from '../src/api/types';

const weekdays9to5: WorkingHours[] = [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00:00', end: '17:00:00' }));

function provider(id: string, hours: WorkingHours[] = weekdays9to5): Provider {
  return { id, name: `Dr ${id}`, specialty: null, email: null, active: true, working_hours: hours, created_at: '2026-01-01T00:00:00Z' };
}

let n = 0;
function appt(starts_at: string, ends_at: string, extra: Partial<Appointment> = {}): Appointment {
  n += 1;
  return {
    id: `a${n}`,
    patient_id: 'p1',
    patient_name: 'Pat Ient',
    provider_id: 'v1',
    provider_name: 'Dr v1',
    evaluation_id: null,
    starts_at,
    ends_at,
    kind: 'follow_up',
    location: null,
    video_url: null,
    notes: null,
    status: 'scheduled',
    cancel_reason: null,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    ...extra,
  };
}

describe('status transitions', () => {
  test('follow the server: forward along the workflow, cancelled and no-show as exits', () => {
    expect(canTransition('requested', 'scheduled')).toBe(true);
    expect(canTransition('requested', 'cancelled')).toBe(true);
    expect(canTransition('requested', 'confirmed')).toBe(false);
    expect(canTransition('scheduled', 'confirmed')).toBe(true);
    expect(canTransition('scheduled', 'checked_in')).toBe(true);
    expect(canTransition('scheduled', 'no_show')).toBe(true);
    expect(canTransition('scheduled', 'completed')).toBe(false);
    expect(canTransition('confirmed', 'checked_in')).toBe(true);
    expect(canTransition('confirmed', 'scheduled')).toBe(false);
    expect(canTransition('checked_in', 'completed')).toBe(true);
    expect(canTransition('checked_in', 'cancelled')).toBe(false);
    expect(canTransition('completed', 'cancelled')).toBe(false);
    expect(canTransition('cancelled', 'scheduled')).toBe(false);
    expect(canTransition('scheduled', 'scheduled')).toBe(true);
  });

  test('final statuses offer nothing, and every status has an entry', () => {
    for (const s of APPOINTMENT_STATUSES) expect(APPOINTMENT_TRANSITIONS[s]).toBeDefined();
    const finals: AppointmentStatus[] = ['completed', 'cancelled', 'no_show'];
    for (const s of finals) expect(APPOINTMENT_TRANSITIONS[s]).toEqual([]);
  });

  test('patients may cancel only open appointments that have not started', () => {
    const now = new Date('2026-11-26T12:00:00Z');
    expect(patientCanCancel({ status: 'scheduled', starts_at: '2026-11-27T09:00:00Z' }, now)).toBe(true);
    expect(patientCanCancel({ status: 'requested', starts_at: '2026-11-27T09:00:00Z' }, now)).toBe(true);
    expect(patientCanCancel({ status: 'checked_in', starts_at: '2026-11-27T09:00:00Z' }, now)).toBe(false);
    expect(patientCanCancel({ status: 'scheduled', starts_at: '2026-11-26T11:00:00Z' }, now)).toBe(false);
  });
});

describe('calendar days in the clinic time zone', () => {
  test('date arithmetic and ISO weekdays', () => {
    expect(addDays('2026-11-30', 1)).toBe('2026-12-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(isoWeekday('2026-11-30')).toBe(1);
    expect(isoWeekday('2026-11-29')).toBe(7);
    expect(startOfWeek('2026-11-29')).toBe('2026-11-23');
    expect(startOfWeek('2026-11-30')).toBe('2026-11-30');
    expect(isIsoDate('2026-02-30')).toBe(false);
    expect(isIsoDate('2026-02-28')).toBe(true);
  });

  test('wall-clock times map to instants and back, across daylight saving', () => {
    // Sydney is UTC+11 in November (daylight time) and UTC+10 in June.
    expect(zonedInstant('2026-11-30', 10 * 60, 'Australia/Sydney').toISOString()).toBe('2026-11-29T23:00:00.000Z');
    expect(zonedInstant('2026-06-01', 10 * 60, 'Australia/Sydney').toISOString()).toBe('2026-06-01T00:00:00.000Z');
    expect(zonedParts('2026-11-29T23:00:00Z', 'Australia/Sydney')).toEqual({ date: '2026-11-30', minutes: 600, seconds: 0 });
    // New York springs forward on 2026-03-08 at 02:00: 01:30 is EST, 03:30 EDT.
    expect(zonedInstant('2026-03-08', 90, 'America/New_York').toISOString()).toBe('2026-03-08T06:30:00.000Z');
    expect(zonedInstant('2026-03-08', 210, 'America/New_York').toISOString()).toBe('2026-03-08T07:30:00.000Z');
    expect(daysRange('2026-11-30', 7, 'UTC')).toEqual({ from: '2026-11-30T00:00:00.000Z', to: '2026-12-07T00:00:00.000Z' });
  });
});

describe('appointment lists', () => {
  test('range filters match the server (ends after from, starts before to)', () => {
    const a = appt('2026-11-30T09:00:00Z', '2026-11-30T10:00:00Z');
    expect(appointmentInRange(a, { from: '2026-11-30T10:00:00Z' })).toBe(false);
    expect(appointmentInRange(a, { from: '2026-11-30T09:59:00Z' })).toBe(true);
    expect(appointmentInRange(a, { to: '2026-11-30T09:00:00Z' })).toBe(false);
    expect(appointmentInRange(a, { patient_id: 'p2' })).toBe(false);
    expect(appointmentInRange(a, { patient_id: 'p1', provider_id: 'v1' })).toBe(true);
  });

  test('upcoming next first, past latest first', () => {
    const now = new Date('2026-11-30T12:00:00Z');
    const past1 = appt('2026-11-01T09:00:00Z', '2026-11-01T10:00:00Z');
    const past2 = appt('2026-11-20T09:00:00Z', '2026-11-20T10:00:00Z');
    const next1 = appt('2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z');
    const next2 = appt('2026-12-05T09:00:00Z', '2026-12-05T10:00:00Z');
    const { upcoming, past } = splitUpcoming([next2, past1, next1, past2], now);
    expect(upcoming.map((a) => a.id)).toEqual([next1.id, next2.id]);
    expect(past.map((a) => a.id)).toEqual([past2.id, past1.id]);
  });

  test('collectPages follows the cursor', async () => {
    const pages: Record<string, { items: number[]; next_cursor: string | null }> = {
      start: { items: [1, 2], next_cursor: 'b' },
      b: { items: [3], next_cursor: null },
    };
    const all = await collectPages(async (cursor) => pages[cursor ?? 'start']!);
    expect(all).toEqual({ items: [1, 2, 3], next_cursor: null });
  });
});

describe('week grid layout', () => {
  const v1 = provider('v1');
  const v2 = provider('v2', [{ weekday: 1, start: '07:30', end: '19:00' }]);

  test('appointments go to the column of their provider and clinic-time day', () => {
    const columns = gridColumns(['2026-11-30', '2026-12-01'], [v1, v2]);
    expect(columns.map((c) => c.key)).toEqual(['2026-11-30/v1', '2026-11-30/v2', '2026-12-01/v1', '2026-12-01/v2']);
    // 23:00 UTC on the 29th is 10:00 on Monday the 30th in Sydney.
    const a = appt('2026-11-29T23:00:00Z', '2026-11-29T23:45:00Z');
    const b = appt('2026-12-01T00:00:00Z', '2026-12-01T01:00:00Z', { provider_id: 'v2' });
    const grid = layoutGrid([a, b], columns, 'Australia/Sydney');
    expect(grid.get('2026-11-30/v1')).toEqual([{ appointment: a, start: 600, end: 645, lane: 0, lanes: 1 }]);
    expect(grid.get('2026-12-01/v2')?.map((p) => [p.start, p.end])).toEqual([[660, 720]]);
    expect(grid.get('2026-11-30/v2')).toEqual([]);
  });

  test('an appointment past midnight is clipped to each day; unknown providers are left out', () => {
    const columns = gridColumns(['2026-11-30', '2026-12-01'], [v1]);
    const late = appt('2026-11-30T23:00:00Z', '2026-12-01T01:00:00Z');
    const other = appt('2026-11-30T09:00:00Z', '2026-11-30T10:00:00Z', { provider_id: 'gone' });
    const grid = layoutGrid([late, other], columns, 'UTC');
    expect(grid.get('2026-11-30/v1')?.map((p) => [p.start, p.end])).toEqual([[1380, 1440]]);
    expect(grid.get('2026-12-01/v1')?.map((p) => [p.start, p.end])).toEqual([[0, 60]]);
  });

  test('overlapping appointments share the width in lanes', () => {
    const items = [
      { start: 600, end: 660, lane: 0, lanes: 0, id: 'a' },
      { start: 630, end: 690, lane: 0, lanes: 0, id: 'b' },
      { start: 660, end: 700, lane: 0, lanes: 0, id: 'c' },
      { start: 720, end: 780, lane: 0, lanes: 0, id: 'd' },
    ];
    assignLanes(items);
    const by = Object.fromEntries(items.map((i) => [i.id, [i.lane, i.lanes]]));
    expect(by).toEqual({ a: [0, 2], b: [1, 2], c: [0, 2], d: [0, 1] });
  });

  test('the grid spans the working hours and every appointment, in whole hours', () => {
    const columns = gridColumns(['2026-11-30'], [v1, v2]);
    expect(gridBounds(columns, [])).toEqual({ start: 7 * 60, end: 19 * 60 });
    const early = appt('2026-11-30T06:15:00Z', '2026-11-30T06:45:00Z');
    const grid = layoutGrid([early], columns, 'UTC');
    expect(gridBounds(columns, grid.values())).toEqual({ start: 6 * 60, end: 19 * 60 });
    // A Sunday with nobody working keeps the default.
    expect(gridBounds(gridColumns(['2026-11-29'], [v1]), [])).toEqual({ start: 8 * 60, end: 18 * 60 });
  });
});

describe('free slots', () => {
  test('within working hours, every step, ending by the block end', () => {
    const slots = freeSlots({ hours: weekdays9to5, date: '2026-11-30', timeZone: 'UTC', duration: 45, step: 60 });
    expect(slots.map((s) => s.minutes / 60)).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
    expect(slots[0]).toEqual({ starts_at: '2026-11-30T09:00:00.000Z', ends_at: '2026-11-30T09:45:00.000Z', minutes: 540 });
    // 16:30 + 45 min would end after 17:00.
    const halfHourly = freeSlots({ hours: weekdays9to5, date: '2026-11-30', timeZone: 'UTC', duration: 45 });
    expect(halfHourly.at(-1)?.minutes).toBe(16 * 60);
    expect(freeSlots({ hours: weekdays9to5, date: '2026-11-29', timeZone: 'UTC', duration: 45 })).toEqual([]);
  });

  test('skip booked times (not cancelled ones) and the past; read in the clinic time zone', () => {
    const busy = [
      { starts_at: '2026-11-30T10:00:00Z', ends_at: '2026-11-30T10:45:00Z', status: 'scheduled' as const },
      { starts_at: '2026-11-30T12:00:00Z', ends_at: '2026-11-30T12:45:00Z', status: 'cancelled' as const },
    ];
    const slots = freeSlots({
      hours: weekdays9to5,
      date: '2026-11-30',
      timeZone: 'UTC',
      duration: 45,
      step: 60,
      busy,
      notBefore: new Date('2026-11-30T09:30:00Z'),
    });
    expect(slots.map((s) => s.minutes / 60)).toEqual([11, 12, 13, 14, 15, 16]);
    const sydney = freeSlots({ hours: weekdays9to5, date: '2026-11-30', timeZone: 'Australia/Sydney', duration: 60, step: 60 });
    expect(sydney[0]?.starts_at).toBe('2026-11-29T22:00:00.000Z');
  });

  test('working hours are read as HH:MM whether or not the server adds seconds', () => {
    expect(normalizeHours([{ weekday: 2, start: '08:00:00', end: '12:30:00' }, { weekday: 1, start: '13:00', end: '17:00' }])).toEqual([
      { weekday: 1, start: '13:00', end: '17:00' },
      { weekday: 2, start: '08:00', end: '12:30' },
    ]);
    expect(withinHours(weekdays9to5, '2026-11-30', 9 * 60, 17 * 60)).toBe(true);
    expect(withinHours(weekdays9to5, '2026-11-30', 16 * 60 + 30, 17 * 60 + 15)).toBe(false);
  });
});
