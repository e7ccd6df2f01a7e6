/**
 * Files in a chat: a document is uploaded to the conversation's patient's record first, then
 * sent with the message by id; messages show their attachments as download links.
 */
import { useState } from 'react';
import type { QivrApi } from '../api/endpoints';
import type { Uuid } from '../api/types';
import { ACCEPTED_DOCUMENT_TYPES, formatBytes, type Attachment } from '../api/records';
import { errorMessage } from '../api/errors';
import { downloadDocument, useDocumentUpload } from '../records/react';

/** Files uploaded for the next message of a conversation with `patientId`. */
export function useChatAttachments(api: QivrApi, patientId: Uuid) {
  const { upload, progress, error, uploading } = useDocumentUpload(api, patientId);
  const [attached, setAttached] = useState<Attachment[]>([]);
  async function attach(file: File) {
    const d = await upload(file);
    if (d) {
      const attachment = { document_id: d.id, patient_id: d.patient_id, file_name: d.file_name, content_type: d.content_type, size_bytes: d.size_bytes };
      setAttached((list) => [...list, attachment]);
    }
  }
  return {
    attached,
    attach,
    detach: (documentId: Uuid) => setAttached((list) => list.filter((a) => a.document_id !== documentId)),
    clear: () => setAttached([]),
    progress,
    error,
    uploading,
  };
}

/** "Attach file": picks a file and hands it over. */
export function AttachButton({ id, onFile, disabled }: { id: string; onFile: (file: File) => void; disabled: boolean }) {
  return (
    <label className="button button--small chat__attach" htmlFor={`chat-attach-${id}`} aria-disabled={disabled || undefined}>
      Attach file
      <input
        id={`chat-attach-${id}`}
        type="file"
        className="visually-hidden"
        accept={ACCEPTED_DOCUMENT_TYPES}
        disabled={disabled}
        aria-label="Attach a file"
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (file) onFile(file);
        }}
      />
    </label>
  );
}

/** The files waiting to go with the next message. */
export function AttachedFiles({ attached, onRemove }: { attached: readonly Attachment[]; onRemove: (documentId: Uuid) => void }) {
  if (attached.length === 0) return null;
  return (
    <ul className="chat__attached" aria-label="Attached files">
      {attached.map((a) => (
        <li key={a.document_id} data-testid="attached-file">
          {a.file_name} <span className="muted">({formatBytes(a.size_bytes)})</span>{' '}
          <button type="button" className="link-button" onClick={() => onRemove(a.document_id)} aria-label={`Remove ${a.file_name}`}>
            remove
          </button>
        </li>
      ))}
    </ul>
  );
}

/** A message's attachments, each a download. */
export function MessageAttachments({ api, attachments }: { api: QivrApi; attachments: readonly Attachment[] }) {
  const [failed, setFailed] = useState<string | null>(null);
  if (attachments.length === 0) return null;
  return (
    <ul className="msg__attachments" aria-label="Attachments">
      {attachments.map((a) => (
        <li key={a.document_id} data-testid="message-attachment">
          <button
            type="button"
            className="link-button"
            onClick={() => void downloadDocument(api, a.patient_id, a.document_id, a.file_name).catch((e) => setFailed(errorMessage(e)))}
          >
            {a.file_name}
          </button>{' '}
          <span className="muted">({formatBytes(a.size_bytes)})</span>
        </li>
      ))}
      {failed ? <li className="msg__status msg__status--failed">{failed}</li> : null}
    </ul>
  );
}
