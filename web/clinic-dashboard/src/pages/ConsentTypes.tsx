import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  TextAreaField,
  TextField,
  errorMessage,
  formErrorMessage,
  formatDateTime,
  recordKeys,
  type ConsentType,
  type ConsentTypePatch,
} from '@qivr/shared';
import { api } from '../session';
import { AdminOnly } from '../admin';

export const CONSENTS_ADMIN_ONLY = 'Only clinic admins can manage consent types.';

export function ConsentTypesPage() {
  return (
    <AdminOnly title="Consent types" message={CONSENTS_ADMIN_ONLY}>
      <ConsentTypes />
    </AdminOnly>
  );
}

/** The consents the clinic asks patients for: required or not, retired, and their versions. */
function ConsentTypes() {
  const queryClient = useQueryClient();
  const types = useQuery({ queryKey: recordKeys.consentTypes, queryFn: ({ signal }) => api.consentTypes.list(signal) });
  const update = useMutation({
    mutationFn: ({ t, patch }: { t: ConsentType; patch: ConsentTypePatch }) => api.consentTypes.update(t.id, patch),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: recordKeys.consentTypes }),
  });
  return (
    <section>
      <div className="page-head">
        <h1>Consent types</h1>
      </div>
      <p className="muted">
        Patients must grant every required, active consent in its current version before they can use the portal. Publishing a new
        version asks them again.
      </p>
      {types.isPending ? (
        <p className="muted">Loading…</p>
      ) : types.isError ? (
        <div className="notice notice--error" role="alert">
          {errorMessage(types.error)}
        </div>
      ) : (
        types.data.items.map((t) => (
          <div className="card" key={t.id} data-testid="consent-type" data-key={t.key}>
            <div className="page-head">
              <h2>
                {t.title} <span className="muted">({t.key})</span>
              </h2>
              <span className="muted">
                Version {t.current_version.version}, {formatDateTime(t.current_version.created_at)}
              </span>
            </div>
            <label>
              <input
                type="checkbox"
                checked={t.required}
                disabled={update.isPending}
                onChange={(e) => update.mutate({ t, patch: { required: e.target.checked } })}
              />{' '}
              Required before using the portal
            </label>{' '}
            <label>
              <input
                type="checkbox"
                checked={t.active}
                disabled={update.isPending}
                onChange={(e) => update.mutate({ t, patch: { active: e.target.checked } })}
              />{' '}
              Active (asked of patients)
            </label>
            <details>
              <summary>Current text</summary>
              <p className="consent-text">{t.current_version.body}</p>
            </details>
            <PublishVersion type={t} />
          </div>
        ))
      )}
      {update.isError ? (
        <div className="notice notice--error" role="alert">
          {errorMessage(update.error)}
        </div>
      ) : null}
      <NewConsentType />
    </section>
  );
}

function PublishVersion({ type }: { type: ConsentType }) {
  const queryClient = useQueryClient();
  const [body, setBody] = useState('');
  const [open, setOpen] = useState(false);
  const publish = useMutation({
    mutationFn: () => api.consentTypes.publish(type.id, body),
    onSuccess: () => {
      setBody('');
      setOpen(false);
      void queryClient.invalidateQueries({ queryKey: recordKeys.consentTypes });
    },
  });
  if (!open) {
    return (
      <button type="button" className="button button--small" onClick={() => setOpen(true)}>
        Publish a new version
      </button>
    );
  }
  return (
    <form
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        publish.mutate();
      }}
    >
      <TextAreaField
        label={`New text of “${type.title}”`}
        value={body}
        onChange={(e) => setBody(e.target.value)}
        rows={5}
        error={publish.error instanceof ApiError ? publish.error.fieldErrors['body'] : undefined}
        required
      />
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={publish.isPending || !body.trim()}>
          Publish version {type.current_version.version + 1}
        </button>
        <button type="button" className="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function NewConsentType() {
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ key: '', title: '', body: '', required: false });
  const create = useMutation({
    mutationFn: () => api.consentTypes.create(form),
    onSuccess: () => {
      setForm({ key: '', title: '', body: '', required: false });
      void queryClient.invalidateQueries({ queryKey: recordKeys.consentTypes });
    },
  });
  const fieldErrors = create.error instanceof ApiError ? create.error.fieldErrors : {};
  return (
    <form
      className="card"
      aria-labelledby="new-consent-title"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <h2 id="new-consent-title">Add a consent type</h2>
      <TextField label="Key" value={form.key} hint="e.g. photography (lowercase, digits and _)" onChange={(e) => setForm({ ...form, key: e.target.value })} error={fieldErrors['key']} required />
      <TextField label="Title" value={form.title} onChange={(e) => setForm({ ...form, title: e.target.value })} error={fieldErrors['title']} required />
      <TextAreaField label="Text" value={form.body} rows={5} onChange={(e) => setForm({ ...form, body: e.target.value })} error={fieldErrors['body']} required />
      <label>
        <input type="checkbox" checked={form.required} onChange={(e) => setForm({ ...form, required: e.target.checked })} /> Required
      </label>
      {create.isError ? (
        <div className="notice notice--error" role="alert">
          {formErrorMessage(create.error, ['key', 'title', 'body'])}
        </div>
      ) : null}
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={create.isPending}>
          Add consent type
        </button>
      </div>
    </form>
  );
}
