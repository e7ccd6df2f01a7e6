import { useCallback, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import {
  SelectField,
  TextField,
  auditFilterProblems,
  auditFiltersFromParams,
  auditFiltersToParams,
  auditQueryFromFilters,
  errorMessage,
  NO_AUDIT_FILTERS,
  type AuditFilters,
} from '@qivr/shared';
import { api } from '../session';
import { keys } from '../queryClient';
import { AdminOnly } from '../admin';
import { AUDIT_ADMIN_ONLY, AuditEntries } from '../AuditEntries';


/** Actions the server records; suggestions only (the filter takes any exact action). */
const KNOWN_ACTIONS = [
  'auth.login',
  'auth.login_failed',
  'auth.login_locked',
  'auth.lockout',
  'auth.logout',
  'auth.refresh_reuse',
  'auth.invitation_accepted',
  'patient.list',
  'patient.read',
  'patient.create',
  'patient.update',
  'patient.delete',
  'patient.invite',
  'condition.list',
  'condition.create',
  'condition.update',
  'condition.delete',
  'user.create',
  'user.role_change',
  'user.disable',
  'identity_provider.create',
  'identity_provider.delete',
];

export function AuditLogPage() {
  return (
    <AdminOnly title="Audit log" message={AUDIT_ADMIN_ONLY}>
      <AuditLog />
    </AdminOnly>
  );
}

function AuditLog() {
  const [params, setParams] = useSearchParams();
  const applied = auditFiltersFromParams(params);
  const query = auditQueryFromFilters(applied);
  const [seenActions, setSeenActions] = useState<string[]>([]);
  const onActions = useCallback((a: string[]) => setSeenActions(a), []);

  return (
    <section>
      <div className="page-head">
        <h1>Audit log</h1>
      </div>
      <VerifyChain />
      <Filters
        key={params.toString()}
        applied={applied}
        actions={[...new Set([...KNOWN_ACTIONS, ...seenActions])].sort()}
        onApply={(f) => setParams(auditFiltersToParams(f, params), { replace: true })}
      />
      <AuditEntries query={query} onActions={onActions} />
    </section>
  );
}

function VerifyChain() {
  const chain = useQuery({
    queryKey: keys.auditChain,
    queryFn: ({ signal }) => api.audit.verify(signal),
    enabled: false,
    gcTime: 0,
  });
  return (
    <div className="card">
      <div className="page-head">
        <div>
          <h2>Tamper check</h2>
          <p className="muted">
            Each entry is chained to the one before by its hash; verifying recomputes the whole chain.
          </p>
        </div>
        <button type="button" className="button" onClick={() => void chain.refetch()} disabled={chain.isFetching}>
          {chain.isFetching ? 'Verifying…' : 'Verify chain'}
        </button>
      </div>
      {chain.isError ? (
        <div className="notice notice--error" role="alert">
          Could not verify the chain: {errorMessage(chain.error)}
        </div>
      ) : chain.data && !chain.isFetching ? (
        chain.data.intact ? (
          <div className="notice notice--ok chain-status" role="status" data-testid="chain-status">
            ✓ Chain intact: all {chain.data.entries} entries verified.
          </div>
        ) : (
          <div className="notice notice--error chain-status" role="alert" data-testid="chain-status">
            ✗ Chain broken at entry #{chain.data.first_broken_seq ?? '?'}: entries from there on may have been altered
            or removed ({chain.data.entries} entries checked).
          </div>
        )
      ) : null}
    </div>
  );
}

function Filters({
  applied,
  actions,
  onApply,
}: {
  applied: AuditFilters;
  actions: string[];
  onApply: (f: AuditFilters) => void;
}) {
  const [form, setForm] = useState(applied);
  const [problems, setProblems] = useState<Record<string, string>>({});
  const users = useQuery({
    queryKey: keys.userOptions,
    queryFn: ({ signal }) => api.users.list({ limit: 100 }, signal),
  });
  const userOptions = [
    { value: '', label: 'Anyone' },
    ...(users.data?.items ?? []).map((u) => ({ value: u.id, label: `${u.name} (${u.role})` })),
  ];
  if (form.user_id && !userOptions.some((o) => o.value === form.user_id)) {
    userOptions.push({ value: form.user_id, label: 'Selected user' });
  }
  const set = (k: keyof AuditFilters) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [k]: e.target.value }));
  const isFiltered = Object.values(applied).some((v) => v !== '');

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const p = auditFilterProblems(form);
    setProblems(p);
    if (Object.keys(p).length === 0) onApply(form);
  }

  return (
    <form className="card" onSubmit={onSubmit} noValidate aria-label="Audit filters" role="search">
      <div className="form-grid">
        <TextField label="Action" list="audit-actions" placeholder="e.g. patient.read" value={form.action} onChange={set('action')} />
        <datalist id="audit-actions">
          {actions.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <SelectField label="User" options={userOptions} value={form.user_id} onChange={set('user_id')} />
        <TextField label="From" type="date" value={form.from} onChange={set('from')} error={problems['from']} />
        <TextField label="To" type="date" value={form.to} onChange={set('to')} error={problems['to']} hint="Included." />
      </div>
      <div className="form-actions">
        <button type="submit" className="button button--primary">
          Apply filters
        </button>
        {isFiltered ? (
          <button type="button" className="button" onClick={() => onApply(NO_AUDIT_FILTERS)}>
            Clear filters
          </button>
        ) : null}
      </div>
    </form>
  );
}
