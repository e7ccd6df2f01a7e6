import { useMemo, useState, type FormEvent } from 'react';
import { Link, NavLink, useNavigate, useParams } from 'react-router';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  ChatView,
  NO_CONVERSATION_FILTERS,
  TextAreaField,
  TextField,
  UnreadBadge,
  applyConversation,
  channels,
  conversationFromPatientEvent,
  errorMessage,
  formErrorMessage,
  formatDateTime,
  messagingKeys,
  useAuthState,
  useConversationEvents,
  useUnreadTotal,
  type PatientConversationEvent,
} from '@qivr/shared';
import { api, auth } from './session';

const PAGE_SIZE = 30;

const notLinked = (e: unknown) => e instanceof ApiError && e.status === 404;
const NOT_LINKED = 'Your login is not linked to a patient record yet. Please contact your clinic.';

/**
 * The nav entry with the unread badge. Mounted once in the shell: `conversation.updated` on the
 * patient's `user:<id>` keeps the badge, the list and an open chat's unread count live.
 */
export function MessagesNavLink() {
  const userId = useAuthState(auth, (s) => s.user?.id ?? null);
  useConversationEvents(userId ? channels.user(userId) : null, userId, (data) =>
    conversationFromPatientEvent(data as PatientConversationEvent),
  );
  const unread = useUnreadTotal(api);
  return (
    <NavLink to="/messages" end={false}>
      Messages <UnreadBadge count={unread.total} text={unread.text} testId="messages-unread" />
    </NavLink>
  );
}

/** The patient's conversations with the clinic, latest activity first. */
export function MessagesPage() {
  const query = useInfiniteQuery({
    queryKey: messagingKeys.list(NO_CONVERSATION_FILTERS),
    queryFn: ({ pageParam, signal }) => api.conversations.list({ cursor: pageParam, limit: PAGE_SIZE }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const rows = query.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section>
      <div className="page-head">
        <h1>Messages</h1>
        <Link className="button button--primary" to="/messages/new">
          New message
        </Link>
      </div>
      {query.isPending ? (
        <p className="muted">Loading your messages…</p>
      ) : query.isError && !query.data ? (
        <div className="notice notice--error" role="alert">
          {notLinked(query.error) ? NOT_LINKED : `Could not load your messages: ${errorMessage(query.error)}`}
        </div>
      ) : rows.length === 0 ? (
        <p className="muted" data-testid="messages-empty">
          No messages yet. Write to your clinic with “New message”.
        </p>
      ) : (
        <>
          <table className="list" aria-label="My conversations">
            <thead>
              <tr>
                <th scope="col">Subject</th>
                <th scope="col">Last activity</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.id} data-testid="conversation-row" data-id={c.id} data-unread={c.unread_count} className={c.unread_count > 0 ? 'row--unread' : undefined}>
                  <td className="break">
                    <Link to={`/messages/${c.id}`}>{c.subject}</Link> <UnreadBadge count={c.unread_count} />
                    {c.status === 'closed' ? <span className="muted"> · closed</span> : null}
                  </td>
                  <td className="nowrap">{formatDateTime(c.last_message_at ?? c.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="list-footer">
            {query.hasNextPage ? (
              <button type="button" className="button" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
                {query.isFetchingNextPage ? 'Loading…' : 'Load more'}
              </button>
            ) : null}
          </div>
          {query.isFetchNextPageError ? (
            <div className="notice notice--error" role="alert">
              {errorMessage(query.error)}
            </div>
          ) : null}
        </>
      )}
    </section>
  );
}

/** "New message": a subject and the first message; the chat opens once sent. */
export function NewMessagePage() {
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const myId = useAuthState(auth, (s) => s.user?.id ?? null);
  const create = useMutation({
    mutationFn: () => api.conversations.create({ subject: subject.trim(), body: body.trim() }),
    onSuccess: (conversation) => {
      applyConversation(queryClient, conversation, myId);
      navigate(`/messages/${conversation.id}`, { replace: true });
    },
  });
  const fieldErrors = create.error instanceof ApiError ? create.error.fieldErrors : {};

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }

  return (
    <section>
      <div className="page-head">
        <h1>New message</h1>
        <Link to="/messages">Back to messages</Link>
      </div>
      <form className="card" onSubmit={onSubmit} noValidate aria-label="New message">
        {create.isError ? (
          <div className="notice notice--error" role="alert">
            {notLinked(create.error) ? NOT_LINKED : formErrorMessage(create.error, ['subject', 'body'])}
          </div>
        ) : null}
        <TextField label="Subject" value={subject} onChange={(e) => setSubject(e.target.value)} maxLength={200} error={fieldErrors['subject']} required />
        <TextAreaField
          label="Message"
          value={body}
          onChange={(e) => setBody(e.target.value)}
          maxLength={5000}
          error={fieldErrors['body']}
          hint="For anything urgent, please call the clinic."
          required
        />
        <div className="form-actions">
          <button type="submit" className="button button--primary" disabled={create.isPending || !subject.trim() || !body.trim()}>
            {create.isPending ? 'Sending…' : 'Send to my clinic'}
          </button>
        </div>
      </form>
    </section>
  );
}

/** One conversation's chat. */
export function ConversationPage() {
  const { conversationId = '' } = useParams();
  const user = useAuthState(auth, (s) => s.user);
  const me = useMemo(() => ({ id: user?.id ?? '', name: user?.name ?? '', role: user?.role ?? 'patient' }), [user?.id, user?.name, user?.role]);
  const detail = useQuery({
    queryKey: messagingKeys.detail(conversationId),
    queryFn: ({ signal }) => api.conversations.get(conversationId, signal),
  });
  if (detail.isPending) return <p className="muted">Loading the conversation…</p>;
  if (detail.isError) {
    return (
      <section className="card">
        <div className="notice notice--error" role="alert">
          {notLinked(detail.error) ? 'This conversation does not exist.' : `Could not load the conversation: ${errorMessage(detail.error)}`}
        </div>
        <Link to="/messages">Back to messages</Link>
      </section>
    );
  }
  const c = detail.data;
  return (
    <section>
      <div className="page-head">
        <div>
          <h1 data-testid="conversation-subject">{c.subject}</h1>
          <p className="muted">
            Started {formatDateTime(c.created_at)}
            {c.assignee_name ? ` · handled by ${c.assignee_name}` : ''}
            {c.status === 'closed' ? ' · closed by the clinic' : ''}
          </p>
        </div>
        <Link to="/messages">Back to messages</Link>
      </div>
      <div className="card">
        <ChatView key={c.id} api={api} conversation={c} me={me} otherSideName="The clinic" />
      </div>
    </section>
  );
}
