import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NO_AUDIT_FILTERS,
  auditFilterProblems,
  auditFiltersFromParams,
  auditFiltersToParams,
  auditQueryFromFilters,
} from '../src/auditFilters';
import { ApiClient } from '../src/api/client';

const savedTz = process.env['TZ'];
beforeAll(() => {
  // A zone with daylight saving: its clocks go back on 5 April 2026 (a 25-hour day).
  process.env['TZ'] = 'Australia/Sydney';
});
afterAll(() => {
  if (savedTz === undefined) delete process.env['TZ'];
  else process.env['TZ'] = savedTz;
});

describe('auditQueryFromFilters', () => {
  it('leaves blank filters out', () => {
    expect(auditQueryFromFilters(NO_AUDIT_FILTERS)).toEqual({});
    expect(auditQueryFromFilters({ action: '  ', user_id: '', from: '', to: '' })).toEqual({});
  });

  it('passes action and user through, trimmed', () => {
    expect(auditQueryFromFilters({ ...NO_AUDIT_FILTERS, action: ' patient.read ', user_id: 'u-1' })).toEqual({
      action: 'patient.read',
      user_id: 'u-1',
    });
  });

  it('turns days into local-midnight instants, the last day included', () => {
    const q = auditQueryFromFilters({ ...NO_AUDIT_FILTERS, from: '2026-03-02', to: '2026-03-03' });
    // Sydney is UTC+11 in March: from 2 March 00:00 to (excluded) 4 March 00:00.
    expect(q).toEqual({ from: '2026-03-01T13:00:00.000Z', to: '2026-03-03T13:00:00.000Z' });
  });

  it('follows daylight saving changes', () => {
    const q = auditQueryFromFilters({ ...NO_AUDIT_FILTERS, from: '2026-04-05', to: '2026-04-05' });
    expect(q).toEqual({ from: '2026-04-04T13:00:00.000Z', to: '2026-04-05T14:00:00.000Z' });
  });

  it('rolls the exclusive end over month and year ends', () => {
    expect(auditQueryFromFilters({ ...NO_AUDIT_FILTERS, to: '2026-12-31' }).to).toBe('2026-12-31T13:00:00.000Z');
  });

  it('keeps the patient, page size and cursor it is given', () => {
    expect(auditQueryFromFilters({ ...NO_AUDIT_FILTERS, action: 'patient.read' }, { patient_id: 'p-1', limit: 50 })).toEqual({
      patient_id: 'p-1',
      limit: 50,
      action: 'patient.read',
    });
  });

  it('drops dates that are not dates', () => {
    expect(auditQueryFromFilters({ ...NO_AUDIT_FILTERS, from: '2026-02-31', to: 'yesterday' })).toEqual({});
  });

  it('makes the query string the API expects', () => {
    const client = new ApiClient();
    const q = auditQueryFromFilters({ action: 'auth.login', user_id: 'u-1', from: '2026-03-02', to: '' }, { limit: 50 });
    expect(client.url('/audit', { ...q })).toBe(
      '/api/v1/audit?limit=50&action=auth.login&user_id=u-1&from=2026-03-01T13%3A00%3A00.000Z',
    );
  });
});

describe('auditFilterProblems', () => {
  it('is empty for no filters and for a proper range', () => {
    expect(auditFilterProblems(NO_AUDIT_FILTERS)).toEqual({});
    expect(auditFilterProblems({ ...NO_AUDIT_FILTERS, from: '2026-03-02', to: '2026-03-02' })).toEqual({});
  });
  it('names an end before the start', () => {
    expect(auditFilterProblems({ ...NO_AUDIT_FILTERS, from: '2026-03-02', to: '2026-03-01' })).toEqual({
      to: 'The last day is before the first.',
    });
  });
  it('names a date that is not one', () => {
    expect(auditFilterProblems({ ...NO_AUDIT_FILTERS, from: '2026-13-01' })).toEqual({ from: 'Not a date.' });
  });
});

describe('filters in the address bar', () => {
  it('round-trips, leaving blanks out and other parameters alone', () => {
    const f = { action: 'patient.read', user_id: '', from: '2026-03-01', to: '' };
    const params = auditFiltersToParams(f, new URLSearchParams('tab=x&user_id=old'));
    expect(params.toString()).toBe('tab=x&action=patient.read&from=2026-03-01');
    expect(auditFiltersFromParams(params)).toEqual(f);
  });
  it('reads missing parameters as blank', () => {
    expect(auditFiltersFromParams(new URLSearchParams())).toEqual(NO_AUDIT_FILTERS);
  });
});
