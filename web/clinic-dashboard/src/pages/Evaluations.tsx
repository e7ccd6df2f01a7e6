import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient, type QueryClient, type QueryKey } from '@tanstack/react-query';
import {
  ApiError,
  EVALUATION_STATUSES,
  STATUS_LABELS,
  STATUS_TRANSITIONS,
  SelectField,
  TextAreaField,
  URGENCIES,
  URGENCY_LABELS,
  channels,
  emptyToNull,
  errorMessage,
  formErrorMessage,
  formatDateTime,
  mergeIntoDetail,
  redFlagLabel,
  statusLabel,
  upsertIntoLists,
  useAuthState,
  useLiveCache,
  usePresence,
  type Evaluation,
  type EvaluationDetail,
  type EvaluationPatch,
  type EvaluationStatus,
  type Urgency,
} from '@qivr/shared';
import { api, auth } from '../session';
import { keys } from '../queryClient';
import { useIsAdmin } from '../admin';
import {
  filtersFromParams,
  filtersToParams,
  filtersToQuery,
  matchesFilters,
  newestFirst,
  type QueueFilters,
  type StatusFilter,
} from '../evaluationFilters';

const PAGE_SIZE = 50;
/** How long a row that just arrived stays highlighted. */
const FRESH_MS = 5000;

const statusFilterOptions: { value: StatusFilter; label: string }[] = [
  { value: 'open', label: 'Open (not closed)' },
  { value: 'all', label: 'All' },
  ...EVALUATION_STATUSES.map((s) => ({ value: s, label: STATUS_LABELS[s] })),
];
const urgencyFilterOptions = [{ value: '', label: 'Any' }, ...URGENCIES.map((u) => ({ value: u, label: URGENCY_LABELS[u] }))];

/** Puts a queue item from an event or a PATCH answer into every cached list and its detail. */
export function applyEvaluation(queryClient: QueryClient, item: Evaluation, insert: boolean) {
  const me = auth.store.getState().user?.id ?? null;
  upsertIntoLists<Evaluation>(queryClient, keys.evaluationLists, item, {
    belongs: (e, key: QueryKey) => matchesFilters(e, key[2] as QueueFilters, me),
    compare: newestFirst,
    insert,
  });
  mergeIntoDetail<EvaluationDetail>(queryClient, keys.evaluation(item.id), item);
}

export function EvaluationsPage() {
  const { evaluationId } = useParams();
  const [params, setParams] = useSearchParams();
  const filters = filtersFromParams(params);
  const navigate = useNavigate();
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());
  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach(clearTimeout);
  }, []);

  const query = useInfiniteQuery({
    queryKey: keys.evaluationList(filters),
    queryFn: ({ pageParam, signal }) =>
      api.evaluations.list({ ...filtersToQuery(filters), cursor: pageParam, limit: PAGE_SIZE }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const rows = query.data?.pages.flatMap((p) => p.items) ?? [];
  const loadMoreError = query.isFetchNextPageError ? query.error : null;

  useLiveCache(channels.evaluations, {
    refetch: [keys.evaluationLists],
    apply: (event, queryClient) => {
      if (event.kind !== 'evaluation.created' && event.kind !== 'evaluation.updated') return;
      const item = event.data as Evaluation;
      const created = event.kind === 'evaluation.created';
      applyEvaluation(queryClient, item, true);
      if (created) {
        setFresh((s) => new Set(s).add(item.id));
        const t = setTimeout(() => {
          timers.current.delete(t);
          setFresh((s) => {
            const next = new Set(s);
            next.delete(item.id);
            return next;
          });
        }, FRESH_MS);
        timers.current.add(t);
      }
    },
  });

  const search = filtersToParams(filters).toString();
  const hrefFor = (id: string) => `/evaluations/${id}${search ? `?${search}` : ''}`;
  const setFilter = (change: Partial<QueueFilters>) => setParams(filtersToParams({ ...filters, ...change }), { replace: true });

  return (
    <section>
      <div className="page-head">
        <h1>Evaluations</h1>
        <OnlineStaff />
      </div>
      <form className="filters" aria-label="Queue filters" onSubmit={(e) => e.preventDefault()}>
        <SelectField
          label="Status"
          options={statusFilterOptions}
          value={filters.status}
          onChange={(e) => setFilter({ status: e.target.value as StatusFilter })}
        />
        <SelectField
          label="Urgency"
          options={urgencyFilterOptions}
          value={filters.urgency}
          onChange={(e) => setFilter({ urgency: e.target.value as Urgency | '' })}
        />
        <label className="choice">
          <input type="checkbox" checked={filters.mine} onChange={(e) => setFilter({ mine: e.target.checked })} />
          Assigned to me
        </label>
      </form>
      <div className={evaluationId ? 'queue queue--with-panel' : 'queue'}>
        <div>
          {query.isPending ? (
            <p className="muted">Loading the queue…</p>
          ) : query.isError && !query.data ? (
            <div className="notice notice--error" role="alert">
              Could not load evaluations: {errorMessage(query.error)}
            </div>
          ) : rows.length === 0 ? (
            <p className="muted" data-testid="queue-empty">
              No evaluations match. New intakes appear here as patients send them.
            </p>
          ) : (
            <>
              <table className="list" aria-label="Evaluation queue">
                <thead>
                  <tr>
                    <th scope="col">Received</th>
                    <th scope="col">Patient</th>
                    <th scope="col">Problem</th>
                    <th scope="col">Urgency</th>
                    <th scope="col">Status</th>
                    <th scope="col">Assignee</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((e) => (
                    <tr
                      key={e.id}
                      data-testid="evaluation-row"
                      data-id={e.id}
                      data-href={hrefFor(e.id)}
                      className={[fresh.has(e.id) ? 'row--new' : '', e.id === evaluationId ? 'row--selected' : '']
                        .filter(Boolean)
                        .join(' ') || undefined}
                      onClick={() => void navigate(hrefFor(e.id))}
                    >
                      <td className="nowrap">{formatDateTime(e.created_at)}</td>
                      <td>
                        <Link to={hrefFor(e.id)} onClick={(ev) => ev.stopPropagation()}>
                          {e.patient_name}
                        </Link>
                      </td>
                      <td className="break">
                        {e.chief_complaint} <span className="muted">· pain {e.pain_level}/10</span>
                        {e.red_flags.length > 0 ? (
                          <div className="flags" aria-label="Red flags">
                            {e.red_flags.map((f) => (
                              <span key={f} className="flag">
                                {redFlagLabel(f)}
                              </span>
                            ))}
                          </div>
                        ) : null}
                      </td>
                      <td>
                        <UrgencyBadge urgency={e.urgency} />
                      </td>
                      <td>
                        <StatusBadge status={e.status} />
                      </td>
                      <td data-testid="evaluation-assignee">{e.assignee_name ?? <span className="muted">—</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <div className="list-footer">
                {query.hasNextPage ? (
                  <button
                    type="button"
                    className="button"
                    onClick={() => void query.fetchNextPage()}
                    disabled={query.isFetchingNextPage}
                  >
                    {query.isFetchingNextPage ? 'Loading…' : 'Load more'}
                  </button>
                ) : (
                  <span className="muted">
                    {rows.length} evaluation{rows.length === 1 ? '' : 's'}
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
        {evaluationId ? <TriagePanel key={evaluationId} id={evaluationId} closeHref={`/evaluations${search ? `?${search}` : ''}`} /> : null}
      </div>
    </section>
  );
}

function OnlineStaff() {
  const present = usePresence(channels.presence);
  const myId = useAuthState(auth, (s) => s.user?.id);
  const others = present.filter((u) => u.user_id !== myId);
  if (others.length === 0) return null;
  return (
    <span className="muted" data-testid="online-staff">
      Also here: {others.map((u) => u.name).join(', ')}
    </span>
  );
}

export function UrgencyBadge({ urgency }: { urgency: string }) {
  return (
    <span className={`urgency urgency--${urgency}`} data-testid="evaluation-urgency">
      {(URGENCY_LABELS as Record<string, string>)[urgency] ?? urgency}
    </span>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`status status--${status}`} data-testid="evaluation-status" data-status={status}>
      {statusLabel(status)}
    </span>
  );
}

interface Drafts {
  status?: EvaluationStatus;
  urgency?: Urgency;
  assignee_user_id?: string | null;
  notes?: string;
}

const triageFields = ['status', 'urgency', 'assignee_user_id', 'notes'];

/** The triage panel: the intake, and status, urgency, assignee and notes to change. */
function TriagePanel({ id, closeHref }: { id: string; closeHref: string }) {
  const detail = useQuery({ queryKey: keys.evaluation(id), queryFn: ({ signal }) => api.evaluations.get(id, signal) });
  return (
    <aside className="card" aria-label="Triage" data-testid="triage-panel">
      {detail.isPending ? (
        <p className="muted">Loading the evaluation…</p>
      ) : detail.isError ? (
        <>
          <div className="notice notice--error" role="alert">
            {detail.error instanceof ApiError && detail.error.status === 404
              ? 'This evaluation does not exist (any more).'
              : `Could not load the evaluation: ${errorMessage(detail.error)}`}
          </div>
          <Link to={closeHref}>Close</Link>
        </>
      ) : (
        <Triage evaluation={detail.data} closeHref={closeHref} />
      )}
    </aside>
  );
}

function Triage({ evaluation: live, closeHref }: { evaluation: EvaluationDetail; closeHref: string }) {
  const queryClient = useQueryClient();
  const isAdmin = useIsAdmin();
  const me = useAuthState(auth, (s) => s.user);
  const [drafts, setDrafts] = useState<Drafts>({});
  /** `updated_at` of the evaluation when editing began, to notice someone else's change. */
  const [base, setBase] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const users = useQuery({
    queryKey: keys.userOptions,
    queryFn: ({ signal }) => api.users.list({ limit: 100 }, signal),
    enabled: isAdmin,
  });

  const value = {
    status: drafts.status ?? live.status,
    urgency: drafts.urgency ?? live.urgency,
    assignee_user_id: drafts.assignee_user_id !== undefined ? drafts.assignee_user_id : live.assignee_user_id,
    notes: drafts.notes ?? live.notes ?? '',
  };
  const patch: EvaluationPatch = {};
  if (value.status !== live.status) patch.status = value.status;
  if (value.urgency !== live.urgency) patch.urgency = value.urgency;
  if (value.assignee_user_id !== live.assignee_user_id) patch.assignee_user_id = value.assignee_user_id;
  if (emptyToNull(value.notes) !== emptyToNull(live.notes ?? '')) patch.notes = emptyToNull(value.notes);
  const dirty = Object.keys(patch).length > 0;

  const update = useMutation({
    mutationFn: (body: EvaluationPatch) => api.evaluations.update(live.id, body),
    onSuccess: (updated) => {
      applyEvaluation(queryClient, updated, false);
      setDrafts({});
      setBase(null);
      setSaved(true);
    },
  });
  const fieldErrors = update.error instanceof ApiError ? update.error.fieldErrors : {};

  function edit(change: Drafts) {
    if (base === null) setBase(live.updated_at);
    setSaved(false);
    setDrafts((d) => ({ ...d, ...change }));
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!dirty) return;
    update.mutate(patch);
  }

  const statusOptions = [live.status, ...(STATUS_TRANSITIONS[live.status] ?? [])].map((s) => ({
    value: s,
    label: s === live.status ? `${statusLabel(s)} (current)` : statusLabel(s),
  }));
  const assigneeOptions = [
    { value: '', label: 'Unassigned' },
    ...(users.data?.items ?? [])
      .filter((u) => u.role !== 'patient' && !u.disabled)
      .map((u) => ({ value: u.id, label: u.id === me?.id ? `${u.name} (you)` : u.name })),
  ];
  if (value.assignee_user_id && !assigneeOptions.some((o) => o.value === value.assignee_user_id)) {
    assigneeOptions.push({
      value: value.assignee_user_id,
      label: value.assignee_user_id === live.assignee_user_id ? (live.assignee_name ?? 'Assigned user') : 'Selected user',
    });
  }
  const assigneeName =
    value.assignee_user_id === null
      ? null
      : value.assignee_user_id === me?.id
        ? `${me.name} (you)`
        : value.assignee_user_id === live.assignee_user_id
          ? live.assignee_name
          : 'Selected user';
  const intake = live.intake;
  const changedElsewhere = dirty && base !== null && base !== live.updated_at && !update.isPending;

  return (
    <div>
      <div className="panel-head">
        <div>
          <h2>
            <Link to={`/patients/${live.patient_id}`}>{live.patient_name}</Link>
          </h2>
          <p className="muted">Received {formatDateTime(live.created_at)}</p>
        </div>
        <Link className="button button--small" to={closeHref} aria-label="Close triage">
          Close
        </Link>
      </div>
      <p className="status-list">
        <UrgencyBadge urgency={live.urgency} /> <StatusBadge status={live.status} />
      </p>
      {live.status === 'triaged' ? (
        <p>
          <Link className="button button--primary" to={`/appointments?book=1&patient=${live.patient_id}&evaluation=${live.id}`}>
            Book appointment
          </Link>
        </p>
      ) : null}
      {live.red_flags.length > 0 ? (
        <div className="notice notice--error" role="note" data-testid="red-flags">
          <strong>Red flags:</strong> {live.red_flags.map(redFlagLabel).join(', ')}
        </div>
      ) : null}
      <dl className="details" aria-label="Intake">
        <dt>Problem</dt>
        <dd className="break">{intake.chief_complaint}</dd>
        <dt>Pain</dt>
        <dd>{intake.pain_level}/10</dd>
        <dt>Where</dt>
        <dd>{intake.pain_areas.length > 0 ? intake.pain_areas.join(', ') : '—'}</dd>
        <dt>Started</dt>
        <dd className="break">{intake.onset ?? '—'}</dd>
        <dt>Lasts</dt>
        <dd className="break">{intake.duration ?? '—'}</dd>
        <dt>History</dt>
        <dd className="break">{intake.history ?? '—'}</dd>
        <dt>Medications</dt>
        <dd className="break">{intake.medications ?? '—'}</dd>
        <dt>Allergies</dt>
        <dd className="break">{intake.allergies ?? '—'}</dd>
        <dt>Goals</dt>
        <dd className="break">{intake.goals ?? '—'}</dd>
      </dl>

      <form onSubmit={onSubmit} noValidate aria-label="Triage" className="triage-form">
        <h3>Triage</h3>
        {update.isError ? (
          <div className="notice notice--error" role="alert">
            {formErrorMessage(update.error, triageFields)}
          </div>
        ) : null}
        {changedElsewhere ? (
          <div className="notice" role="status">
            Someone else updated this evaluation while you were editing. Fields you did not change show their new values.
          </div>
        ) : null}
        {saved && !dirty ? (
          <div className="notice notice--ok" role="status">
            Saved.
          </div>
        ) : null}
        <div className="form-grid">
          <SelectField
            label="Status"
            options={statusOptions}
            value={value.status}
            onChange={(e) => edit({ status: e.target.value as EvaluationStatus })}
            error={fieldErrors['status']}
          />
          <SelectField
            label="Urgency"
            options={URGENCIES.map((u) => ({ value: u, label: URGENCY_LABELS[u] }))}
            value={value.urgency}
            onChange={(e) => edit({ urgency: e.target.value as Urgency })}
            error={fieldErrors['urgency']}
          />
        </div>
        {isAdmin ? (
          <SelectField
            label="Assignee"
            options={assigneeOptions}
            value={value.assignee_user_id ?? ''}
            onChange={(e) => edit({ assignee_user_id: e.target.value || null })}
            error={fieldErrors['assignee_user_id']}
          />
        ) : (
          <div className={fieldErrors['assignee_user_id'] ? 'field field--invalid' : 'field'}>
            <span className="field__label">Assignee</span>
            <div className="assignee">
              <span data-testid="triage-assignee">{assigneeName ?? 'Unassigned'}</span>
              {value.assignee_user_id !== me?.id ? (
                <button type="button" className="button button--small" onClick={() => edit({ assignee_user_id: me?.id ?? null })}>
                  Assign to me
                </button>
              ) : null}
              {value.assignee_user_id !== null ? (
                <button type="button" className="button button--small" onClick={() => edit({ assignee_user_id: null })}>
                  Unassign
                </button>
              ) : null}
            </div>
            {fieldErrors['assignee_user_id'] ? (
              <div className="field__error" role="alert">
                {fieldErrors['assignee_user_id']}
              </div>
            ) : null}
          </div>
        )}
        <TextAreaField
          label="Notes"
          value={value.notes}
          onChange={(e) => edit({ notes: e.target.value })}
          error={fieldErrors['notes']}
          hint="Seen by clinic staff only."
        />
        <div className="form-actions">
          <button type="submit" className="button button--primary" disabled={!dirty || update.isPending}>
            {update.isPending ? 'Saving…' : 'Save triage'}
          </button>
          {dirty ? (
            <button
              type="button"
              className="button"
              onClick={() => {
                setDrafts({});
                setBase(null);
                update.reset();
              }}
            >
              Discard changes
            </button>
          ) : null}
        </div>
      </form>
    </div>
  );
}
