import { useState } from 'react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { SelectField, TextField, errorMessage, formatDateTime, type EmailStatus, type Uuid } from '@qivr/shared';
import { api } from '../session';
import { keys } from '../queryClient';
import { AdminOnly } from '../admin';

const STATUS_LABELS: Record<EmailStatus, string> = {
  pending: 'Queued',
  sending: 'Sending',
  sent: 'Sent',
  dev_mailbox: 'Dev mailbox',
  dead: 'Failed',
};

const STATUS_OPTIONS = [
  { value: '', label: 'Any' },
  ...Object.entries(STATUS_LABELS).map(([value, label]) => ({ value, label })),
];

/**
 * The clinic's outgoing mail. With the embedded defaults nothing is sent: emails stay here, in the
 * dev mailbox, so a demo or a developer can read what patients and staff would have received.
 */
export function MailboxPage() {
  return (
    <AdminOnly title="Mailbox" message="Only clinic admins can read the clinic's outgoing mail.">
      <Mailbox />
    </AdminOnly>
  );
}

function Mailbox() {
  const [status, setStatus] = useState<EmailStatus | ''>('');
  const [to, setTo] = useState('');
  const [open, setOpen] = useState<Uuid | null>(null);
  const query = { status: status || undefined, to: to.trim() || undefined };
  const emails = useInfiniteQuery({
    queryKey: keys.mailboxList(query),
    queryFn: ({ pageParam, signal }) => api.mailbox.list({ ...query, cursor: pageParam }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = emails.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section>
      <div className="page-head">
        <h1>Mailbox</h1>
      </div>
      <form className="filters" role="search" aria-label="Filter emails" onSubmit={(e) => e.preventDefault()}>
        <SelectField
          label="Status"
          value={status}
          onChange={(e) => setStatus(e.target.value as EmailStatus | '')}
          options={STATUS_OPTIONS}
        />
        <TextField label="Recipient" type="email" value={to} onChange={(e) => setTo(e.target.value)} placeholder="exact address" />
      </form>
      {emails.isPending ? (
        <p className="muted">Loading emails…</p>
      ) : emails.isError ? (
        <div className="notice notice--error" role="alert">
          Could not load the mailbox: {errorMessage(emails.error)}
        </div>
      ) : items.length === 0 ? (
        <p className="muted">No emails.</p>
      ) : (
        <table className="list" data-testid="mailbox">
          <thead>
            <tr>
              <th>When</th>
              <th>To</th>
              <th>Subject</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {items.map((email) => (
              <tr key={email.id} data-testid="email-row" data-kind={email.kind}>
                <td>{formatDateTime(email.created_at)}</td>
                <td>{email.to_address}</td>
                <td>
                  <button type="button" className="link-button" onClick={() => setOpen(open === email.id ? null : email.id)} aria-expanded={open === email.id}>
                    {email.subject}
                  </button>
                </td>
                <td title={email.last_error ?? undefined}>
                  {STATUS_LABELS[email.status]}
                  {email.attempts > 1 ? <span className="muted"> ({email.attempts} attempts)</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {emails.hasNextPage ? (
        <div className="list-footer">
          <button type="button" className="button" onClick={() => void emails.fetchNextPage()} disabled={emails.isFetchingNextPage}>
            {emails.isFetchingNextPage ? 'Loading…' : 'Load more'}
          </button>
        </div>
      ) : null}
      {open ? <EmailText id={open} /> : null}
    </section>
  );
}

function EmailText({ id }: { id: Uuid }) {
  const email = useQuery({ queryKey: keys.mailboxEmail(id), queryFn: ({ signal }) => api.mailbox.get(id, signal) });
  if (email.isPending) return <p className="muted">Loading the email…</p>;
  if (email.isError) {
    return (
      <div className="notice notice--error" role="alert">
        Could not load the email: {errorMessage(email.error)}
      </div>
    );
  }
  return (
    <article className="card" data-testid="email-text" aria-label="Email">
      <h2>{email.data.subject}</h2>
      <p className="muted">
        To {email.data.to_address}, {formatDateTime(email.data.created_at)}
      </p>
      <pre className="email-text">{email.data.body_text}</pre>
    </article>
  );
}
