import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  ChatView,
  SelectField,
  UnreadBadge,
  applyConversation,
  conversationQuery,
  errorMessage,
  formatDateTime,
  messagingKeys,
  useAuthState,
  type Conversation,
  type ConversationFilters,
  type ConversationPatch,
  type ConversationStatus,
} from '@qivr/shared';
import { api, auth } from '../session';
import { keys } from '../queryClient';
import { useIsAdmin } from '../admin';
import { inboxFiltersFromParams, inboxFiltersToParams } from '../inbox';

const PAGE_SIZE = 50;

const statusOptions = [
  { value: '', label: 'Any' },
  { value: 'open', label: 'Open' },
  { value: 'closed', label: 'Closed' },
];

/** The clinic's conversations, live from `inbox` (see `InboxNavLink`), with the chat beside. */
export function InboxPage() {
  const { conversationId } = useParams();
  const [params, setParams] = useSearchParams();
  const filters = inboxFiltersFromParams(params);
  const navigate = useNavigate();

  const query = useInfiniteQuery({
    queryKey: messagingKeys.list(filters),
    queryFn: ({ pageParam, signal }) =>
      api.conversations.list({ ...conversationQuery(filters), cursor: pageParam, limit: PAGE_SIZE }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const rows = query.data?.pages.flatMap((p) => p.items) ?? [];
  const loadMoreError = query.isFetchNextPageError ? query.error : null;

  const search = inboxFiltersToParams(filters).toString();
  const hrefFor = (id: string) => `/inbox/${id}${search ? `?${search}` : ''}`;
  const setFilter = (change: Partial<ConversationFilters>) =>
    setParams(inboxFiltersToParams({ ...filters, ...change }), { replace: true });

  return (
    <section>
      <div className="page-head">
        <h1>Inbox</h1>
      </div>
      <form className="filters" aria-label="Inbox filters" onSubmit={(e) => e.preventDefault()}>
        <label className="choice">
          <input type="checkbox" checked={filters.unread} onChange={(e) => setFilter({ unread: e.target.checked })} />
          Unread only
        </label>
        <label className="choice">
          <input type="checkbox" checked={filters.assignee === 'me'} onChange={(e) => setFilter({ assignee: e.target.checked ? 'me' : '' })} />
          Assigned to me
        </label>
        <SelectField
          label="Status"
          options={statusOptions}
          value={filters.status}
          onChange={(e) => setFilter({ status: e.target.value as ConversationStatus | '' })}
        />
        <PatientFilter patientId={filters.patient_id} onChange={(patient_id) => setFilter({ patient_id })} />
      </form>
      <div className={conversationId ? 'queue queue--with-panel' : 'queue'}>
        <div>
          {query.isPending ? (
            <p className="muted">Loading conversations…</p>
          ) : query.isError && !query.data ? (
            <div className="notice notice--error" role="alert">
              Could not load conversations: {errorMessage(query.error)}
            </div>
          ) : rows.length === 0 ? (
            <p className="muted" data-testid="inbox-empty">
              No conversations match. Patients' messages appear here as they arrive.
            </p>
          ) : (
            <>
              <table className="list" aria-label="Conversations">
                <thead>
                  <tr>
                    <th scope="col">Last activity</th>
                    <th scope="col">Patient</th>
                    <th scope="col">Subject</th>
                    <th scope="col">Assignee</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((c) => (
                    <tr
                      key={c.id}
                      data-testid="conversation-row"
                      data-id={c.id}
                      data-href={hrefFor(c.id)}
                      data-unread={c.unread_count}
                      className={[c.unread_count > 0 ? 'row--unread' : '', c.id === conversationId ? 'row--selected' : '']
                        .filter(Boolean)
                        .join(' ') || undefined}
                      onClick={() => void navigate(hrefFor(c.id))}
                    >
                      <td className="nowrap">{formatDateTime(c.last_message_at ?? c.created_at)}</td>
                      <td>{c.patient_name}</td>
                      <td className="break">
                        <Link to={hrefFor(c.id)} onClick={(ev) => ev.stopPropagation()}>
                          {c.subject}
                        </Link>{' '}
                        <UnreadBadge count={c.unread_count} />
                      </td>
                      <td data-testid="conversation-assignee">{c.assignee_name ?? <span className="muted">—</span>}</td>
                      <td>
                        <ConversationStatusBadge status={c.status} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <div className="list-footer">
                {query.hasNextPage ? (
                  <button type="button" className="button" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
                    {query.isFetchingNextPage ? 'Loading…' : 'Load more'}
                  </button>
                ) : (
                  <span className="muted">
                    {rows.length} conversation{rows.length === 1 ? '' : 's'}
                  </span>
                )}
              </div>
              {loadMoreError ? (
                <div className="notice notice--error" role="alert">
                  {errorMessage(loadMoreError)}
                </div>
              ) : null}
            </>
          )}
        </div>
        {conversationId ? (
          <ConversationPanel key={conversationId} id={conversationId} closeHref={`/inbox${search ? `?${search}` : ''}`} />
        ) : null}
      </div>
    </section>
  );
}

export function ConversationStatusBadge({ status }: { status: string }) {
  return (
    <span className={`status status--${status === 'closed' ? 'closed' : 'in_review'}`} data-testid="conversation-status" data-status={status}>
      {status === 'closed' ? 'Closed' : 'Open'}
    </span>
  );
}

/** Filter by patient: search by name (the patients list), or the `patient_id` from the address. */
function PatientFilter({ patientId, onChange }: { patientId: string; onChange: (id: string) => void }) {
  const [draft, setDraft] = useState('');
  const [q, setQ] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setQ(draft.trim()), 300);
    return () => clearTimeout(t);
  }, [draft]);
  const chosen = useQuery({
    queryKey: keys.patient(patientId),
    queryFn: ({ signal }) => api.patients.get(patientId, signal),
    enabled: Boolean(patientId),
  });
  const matches = useQuery({
    queryKey: keys.patientList(`inbox:${q}`),
    queryFn: ({ signal }) => api.patients.list({ q, limit: 6 }, signal),
    enabled: !patientId && q.length > 0,
  });

  if (patientId) {
    return (
      <div className="field">
        <span className="field__label">Patient</span>
        <span className="assignee" data-testid="inbox-patient-filter">
          {chosen.data ? `${chosen.data.first_name} ${chosen.data.last_name}` : chosen.isError ? 'Unknown patient' : 'Loading…'}
          <button type="button" className="button button--small" onClick={() => onChange('')}>
            Any patient
          </button>
        </span>
      </div>
    );
  }
  return (
    <div className="field patient-picker">
      <label htmlFor="inbox-patient-search" className="field__label">
        Patient
      </label>
      <input
        id="inbox-patient-search"
        type="search"
        placeholder="Search by name"
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        autoComplete="off"
      />
      {q && matches.data ? (
        <ul className="picker" aria-label="Matching patients">
          {matches.data.items.length === 0 ? <li className="muted">No patients match.</li> : null}
          {matches.data.items.map((p) => (
            <li key={p.id}>
              <button
                type="button"
                className="link-button"
                onClick={() => {
                  setDraft('');
                  onChange(p.id);
                }}
              >
                {p.first_name} {p.last_name}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** One conversation: who, assignee and status (editable), and the chat. */
function ConversationPanel({ id, closeHref }: { id: string; closeHref: string }) {
  const detail = useQuery({ queryKey: messagingKeys.detail(id), queryFn: ({ signal }) => api.conversations.get(id, signal) });
  return (
    <aside className="card" aria-label="Conversation" data-testid="conversation-panel">
      {detail.isPending ? (
        <p className="muted">Loading the conversation…</p>
      ) : detail.isError ? (
        <>
          <div className="notice notice--error" role="alert">
            {detail.error instanceof ApiError && detail.error.status === 404
              ? 'This conversation does not exist (any more).'
              : `Could not load the conversation: ${errorMessage(detail.error)}`}
          </div>
          <Link to={closeHref}>Close</Link>
        </>
      ) : (
        <ConversationView conversation={detail.data} closeHref={closeHref} />
      )}
    </aside>
  );
}

function ConversationView({ conversation: c, closeHref }: { conversation: Conversation; closeHref: string }) {
  const queryClient = useQueryClient();
  const me = useAuthState(auth, (s) => s.user);
  const isAdmin = useIsAdmin();
  const users = useQuery({
    queryKey: keys.userOptions,
    queryFn: ({ signal }) => api.users.list({ limit: 100 }, signal),
    enabled: isAdmin,
  });
  const update = useMutation({
    mutationFn: (patch: ConversationPatch) => api.conversations.update(c.id, patch),
    onSuccess: (updated) => applyConversation(queryClient, updated, me?.id ?? null),
  });
  const chatUser = useMemo(() => ({ id: me?.id ?? '', name: me?.name ?? '', role: me?.role ?? 'staff' }), [me?.id, me?.name, me?.role]);
  const assigneeOptions = [
    { value: '', label: 'Unassigned' },
    ...(users.data?.items ?? [])
      .filter((u) => u.role !== 'patient' && !u.disabled)
      .map((u) => ({ value: u.id, label: u.id === me?.id ? `${u.name} (you)` : u.name })),
  ];
  if (c.assignee_user_id && !assigneeOptions.some((o) => o.value === c.assignee_user_id)) {
    assigneeOptions.push({ value: c.assignee_user_id, label: c.assignee_name ?? 'Assigned user' });
  }

  return (
    <div>
      <div className="panel-head">
        <div>
          <h2 data-testid="conversation-subject">{c.subject}</h2>
          <p className="muted">
            With <Link to={`/patients/${c.patient_id}`}>{c.patient_name}</Link> · started {formatDateTime(c.created_at)}
          </p>
        </div>
        <Link className="button button--small" to={closeHref} aria-label="Close panel">
          Close
        </Link>
      </div>
      <div className="conversation-controls">
        {isAdmin ? (
          <SelectField
            label="Assignee"
            options={assigneeOptions}
            value={c.assignee_user_id ?? ''}
            disabled={update.isPending}
            onChange={(e) => update.mutate({ assignee_user_id: e.target.value || null })}
          />
        ) : (
          <div className="field">
            <span className="field__label">Assignee</span>
            <div className="assignee">
              <span data-testid="panel-assignee">{c.assignee_user_id === me?.id ? `${c.assignee_name ?? me?.name} (you)` : (c.assignee_name ?? 'Unassigned')}</span>
              {c.assignee_user_id !== me?.id ? (
                <button type="button" className="button button--small" disabled={update.isPending} onClick={() => update.mutate({ assignee_user_id: me?.id ?? null })}>
                  Assign to me
                </button>
              ) : null}
              {c.assignee_user_id !== null ? (
                <button type="button" className="button button--small" disabled={update.isPending} onClick={() => update.mutate({ assignee_user_id: null })}>
                  Unassign
                </button>
              ) : null}
            </div>
          </div>
        )}
        <div className="field">
          <span className="field__label">Status</span>
          <div className="assignee">
            <ConversationStatusBadge status={c.status} />
            <button
              type="button"
              className="button button--small"
              disabled={update.isPending}
              onClick={() => update.mutate({ status: c.status === 'closed' ? 'open' : 'closed' })}
            >
              {c.status === 'closed' ? 'Reopen' : 'Close conversation'}
            </button>
          </div>
        </div>
      </div>
      {update.isError ? (
        <div className="notice notice--error" role="alert">
          {update.error instanceof ApiError && update.error.errors.length > 0 ? update.error.errors.map((f) => f.message).join(' ') : errorMessage(update.error)}
        </div>
      ) : null}
      <ChatView key={c.id} api={api} conversation={c} me={chatUser} otherSideName={c.patient_name} />
    </div>
  );
}
