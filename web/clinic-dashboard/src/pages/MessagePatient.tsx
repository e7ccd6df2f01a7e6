import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  TextAreaField,
  TextField,
  applyConversation,
  formErrorMessage,
  useAuthState,
  type Patient,
} from '@qivr/shared';
import { api, auth } from '../session';

/** "Message patient" on the patient page: a subject and a first message start a conversation, opened in the inbox. */
export function MessagePatient({ patient }: { patient: Patient }) {
  const [open, setOpen] = useState(false);
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const myId = useAuthState(auth, (s) => s.user?.id ?? null);
  const create = useMutation({
    mutationFn: () => api.conversations.create({ patient_id: patient.id, subject: subject.trim(), body: body.trim() || undefined }),
    onSuccess: (conversation) => {
      applyConversation(queryClient, conversation, myId);
      navigate(`/inbox/${conversation.id}`);
    },
  });
  const fieldErrors = create.error instanceof ApiError ? create.error.fieldErrors : {};
  const name = `${patient.first_name} ${patient.last_name}`;

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }

  if (!open) {
    return (
      <div className="card form-actions">
        <button type="button" className="button" onClick={() => setOpen(true)}>
          Message patient
        </button>
        <Link to={`/inbox?patient_id=${patient.id}`}>Conversations with {name}</Link>
      </div>
    );
  }
  return (
    <form className="card" onSubmit={onSubmit} noValidate aria-label="Message patient">
      <h2>Message {name}</h2>
      {!patient.user_id ? (
        <p className="notice" role="note">
          {name} has no portal login yet: they will see the message once they accept a portal invitation.
        </p>
      ) : null}
      {create.isError ? (
        <div className="notice notice--error" role="alert">
          {formErrorMessage(create.error, ['subject', 'body', 'patient_id'])}
        </div>
      ) : null}
      <TextField label="Subject" value={subject} onChange={(e) => setSubject(e.target.value)} maxLength={200} error={fieldErrors['subject']} required />
      <TextAreaField label="Message" value={body} onChange={(e) => setBody(e.target.value)} maxLength={5000} error={fieldErrors['body']} />
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={create.isPending || !subject.trim()}>
          {create.isPending ? 'Sending…' : 'Start conversation'}
        </button>
        <button type="button" className="button" onClick={() => { setOpen(false); create.reset(); }}>
          Cancel
        </button>
      </div>
    </form>
  );
}
