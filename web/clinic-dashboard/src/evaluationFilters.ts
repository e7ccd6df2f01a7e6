/** The evaluation queue's filters: in the address bar, in query keys, and matched against live events. */
import { EVALUATION_STATUSES, URGENCIES, type Evaluation, type EvaluationListQuery, type EvaluationStatus, type Urgency } from '@qivr/shared';

/** `open` is every status but `closed`. */
export type StatusFilter = 'open' | 'all' | EvaluationStatus;

export interface QueueFilters {
  status: StatusFilter;
  urgency: Urgency | '';
  /** Only evaluations assigned to the signed-in user. */
  mine: boolean;
}

export const OPEN_STATUSES: readonly EvaluationStatus[] = ['pending', 'in_review', 'triaged', 'scheduled'];

export function filtersFromParams(params: URLSearchParams): QueueFilters {
  const status = params.get('status') ?? '';
  const urgency = params.get('urgency') ?? '';
  return {
    status: status === 'all' || (EVALUATION_STATUSES as readonly string[]).includes(status) ? (status as StatusFilter) : 'open',
    urgency: (URGENCIES as readonly string[]).includes(urgency) ? (urgency as Urgency) : '',
    mine: params.get('mine') === '1',
  };
}

export function filtersToParams(f: QueueFilters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.status !== 'open') p.set('status', f.status);
  if (f.urgency) p.set('urgency', f.urgency);
  if (f.mine) p.set('mine', '1');
  return p;
}

function statuses(f: QueueFilters): readonly EvaluationStatus[] | null {
  return f.status === 'all' ? null : f.status === 'open' ? OPEN_STATUSES : [f.status];
}

export function filtersToQuery(f: QueueFilters): EvaluationListQuery {
  const s = statuses(f);
  return {
    status: s ? s.join(',') : undefined,
    urgency: f.urgency || undefined,
    assignee: f.mine ? 'me' : undefined,
  };
}

/** Whether a queue item shows in a list with these filters (as the server would decide). */
export function matchesFilters(e: Evaluation, f: QueueFilters, myUserId: string | null): boolean {
  const s = statuses(f);
  if (s && !s.includes(e.status)) return false;
  if (f.urgency && e.urgency !== f.urgency) return false;
  if (f.mine && e.assignee_user_id !== myUserId) return false;
  return true;
}

/** The queue's order: newest first (as the server sorts). */
export function newestFirst(a: Evaluation, b: Evaluation): number {
  if (a.created_at !== b.created_at) return Date.parse(b.created_at) - Date.parse(a.created_at);
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
