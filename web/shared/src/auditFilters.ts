/**
 * The audit log's filter form ↔ the address bar ↔ `GET /audit`'s query. The form works in
 * calendar days in the user's time zone, both ends included; the API takes RFC 3339 instants,
 * `from` inclusive and `to` exclusive, so "to 3 March" becomes local midnight of 4 March.
 */
import type { AuditQuery } from './api/types';

export interface AuditFilters {
  /** Exact action, e.g. `patient.read`; blank for any. */
  action: string;
  /** A user's id; blank for anyone. */
  user_id: string;
  /** First day, `YYYY-MM-DD`; blank for no lower bound. */
  from: string;
  /** Last day (included), `YYYY-MM-DD`; blank for no upper bound. */
  to: string;
}

export const NO_AUDIT_FILTERS: AuditFilters = { action: '', user_id: '', from: '', to: '' };

const FILTER_KEYS = ['action', 'user_id', 'from', 'to'] as const;

/** Local midnight at the start of `YYYY-MM-DD` plus `addDays`, or null if it is not a date. */
function localMidnight(day: string, addDays = 0): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
  const date = new Date(y, mo, d + addDays);
  // Reject 2024-02-31 and the like (Date rolls them over).
  const check = new Date(y, mo, d);
  if (check.getFullYear() !== y || check.getMonth() !== mo || check.getDate() !== d) return null;
  return date;
}

/** Problems to show under the filter fields (`from`, `to`), keyed by field; empty when fine. */
export function auditFilterProblems(f: AuditFilters): Record<string, string> {
  const problems: Record<string, string> = {};
  const from = f.from.trim() ? localMidnight(f.from) : null;
  const to = f.to.trim() ? localMidnight(f.to) : null;
  if (f.from.trim() && !from) problems['from'] = 'Not a date.';
  if (f.to.trim() && !to) problems['to'] = 'Not a date.';
  if (from && to && to < from) problems['to'] = 'The last day is before the first.';
  return problems;
}

/** The `GET /audit` query for the filters (blanks and unparseable dates are left out). */
export function auditQueryFromFilters(f: AuditFilters, extra: Pick<AuditQuery, 'patient_id' | 'limit' | 'cursor'> = {}): AuditQuery {
  const q: AuditQuery = { ...extra };
  const action = f.action.trim();
  if (action) q.action = action;
  const user = f.user_id.trim();
  if (user) q.user_id = user;
  const from = f.from.trim() ? localMidnight(f.from) : null;
  if (from) q.from = from.toISOString();
  const toExclusive = f.to.trim() ? localMidnight(f.to, 1) : null;
  if (toExclusive) q.to = toExclusive.toISOString();
  return q;
}

/** Reads the filters from the page's search parameters (`?action=…&user_id=…&from=…&to=…`). */
export function auditFiltersFromParams(params: URLSearchParams): AuditFilters {
  const f = { ...NO_AUDIT_FILTERS };
  for (const k of FILTER_KEYS) f[k] = (params.get(k) ?? '').trim();
  return f;
}

/** The search parameters for the filters: blanks left out, other parameters kept. */
export function auditFiltersToParams(f: AuditFilters, base?: URLSearchParams): URLSearchParams {
  const params = new URLSearchParams(base);
  for (const k of FILTER_KEYS) {
    const v = f[k].trim();
    if (v) params.set(k, v);
    else params.delete(k);
  }
  return params;
}
