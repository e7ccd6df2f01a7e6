import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  NotificationSettings,
  TextField,
  changedFields,
  errorMessage,
  formErrorMessage,
  formatDate,
  type Patient,
  type PatientPatch,
} from '@qivr/shared';
import { api } from './session';
import { keys } from './queryClient';

/** What a patient may change about themselves. */
const editable = ['phone', 'email', 'address'] as const;
type Editable = (typeof editable)[number];
const labels: Record<Editable, string> = { phone: 'Phone', email: 'Email', address: 'Address' };

function formFrom(p: Patient): Record<Editable, string> {
  return { phone: p.phone ?? '', email: p.email ?? '', address: p.address ?? '' };
}

export function MyDetails() {
  const me = useQuery({ queryKey: keys.myRecord, queryFn: ({ signal }) => api.patients.me(signal) });
  if (me.isPending) return <p className="muted">Loading your details…</p>;
  if (me.isError) {
    return (
      <section className="card">
        <h1>My details</h1>
        <div className="notice notice--error" role="alert">
          {me.error instanceof ApiError && me.error.status === 404
            ? 'Your login is not linked to a patient record yet. Please contact your clinic.'
            : `Could not load your details: ${errorMessage(me.error)}`}
        </div>
      </section>
    );
  }
  return <Details patient={me.data} />;
}

function Details({ patient }: { patient: Patient }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  /** The clinic does not let patients edit their record (PATCH answered 403). */
  const [readOnly, setReadOnly] = useState(false);
  const [saved, setSaved] = useState(false);
  const [form, setForm] = useState(() => formFrom(patient));
  const update = useMutation({
    mutationFn: (patch: PatientPatch) => api.patients.update(patient.id, patch),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.myRecord, updated);
      setEditing(false);
      setSaved(true);
    },
    onError: (e) => {
      if (e instanceof ApiError && e.status === 403) {
        setReadOnly(true);
        setEditing(false);
      }
    },
  });
  const fieldErrors = update.error instanceof ApiError ? update.error.fieldErrors : {};

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const patch = changedFields(formFrom(patient), form);
    if (Object.keys(patch).length === 0) {
      setEditing(false);
      return;
    }
    update.mutate(patch);
  }

  return (
    <section>
      <div className="page-head">
        <h1>My details</h1>
        {!editing && !readOnly ? (
          <button
            type="button"
            className="button button--small"
            onClick={() => {
              setForm(formFrom(patient));
              update.reset();
              setSaved(false);
              setEditing(true);
            }}
          >
            Edit contact details
          </button>
        ) : null}
      </div>
      {readOnly ? (
        <div className="notice" role="status">
          Your clinic keeps these details up to date. To change them, please contact the clinic.
        </div>
      ) : null}
      {saved ? (
        <div className="notice notice--ok" role="status">
          Your details were saved.
        </div>
      ) : null}
      <div className="card">
        <dl className="details" aria-label="My details">
          <dt>Name</dt>
          <dd data-testid="my-name">
            {patient.first_name} {patient.last_name}
          </dd>
          <dt>Date of birth</dt>
          <dd>{formatDate(patient.date_of_birth)}</dd>
          {editing ? null : (
            <>
              <dt>Email</dt>
              <dd>{patient.email ?? '—'}</dd>
              <dt>Phone</dt>
              <dd>{patient.phone ?? '—'}</dd>
              <dt>Address</dt>
              <dd>{patient.address ?? '—'}</dd>
            </>
          )}
        </dl>
      </div>
      {editing ? (
        <form className="card" onSubmit={onSubmit} noValidate aria-label="Contact details">
          <h2>Contact details</h2>
          {update.isError ? (
            <div className="notice notice--error" role="alert">
              {formErrorMessage(update.error, editable)}
            </div>
          ) : null}
          {editable.map((f) => (
            <TextField
              key={f}
              label={labels[f]}
              type={f === 'email' ? 'email' : f === 'phone' ? 'tel' : 'text'}
              value={form[f]}
              onChange={(e) => setForm((s) => ({ ...s, [f]: e.target.value }))}
              error={fieldErrors[f]}
            />
          ))}
          <div className="form-actions">
            <button type="submit" className="button button--primary" disabled={update.isPending}>
              {update.isPending ? 'Saving…' : 'Save'}
            </button>
            <button type="button" className="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
      <NotificationSettings api={api} />
    </section>
  );
}
