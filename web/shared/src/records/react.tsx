/**
 * Patient-record screens shared by both apps: a patient's documents (upload with progress,
 * download, delete), their consents (standing, grant and revoke, history), and the portal's
 * consent gate. The dashboard shows them for any patient; the portal for the signed-in patient.
 */
import { useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { QivrApi } from '../api/endpoints';
import type { Uuid } from '../api/types';
import {
  ACCEPTED_DOCUMENT_TYPES,
  formatBytes,
  requiredConsentsGranted,
  type ConsentStatus,
  type PatientDocument,
} from '../api/records';
import { ApiError, errorMessage } from '../api/errors';
import { formatDateTime } from '../forms';
import { SelectField } from '../components/Field';
import { useLiveCache } from '../realtime/react';

export const recordKeys = {
  documents: (patientId: Uuid) => ['documents', patientId] as const,
  consents: (patientId: Uuid) => ['consents', patientId] as const,
  consentHistory: (patientId: Uuid) => ['consents', patientId, 'history'] as const,
  consentTypes: ['consent-types'] as const,
  summary: (patientId: Uuid) => ['records', 'summary', patientId] as const,
  timeline: (patientId: Uuid) => ['records', 'timeline', patientId] as const,
};

/**
 * Keeps a patient's record views (documents, consents, summary, timeline) current from the
 * `document.*` and `consent.*` events on `channel`: `records` on the dashboard, the patient's own
 * `user:<id>` in the portal. With `patientId`, only that patient's changes are applied.
 */
export function useRecordEvents(channel: string | null, patientId?: Uuid): void {
  useLiveCache(channel, {
    refetch: patientId ? [recordKeys.documents(patientId), recordKeys.consents(patientId)] : [],
    apply: (event, queryClient) => {
      if (!event.kind.startsWith('document.') && !event.kind.startsWith('consent.')) return;
      const changed = (event.data as { patient_id?: Uuid }).patient_id;
      if (!changed || (patientId && changed !== patientId)) return;
      // `consents(id)` is also the prefix of that patient's consent history.
      for (const queryKey of [recordKeys.documents(changed), recordKeys.consents(changed), recordKeys.summary(changed), recordKeys.timeline(changed)]) {
        void queryClient.invalidateQueries({ queryKey });
      }
    },
  });
}

/** Fetches a document with the session's token and hands it to the browser as a download. */
export async function downloadDocument(api: QivrApi, patientId: Uuid, documentId: Uuid, fileName: string): Promise<void> {
  const blob = await api.documents.content(patientId, documentId);
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** What an upload refusal means, in words (the server names the problem). */
export function uploadErrorMessage(e: unknown): string {
  if (e instanceof ApiError && (e.status === 413 || e.status === 415 || e.status === 422)) {
    return e.fieldErrors['file'] ?? e.fieldErrors['category'] ?? e.userMessage;
  }
  return errorMessage(e);
}

/** Uploads one file at a time for a patient, with its progress (0–1) while it runs. */
export function useDocumentUpload(api: QivrApi, patientId: Uuid) {
  const queryClient = useQueryClient();
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  async function upload(file: File, category?: string): Promise<PatientDocument | null> {
    setError(null);
    setProgress(0);
    try {
      const document = await api.documents.upload(patientId, file, { category, onProgress: setProgress });
      void queryClient.invalidateQueries({ queryKey: recordKeys.documents(patientId) });
      void queryClient.invalidateQueries({ queryKey: ['records'] });
      return document;
    } catch (e) {
      setError(uploadErrorMessage(e));
      return null;
    } finally {
      setProgress(null);
    }
  }
  return { upload, progress, error, uploading: progress !== null };
}

/** A progress bar for a running upload. */
export function UploadProgress({ progress }: { progress: number | null }) {
  if (progress === null) return null;
  return (
    <div className="upload-progress" data-testid="upload-progress">
      <progress value={progress} max={1} aria-label="Upload progress" /> {Math.round(progress * 100)}%
    </div>
  );
}

const CATEGORIES = [
  { value: 'other', label: 'Other' },
  { value: 'referral', label: 'Referral' },
  { value: 'imaging', label: 'Imaging' },
  { value: 'lab_result', label: 'Lab result' },
  { value: 'letter', label: 'Letter' },
] as const;

export interface DocumentsPanelProps {
  api: QivrApi;
  patientId: Uuid;
  /** The viewer's role: patients may remove only what they uploaded themselves. */
  role: string;
  title?: string;
  /** Heading level of the title (the portal page's own title is an h1). */
  heading?: 'h1' | 'h2';
}

/** A patient's documents, newest first, with upload, download and delete. */
export function DocumentsPanel({ api, patientId, role, title = 'Documents', heading = 'h2' }: DocumentsPanelProps) {
  const queryClient = useQueryClient();
  const documents = useInfiniteQuery({
    queryKey: recordKeys.documents(patientId),
    queryFn: ({ pageParam, signal }) => api.documents.list(patientId, { cursor: pageParam, limit: 20 }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = documents.data?.pages.flatMap((p) => p.items) ?? [];
  const { upload, progress, error, uploading } = useDocumentUpload(api, patientId);
  const [category, setCategory] = useState('other');
  const [uploaded, setUploaded] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const remove = useMutation({
    mutationFn: (d: PatientDocument) => api.documents.remove(patientId, d.id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: recordKeys.documents(patientId) });
      void queryClient.invalidateQueries({ queryKey: ['records'] });
    },
    onError: (e) => setActionError(errorMessage(e)),
  });

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const file = fileInput.current?.files?.[0];
    if (!file) return;
    setUploaded(null);
    const document = await upload(file, category);
    if (document) {
      setUploaded(document.file_name);
      if (fileInput.current) fileInput.current.value = '';
    }
  }

  const Heading = heading;
  return (
    <section className="card" aria-labelledby={`documents-title-${patientId}`}>
      <Heading id={`documents-title-${patientId}`}>{title}</Heading>
      <form className="upload-form" onSubmit={(e) => void onSubmit(e)} aria-label="Upload a document">
        <label className="field">
          <span className="field__label">File</span>
          <input ref={fileInput} type="file" name="file" accept={ACCEPTED_DOCUMENT_TYPES} disabled={uploading} />
        </label>
        <SelectField label="Category" value={category} options={CATEGORIES} onChange={(e) => setCategory(e.target.value)} disabled={uploading} />
        <div className="form-actions">
          <button type="submit" className="button button--primary" disabled={uploading}>
            {uploading ? 'Uploading…' : 'Upload'}
          </button>
        </div>
        <p className="muted">PDF, PNG, JPEG, HEIC, Word (.docx) or plain text.</p>
        <UploadProgress progress={progress} />
        {error ? (
          <div className="notice notice--error" role="alert" data-testid="upload-error">
            {error}
          </div>
        ) : null}
        {uploaded ? (
          <div className="notice" role="status">
            Uploaded {uploaded}.
          </div>
        ) : null}
      </form>
      {documents.isPending ? (
        <p className="muted">Loading documents…</p>
      ) : documents.isError ? (
        <div className="notice notice--error" role="alert">
          Could not load documents: {errorMessage(documents.error)}
        </div>
      ) : items.length === 0 ? (
        <p className="muted">No documents yet.</p>
      ) : (
        <table className="list" aria-label={title}>
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Category</th>
              <th scope="col">Size</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id} data-testid="document-row" data-id={d.id}>
                <td className="break">
                  <button
                    type="button"
                    className="link-button"
                    onClick={() => void downloadDocument(api, patientId, d.id, d.file_name).catch((e) => setActionError(errorMessage(e)))}
                  >
                    {d.file_name}
                  </button>
                </td>
                <td>{CATEGORIES.find((c) => c.value === d.category)?.label ?? d.category}</td>
                <td className="nowrap">{formatBytes(d.size_bytes)}</td>
                <td>
                  {formatDateTime(d.created_at)}
                  <div className="muted">{d.uploaded_by_role === 'patient' ? 'by the patient' : `by ${d.uploaded_by_name ?? 'the clinic'}`}</div>
                </td>
                <td>
                  {role !== 'patient' || d.uploaded_by_role === 'patient' ? (
                    <button
                      type="button"
                      className="button button--small"
                      aria-label={`Delete ${d.file_name}`}
                      disabled={remove.isPending}
                      onClick={() => {
                        if (window.confirm(`Remove ${d.file_name} from the record?`)) remove.mutate(d);
                      }}
                    >
                      Delete
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {documents.hasNextPage ? (
        <button type="button" className="button" onClick={() => void documents.fetchNextPage()}>
          Load more
        </button>
      ) : null}
      {actionError ? (
        <div className="notice notice--error" role="alert">
          {actionError}
        </div>
      ) : null}
    </section>
  );
}

const STANDING_WORDS = { granted: 'Granted', outdated: 'New version to review', revoked: 'Revoked', pending: 'Not answered' } as const;

export function ConsentStandingBadge({ status }: { status: ConsentStatus['status'] }) {
  return (
    <span className={`status status--consent-${status}`} data-testid="consent-status" data-status={status}>
      {STANDING_WORDS[status]}
    </span>
  );
}

export interface ConsentsPanelProps {
  api: QivrApi;
  patientId: Uuid;
  /** Patients grant and revoke their own; staff see the standing and the history. */
  canDecide: boolean;
  title?: string;
  heading?: 'h1' | 'h2';
}

/** A patient's consents: standing per type, grant and revoke, and every decision made. */
export function ConsentsPanel({ api, patientId, canDecide, title = 'Consents', heading = 'h2' }: ConsentsPanelProps) {
  const queryClient = useQueryClient();
  const consents = useQuery({ queryKey: recordKeys.consents(patientId), queryFn: ({ signal }) => api.consents.list(patientId, signal) });
  const history = useInfiniteQuery({
    queryKey: recordKeys.consentHistory(patientId),
    queryFn: ({ pageParam, signal }) => api.consents.history(patientId, { cursor: pageParam, limit: 20 }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const decide = useMutation({
    mutationFn: ({ c, decision }: { c: ConsentStatus; decision: 'granted' | 'revoked' }) =>
      api.consents.decide(patientId, { consent_version_id: c.current_version.id, decision }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: recordKeys.consents(patientId) });
      void queryClient.invalidateQueries({ queryKey: ['records'] });
    },
  });
  const Heading = heading;
  const decisions = history.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section className="card" aria-labelledby={`consents-title-${patientId}`}>
      <Heading id={`consents-title-${patientId}`}>{title}</Heading>
      {consents.isPending ? (
        <p className="muted">Loading consents…</p>
      ) : consents.isError ? (
        <div className="notice notice--error" role="alert">
          Could not load consents: {errorMessage(consents.error)}
        </div>
      ) : consents.data.items.length === 0 ? (
        <p className="muted">The clinic asks for no consents.</p>
      ) : (
        <ul className="consents" aria-label="Consents">
          {consents.data.items.map((c) => (
            <li key={c.consent_type_id} data-testid="consent" data-key={c.key}>
              <div>
                <strong>{c.title}</strong> {c.required ? <span className="muted">(required)</span> : null} <ConsentStandingBadge status={c.status} />
                <div className="muted">
                  Version {c.current_version.version}
                  {c.decided_at ? ` · last decided ${formatDateTime(c.decided_at)} (version ${c.decided_version})` : ''}
                </div>
                <details>
                  <summary>Read the text</summary>
                  <p className="consent-text">{c.current_version.body}</p>
                </details>
              </div>
              {canDecide ? (
                c.status === 'granted' ? (
                  <button type="button" className="button button--small" disabled={decide.isPending} onClick={() => decide.mutate({ c, decision: 'revoked' })}>
                    Revoke
                  </button>
                ) : (
                  <button type="button" className="button button--small button--primary" disabled={decide.isPending} onClick={() => decide.mutate({ c, decision: 'granted' })}>
                    Grant
                  </button>
                )
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {decide.isError ? (
        <div className="notice notice--error" role="alert">
          {errorMessage(decide.error)}
        </div>
      ) : null}
      <details>
        <summary>History</summary>
        {decisions.length === 0 ? (
          <p className="muted">No decisions recorded.</p>
        ) : (
          <ul className="consent-history" aria-label="Consent history">
            {decisions.map((d) => (
              <li key={d.id}>
                {formatDateTime(d.decided_at)}: {d.title} v{d.version} <strong>{d.decision}</strong>
                <span className="muted"> ({d.recorded_by_role === 'patient' ? 'by the patient' : `recorded by ${d.recorded_by_name ?? d.recorded_by_role}`})</span>
              </li>
            ))}
          </ul>
        )}
        {history.hasNextPage ? (
          <button type="button" className="button button--small" onClick={() => void history.fetchNextPage()}>
            Load more
          </button>
        ) : null}
      </details>
    </section>
  );
}

/**
 * The portal's consent gate: until every required consent is granted in its current version,
 * the patient sees the texts to agree to instead of the portal.
 */
export function ConsentGate({ api, patientId, children }: { api: QivrApi; patientId: Uuid; children: ReactNode }) {
  const queryClient = useQueryClient();
  const consents = useQuery({ queryKey: recordKeys.consents(patientId), queryFn: ({ signal }) => api.consents.list(patientId, signal) });
  const [agreed, setAgreed] = useState<Record<Uuid, boolean>>({});
  const grant = useMutation({
    mutationFn: async (open: ConsentStatus[]) => {
      for (const c of open) await api.consents.decide(patientId, { consent_version_id: c.current_version.id, decision: 'granted' });
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: recordKeys.consents(patientId) }),
  });
  if (consents.isPending) return <p className="muted">Loading…</p>;
  if (consents.isError) {
    return (
      <div className="notice notice--error" role="alert">
        Could not load your consents: {errorMessage(consents.error)}
      </div>
    );
  }
  if (requiredConsentsGranted(consents.data.items)) return <>{children}</>;
  const open = consents.data.items.filter((c) => c.required && c.status !== 'granted');
  const all = open.every((c) => agreed[c.current_version.id]);
  return (
    <section className="card consent-gate" aria-labelledby="consent-gate-title" data-testid="consent-gate">
      <h1 id="consent-gate-title">Before you continue</h1>
      <p>Your clinic needs your agreement to the following before you use the portal.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (all) grant.mutate(open);
        }}
      >
        {open.map((c) => (
          <fieldset key={c.consent_type_id} className="consent-gate__item">
            <legend>
              {c.title} <span className="muted">(version {c.current_version.version})</span>
            </legend>
            {c.status === 'outdated' ? <p className="muted">This text has changed since you last agreed to it.</p> : null}
            <p className="consent-text">{c.current_version.body}</p>
            <label>
              <input
                type="checkbox"
                checked={Boolean(agreed[c.current_version.id])}
                onChange={(e) => setAgreed((a) => ({ ...a, [c.current_version.id]: e.target.checked }))}
              />{' '}
              I agree to “{c.title}”
            </label>
          </fieldset>
        ))}
        {grant.isError ? (
          <div className="notice notice--error" role="alert">
            {errorMessage(grant.error)}
          </div>
        ) : null}
        <div className="form-actions">
          <button type="submit" className="button button--primary" disabled={!all || grant.isPending}>
            {grant.isPending ? 'Saving…' : 'Agree and continue'}
          </button>
        </div>
      </form>
    </section>
  );
}
