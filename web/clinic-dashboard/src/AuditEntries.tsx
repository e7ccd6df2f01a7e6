import { useEffect } from 'react';
import { Link } from 'react-router';
import { useInfiniteQuery } from '@tanstack/react-query';
import { errorMessage, formatDateTime, type AuditEntry, type AuditQuery } from '@qivr/shared';
import { api } from './session';
import { keys } from './queryClient';
import { isForbidden } from './admin';

const PAGE_SIZE = 50;

export const AUDIT_ADMIN_ONLY = 'Only clinic admins can see the audit log.';

/** The action-specific detail as one short line, or nothing when it is empty. */
function detailText(detail: unknown): string | null {
  if (detail === null || detail === undefined) return null;
  if (typeof detail === 'object' && Object.keys(detail).length === 0) return null;
  return JSON.stringify(detail);
}

/**
 * Audit entries matching `query`, newest first, with "Load more". Used by the audit log page
 * and by a patient's access log. `onActions` hears the actions seen so far (for suggestions).
 */
export function AuditEntries({
  query,
  showPatient = true,
  label = 'Audit entries',
  onActions,
}: {
  query: Omit<AuditQuery, 'cursor' | 'limit'>;
  showPatient?: boolean;
  label?: string;
  onActions?: (actions: string[]) => void;
}) {
  const entries = useInfiniteQuery({
    queryKey: keys.auditList(query),
    queryFn: ({ pageParam, signal }) => api.audit.list({ ...query, cursor: pageParam, limit: PAGE_SIZE }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = entries.data?.pages.flatMap((p) => p.items) ?? [];
  const actionsSeen = [...new Set(items.map((e) => e.action))].sort().join('\n');
  useEffect(() => {
    if (onActions && actionsSeen) onActions(actionsSeen.split('\n'));
  }, [onActions, actionsSeen]);
  const loadMoreError = entries.isFetchNextPageError ? entries.error : null;

  if (entries.isPending) return <p className="muted">Loading entries…</p>;
  if (entries.isError && !entries.data) {
    if (isForbidden(entries.error)) {
      return (
        <div className="notice notice--error" role="alert">
          {AUDIT_ADMIN_ONLY}
        </div>
      );
    }
    return (
      <div className="notice notice--error" role="alert">
        Could not load the audit log: {errorMessage(entries.error)}
      </div>
    );
  }
  if (items.length === 0) return <p className="muted">No entries match.</p>;
  return (
    <>
      <table className="list" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">Action</th>
            {showPatient ? <th scope="col">Patient</th> : null}
            <th scope="col">From</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <EntryRow key={e.seq} entry={e} showPatient={showPatient} />
          ))}
        </tbody>
      </table>
      <div className="list-footer">
        {entries.hasNextPage ? (
          <button
            type="button"
            className="button"
            onClick={() => void entries.fetchNextPage()}
            disabled={entries.isFetchingNextPage}
          >
            {entries.isFetchingNextPage ? 'Loading…' : 'Load more'}
          </button>
        ) : (
          <span className="muted">
            {items.length} entr{items.length === 1 ? 'y' : 'ies'}
          </span>
        )}
      </div>
      {loadMoreError ? (
        <div className="notice notice--error" role="alert">
          {errorMessage(loadMoreError)}
        </div>
      ) : null}
    </>
  );
}

function EntryRow({ entry: e, showPatient }: { entry: AuditEntry; showPatient: boolean }) {
  const detail = detailText(e.detail);
  return (
    <tr data-testid="audit-row">
      <td className="muted">{e.seq}</td>
      <td className="nowrap">{formatDateTime(e.at)}</td>
      <td>
        {e.actor_name ?? (e.actor_user_id ? 'Unknown user' : 'System')}
        {e.actor_role ? <span className="muted"> ({e.actor_role})</span> : null}
      </td>
      <td>
        <code>{e.action}</code>
        {e.resource_type && e.resource_type !== 'patient' ? <span className="muted"> · {e.resource_type}</span> : null}
        {detail ? <div className="muted audit-detail">{detail}</div> : null}
      </td>
      {showPatient ? <td>{e.patient_id ? <Link to={`/patients/${e.patient_id}`}>Patient record</Link> : '—'}</td> : null}
      <td title={e.user_agent ?? undefined}>{e.ip ?? '—'}</td>
    </tr>
  );
}
