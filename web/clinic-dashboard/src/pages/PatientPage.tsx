import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  TextAreaField,
  TextField,
  changedFields,
  errorMessage,
  formErrorMessage,
  formatDate,
  todayIso,
  type Condition,
  type NewCondition,
  type Patient,
  type PatientPatch,
} from '@qivr/shared';
import { api } from '../session';
import { keys } from '../queryClient';
import { useIsAdmin } from '../admin';
import { AuditEntries } from '../AuditEntries';
import { PatientAppointments } from '../PatientAppointments';
import { PatientProms } from '../PatientProms';
import { MessagePatient } from './MessagePatient';
import { PatientSummary, PatientTimeline } from '../PatientRecord';
import { channels, ConsentsPanel, DocumentsPanel, useAuthState, useRecordEvents } from '@qivr/shared';
import { auth } from '../session';

export function PatientPage() {
  const { patientId = '' } = useParams();
  const isAdmin = useIsAdmin();
  const role = useAuthState(auth, (s) => s.user?.role ?? 'staff');
  useRecordEvents(channels.records, patientId);
  const patient = useQuery({
    queryKey: keys.patient(patientId),
    queryFn: ({ signal }) => api.patients.get(patientId, signal),
  });

  if (patient.isPending) return <p className="muted">Loading patient…</p>;
  if (patient.isError) {
    const notFound = patient.error instanceof ApiError && patient.error.status === 404;
    return (
      <section className="card">
        <h1>{notFound ? 'Patient not found' : 'Could not load the patient'}</h1>
        {notFound ? null : <p className="notice notice--error">{errorMessage(patient.error)}</p>}
        <Link to="/patients">Back to patients</Link>
      </section>
    );
  }
  const p = patient.data;
  return (
    <section>
      <div className="page-head">
        <h1 data-testid="patient-name">
          {p.first_name} {p.last_name}
        </h1>
        <Link to="/patients">Back to patients</Link>
      </div>
      {/* Keyed by id: moving to another patient must not keep this one's state. */}
      <PatientActions key={`actions-${p.id}`} patient={p} />
      <MessagePatient key={`message-${p.id}`} patient={p} />
      <PatientSummary key={`summary-${p.id}`} patientId={p.id} />
      <DetailsCard key={`details-${p.id}`} patient={p} />
      <MedicalHistoryCard key={`history-${p.id}`} patient={p} />
      <ConditionsCard key={`conditions-${p.id}`} patientId={p.id} />
      <PatientAppointments key={`appointments-${p.id}`} patientId={p.id} />
      <PatientProms key={`proms-${p.id}`} patientId={p.id} />
      <DocumentsPanel key={`documents-${p.id}`} api={api} patientId={p.id} role={role} />
      <ConsentsPanel key={`consents-${p.id}`} api={api} patientId={p.id} canDecide={false} />
      <PatientTimeline key={`timeline-${p.id}`} patientId={p.id} />
      {isAdmin ? (
        <section className="card" aria-labelledby="access-log-title">
          <h2 id="access-log-title">Access log</h2>
          <p className="muted">Who read or changed this patient's record, newest first.</p>
          <AuditEntries query={{ patient_id: p.id }} showPatient={false} label="Access log" />
        </section>
      ) : null}
    </section>
  );
}

/** What the invite endpoint's answer means for the person at the desk. */
function inviteMessage(e: unknown): string {
  if (e instanceof ApiError && e.status === 409) return 'This patient already has a portal login.';
  if (e instanceof ApiError && e.status === 422) {
    return e.fieldErrors['email'] ? `Cannot invite: ${e.fieldErrors['email']}.` : e.userMessage;
  }
  return errorMessage(e);
}

/** Portal invitation and deletion, above the record. */
function PatientActions({ patient }: { patient: Patient }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const invite = useMutation({
    mutationFn: () => api.patients.invite(patient.id),
    // The record now has a portal login (not yet accepted).
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.patient(patient.id), exact: true }),
  });
  const remove = useMutation({
    mutationFn: () => api.patients.remove(patient.id),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: keys.patient(patient.id) });
      void queryClient.invalidateQueries({ queryKey: ['patients', 'list'] });
      navigate('/patients', { replace: true });
    },
  });
  const name = `${patient.first_name} ${patient.last_name}`;

  return (
    <div className="card">
      <div className="form-actions">
        <button
          type="button"
          className="button"
          disabled={invite.isPending}
          onClick={() => {
            setConfirmingDelete(false);
            invite.mutate();
          }}
        >
          {invite.isPending ? 'Sending…' : 'Invite to portal'}
        </button>
        <button
          type="button"
          className="button button--danger-outline"
          disabled={confirmingDelete || remove.isPending}
          onClick={() => {
            invite.reset();
            setConfirmingDelete(true);
          }}
        >
          Delete patient
        </button>
      </div>
      {invite.isSuccess ? (
        <div className="notice notice--ok" role="status">
          Invitation sent{patient.email ? ` to ${patient.email}` : ''}.
        </div>
      ) : null}
      {invite.isError ? (
        <div className="notice notice--error" role="alert">
          {inviteMessage(invite.error)}
        </div>
      ) : null}
      {confirmingDelete ? (
        <div className="notice notice--error confirm" role="alertdialog" aria-label="Confirm deletion">
          <p>
            Delete {name}? The record disappears from the clinic's lists; the audit trail keeps it.
          </p>
          {remove.isError ? <p>Could not delete: {errorMessage(remove.error)}</p> : null}
          <div className="form-actions">
            <button
              type="button"
              className="button button--danger"
              disabled={remove.isPending}
              onClick={() => remove.mutate()}
            >
              {remove.isPending ? 'Deleting…' : 'Yes, delete patient'}
            </button>
            <button
              type="button"
              className="button"
              onClick={() => {
                remove.reset();
                setConfirmingDelete(false);
              }}
            >
              Cancel
            </button>
          </div>
        </div>
      ) : null}
    </div>
  );
}

/** Saves a PATCH and puts the answer in the cache. */
function usePatientUpdate(patientId: string, onDone: () => void) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (patch: PatientPatch) => api.patients.update(patientId, patch),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.patient(patientId), updated);
      void queryClient.invalidateQueries({ queryKey: ['patients', 'list'] });
      onDone();
    },
  });
}

const detailFields = ['first_name', 'last_name', 'date_of_birth', 'sex', 'email', 'phone', 'address'] as const;
type DetailField = (typeof detailFields)[number];
const detailLabels: Record<DetailField, string> = {
  first_name: 'First name',
  last_name: 'Last name',
  date_of_birth: 'Date of birth',
  sex: 'Sex',
  email: 'Email',
  phone: 'Phone',
  address: 'Address',
};

function formFrom<K extends keyof Patient>(p: Patient, fields: readonly K[]): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const f of fields) out[f] = (p[f] as string | null) ?? '';
  return out;
}

function DetailsCard({ patient }: { patient: Patient }) {
  const [editing, setEditing] = useState(false);
  const [form, setForm] = useState(() => formFrom(patient, detailFields));
  const [saved, setSaved] = useState(false);
  const update = usePatientUpdate(patient.id, () => {
    setEditing(false);
    setSaved(true);
  });
  const fieldErrors = update.error instanceof ApiError ? update.error.fieldErrors : {};

  function startEdit() {
    setForm(formFrom(patient, detailFields));
    update.reset();
    setSaved(false);
    setEditing(true);
  }
  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const patch = changedFields(formFrom(patient, detailFields), form, ['first_name', 'last_name', 'date_of_birth']);
    if (Object.keys(patch).length === 0) {
      setEditing(false);
      return;
    }
    update.mutate(patch as PatientPatch);
  }

  if (!editing) {
    return (
      <div className="card">
        <div className="page-head">
          <h2>Details</h2>
          <button type="button" className="button button--small" onClick={startEdit}>
            Edit details
          </button>
        </div>
        {saved ? (
          <div className="notice notice--ok" role="status">
            Saved.
          </div>
        ) : null}
        <dl className="details">
          {detailFields.map((f) => (
            <div key={f} style={{ display: 'contents' }}>
              <dt>{detailLabels[f]}</dt>
              <dd>{f === 'date_of_birth' ? formatDate(patient.date_of_birth) : (patient[f] ?? '—')}</dd>
            </div>
          ))}
          <dt>Portal account</dt>
          <dd>{patient.user_id ? 'Linked' : 'None'}</dd>
        </dl>
      </div>
    );
  }
  return (
    <form className="card" onSubmit={onSubmit} noValidate aria-label="Patient details">
      <h2>Details</h2>
      {update.isError ? (
        <div className="notice notice--error" role="alert">
          {formErrorMessage(update.error, detailFields)}
        </div>
      ) : null}
      <div className="form-grid">
        {detailFields.map((f) => (
          <TextField
            key={f}
            label={detailLabels[f]}
            type={f === 'date_of_birth' ? 'date' : f === 'email' ? 'email' : f === 'phone' ? 'tel' : 'text'}
            value={form[f]}
            onChange={(e) => setForm((s) => ({ ...s, [f]: e.target.value }))}
            error={fieldErrors[f]}
          />
        ))}
      </div>
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={update.isPending}>
          {update.isPending ? 'Saving…' : 'Save details'}
        </button>
        <button type="button" className="button" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

const historyFields = ['medical_history', 'medications', 'allergies'] as const;
const historyLabels: Record<(typeof historyFields)[number], string> = {
  medical_history: 'Medical history',
  medications: 'Medications',
  allergies: 'Allergies',
};

function MedicalHistoryCard({ patient }: { patient: Patient }) {
  const original = formFrom(patient, historyFields);
  const [form, setForm] = useState(original);
  const [saved, setSaved] = useState(false);
  const update = usePatientUpdate(patient.id, () => setSaved(true));
  const fieldErrors = update.error instanceof ApiError ? update.error.fieldErrors : {};
  const patch = changedFields(original, form);
  const dirty = Object.keys(patch).length > 0;

  return (
    <form
      className="card"
      aria-label="Medical history"
      onSubmit={(e) => {
        e.preventDefault();
        if (dirty) update.mutate(patch as PatientPatch);
      }}
    >
      <h2>Medical history</h2>
      {update.isError ? (
        <div className="notice notice--error" role="alert">
          {formErrorMessage(update.error, historyFields)}
        </div>
      ) : null}
      {saved && !dirty ? (
        <div className="notice notice--ok" role="status">
          Saved.
        </div>
      ) : null}
      {historyFields.map((f) => (
        <TextAreaField
          key={f}
          label={historyLabels[f]}
          value={form[f]}
          onChange={(e) => {
            setSaved(false);
            setForm((s) => ({ ...s, [f]: e.target.value }));
          }}
          error={fieldErrors[f]}
        />
      ))}
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={!dirty || update.isPending}>
          {update.isPending ? 'Saving…' : 'Save medical history'}
        </button>
      </div>
    </form>
  );
}

function ConditionsCard({ patientId }: { patientId: string }) {
  const queryClient = useQueryClient();
  const conditions = useInfiniteQuery({
    queryKey: keys.conditions(patientId),
    queryFn: ({ pageParam, signal }) => api.patients.conditions.list(patientId, { cursor: pageParam, limit: 50 }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const invalidate = () => queryClient.invalidateQueries({ queryKey: keys.conditions(patientId) });
  const resolve = useMutation({
    mutationFn: (c: Condition) =>
      api.patients.conditions.update(patientId, c.id, { status: 'resolved', resolved_date: todayIso() }),
    onSuccess: invalidate,
  });
  const items = conditions.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <div className="card">
      <h2>Conditions</h2>
      {conditions.isPending ? (
        <p className="muted">Loading conditions…</p>
      ) : conditions.isError ? (
        <div className="notice notice--error" role="alert">
          {errorMessage(conditions.error)}
        </div>
      ) : items.length === 0 ? (
        <p className="muted">No conditions recorded.</p>
      ) : (
        <ul className="conditions" aria-label="Conditions">
          {items.map((c) => (
            <li key={c.id}>
              <div>
                <strong>{c.name}</strong>{' '}
                <span className={`status status--${c.status}`}>{c.status}</span>
                <div className="muted">
                  {c.onset_date ? `Since ${formatDate(c.onset_date)}` : 'Onset unknown'}
                  {c.resolved_date ? ` · resolved ${formatDate(c.resolved_date)}` : ''}
                  {c.notes ? ` · ${c.notes}` : ''}
                </div>
              </div>
              {c.status === 'active' ? (
                <button
                  type="button"
                  className="button button--small"
                  disabled={resolve.isPending && resolve.variables?.id === c.id}
                  onClick={() => resolve.mutate(c)}
                  aria-label={`Mark ${c.name} resolved`}
                >
                  Mark resolved
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {conditions.hasNextPage ? (
        <button type="button" className="button" onClick={() => void conditions.fetchNextPage()}>
          Load more
        </button>
      ) : null}
      {resolve.isError ? (
        <div className="notice notice--error" role="alert">
          {errorMessage(resolve.error)}
        </div>
      ) : null}
      <AddCondition patientId={patientId} onAdded={invalidate} />
    </div>
  );
}

function AddCondition({ patientId, onAdded }: { patientId: string; onAdded: () => unknown }) {
  const empty = { name: '', onset_date: '', notes: '' };
  const [form, setForm] = useState(empty);
  const add = useMutation({
    mutationFn: (body: NewCondition) => api.patients.conditions.create(patientId, body),
    onSuccess: () => {
      setForm(empty);
      void onAdded();
    },
  });
  const fieldErrors = add.error instanceof ApiError ? add.error.fieldErrors : {};

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const body: NewCondition = { name: form.name.trim(), status: 'active' };
    if (form.onset_date) body.onset_date = form.onset_date;
    if (form.notes.trim()) body.notes = form.notes.trim();
    add.mutate(body);
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-label="Add condition">
      <h3>Add a condition</h3>
      {add.isError ? (
        <div className="notice notice--error" role="alert">
          {formErrorMessage(add.error, ['name', 'onset_date', 'notes'])}
        </div>
      ) : null}
      <div className="form-grid">
        <TextField label="Condition" value={form.name} onChange={(e) => setForm((s) => ({ ...s, name: e.target.value }))} error={fieldErrors['name']} required />
        <TextField label="Onset date" type="date" value={form.onset_date} onChange={(e) => setForm((s) => ({ ...s, onset_date: e.target.value }))} error={fieldErrors['onset_date']} />
        <TextField label="Notes" value={form.notes} onChange={(e) => setForm((s) => ({ ...s, notes: e.target.value }))} error={fieldErrors['notes']} />
      </div>
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={add.isPending}>
          {add.isPending ? 'Adding…' : 'Add condition'}
        </button>
      </div>
    </form>
  );
}
