/**
 * Messaging screens' React parts shared by both apps: conversation lists kept live from
 * `conversation.updated`, the unread total for a nav badge, and the chat view (history with
 * "Load older", live messages, optimistic sends with retry, read receipts, typing, presence).
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import type { QivrApi } from '../api/endpoints';
import type { Conversation, Message, MessageReadEvent, ReadMarker, TypingEvent, Uuid } from '../api/types';
import { errorMessage } from '../api/errors';
import { formatDateTime } from '../forms';
import { channels } from '../realtime/protocol';
import { upsertIntoLists } from '../realtime/cache';
import { useLiveCache, usePresence, useRealtimeClient } from '../realtime/react';
import {
  applyConversation,
  applyUnreadCount,
  messagingKeys,
  unreadBadgeText,
  unreadTotal,
  UNREAD_TOTAL_LIMIT,
} from './conversations';
import {
  buildThread,
  furtherRead,
  isOtherSide,
  newClientId,
  newestFirst,
  readMarkTarget,
  seenMessageId,
  setPending,
  type Me,
  type PendingMessage,
  type ThreadItem,
} from './thread';
import { AttachButton, AttachedFiles, MessageAttachments, useChatAttachments } from './attachments';
import { UploadProgress } from '../records/react';
import type { Attachment } from '../api/records';
import {
  activeTypists,
  applyTyping,
  nextTypingExpiry,
  NO_TYPISTS,
  stopTyping,
  TypingThrottle,
  typingText,
  type TypingState,
} from './typing';

/** Whether the page is shown (not a background tab or minimised window). */
export function useDocumentVisible(): boolean {
  return useSyncExternalStore(
    (onChange) => {
      document.addEventListener('visibilitychange', onChange);
      return () => document.removeEventListener('visibilitychange', onChange);
    },
    () => document.visibilityState === 'visible',
    () => true,
  );
}

/**
 * Keeps every cached conversation list and detail live from `conversation.updated` on
 * `channel` (`inbox` for staff, the patient's `user:<id>`); `fromEvent` gives the conversation as
 * the caller sees it. Mount once per app (in the shell), so the nav badge is live everywhere.
 */
export function useConversationEvents(
  channel: string | null,
  myUserId: Uuid | null,
  fromEvent: (data: unknown) => Conversation,
): void {
  useLiveCache(channel, {
    refetch: [messagingKeys.lists, ['conversations', 'detail']],
    apply: (event, queryClient) => {
      if (event.kind !== 'conversation.updated') return;
      applyConversation(queryClient, fromEvent(event.data), myUserId);
    },
  });
}

/** The caller's unread messages (over up to `UNREAD_TOTAL_LIMIT` conversations), and the badge text. */
export function useUnreadTotal(api: QivrApi): { total: number; text: string } {
  const query = useQuery({
    queryKey: messagingKeys.unreadTotal,
    queryFn: ({ signal }) => api.conversations.list({ unread: true, limit: UNREAD_TOTAL_LIMIT }, signal),
  });
  const total = unreadTotal(query.data?.items ?? []);
  return { total, text: unreadBadgeText(total, Boolean(query.data?.next_cursor)) };
}

/** A count of unread messages (nothing when there are none). */
export function UnreadBadge({ count, text = String(count), testId = 'unread-badge' }: { count: number; text?: string; testId?: string }) {
  if (!text || (count <= 0 && !text.endsWith('+'))) return null;
  return (
    <span className="badge badge--unread" data-testid={testId} data-count={count} aria-label={`${count} unread`}>
      {text}
    </span>
  );
}

const PAGE_SIZE = 30;

export interface ChatViewProps {
  api: QivrApi;
  /** The conversation as loaded (kept live): its `unread_count` decides the first read receipt. */
  conversation: Conversation;
  me: Me;
  /** The other side in words when nobody of theirs is online, e.g. "The clinic" or the patient's name. */
  otherSideName: string;
}

/** The chat of one conversation. Key it by conversation id. */
export function ChatView({ api, conversation, me, otherSideName }: ChatViewProps) {
  const id = conversation.id;
  const channel = channels.conversation(id);
  const client = useRealtimeClient();
  const queryClient = useQueryClient();
  const visible = useDocumentVisible();
  const [pending, setPendingList] = useState<PendingMessage[]>([]);
  const [otherRead, setOtherRead] = useState<MessageReadEvent | null>(null);
  const [typists, setTypists] = useState<TypingState>(NO_TYPISTS);
  const [, setClock] = useState(0);
  const [draft, setDraft] = useState('');
  const [lastMarked, setLastMarked] = useState<Uuid | null>(null);
  const marking = useRef(false);
  const throttle = useRef(new TypingThrottle());

  const messages = useInfiniteQuery({
    queryKey: messagingKeys.messages(id),
    queryFn: ({ pageParam, signal }) => api.conversations.messages(id, { cursor: pageParam, limit: PAGE_SIZE }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const stored = useMemo(() => messages.data?.pages.flatMap((p) => p.items) ?? [], [messages.data]);
  const files = useChatAttachments(api, conversation.patient_id);
  const attachmentsById = useMemo(() => new Map<Uuid, Attachment[]>(stored.map((m) => [m.id, m.attachments ?? []])), [stored]);
  const thread = useMemo(() => buildThread(stored, pending, me), [stored, pending, me]);
  const newest = useMemo(() => [...thread].reverse().find((t) => t.id !== null), [thread]);

  useLiveCache(channel, {
    refetch: [messagingKeys.messages(id)],
    apply: (event, qc) => {
      if (event.kind === 'message.created') {
        const m = event.data as Message;
        if (m.conversation_id !== id) return;
        upsertIntoLists<Message>(qc, messagingKeys.messages(id), m, { compare: newestFirst });
        setTypists((s) => stopTyping(s, m.sender_user_id));
      } else if (event.kind === 'message.read') {
        const r = event.data as MessageReadEvent;
        if (r.user_id !== me.id && isOtherSide(r.role, me.role)) setOtherRead((current) => furtherRead(thread, current, r));
      } else if (event.kind === 'typing') {
        setTypists((s) => applyTyping(s, event.data as Partial<TypingEvent>, Date.now(), me.id));
      }
    },
  });
  // "Seen" after a reload: the other side's furthest read position, until live receipts arrive.
  const reads = useQuery({
    queryKey: messagingKeys.reads(id),
    queryFn: ({ signal }) => api.conversations.reads(id, signal),
  });
  const storedRead = useMemo(
    () =>
      (reads.data ?? [])
        .filter((r) => r.user_id !== me.id && isOtherSide(r.role, me.role))
        .reduce<ReadMarker | null>((current, r) => furtherRead(thread, current, r), null),
    [reads.data, thread, me.id, me.role],
  );
  const present = usePresence(channel);
  const othersHere = present.filter((u) => u.user_id !== me.id && isOtherSide(u.role, me.role));

  // Re-render when the next typist expires.
  const now = Date.now();
  const typingNames = activeTypists(typists, now);
  useEffect(() => {
    const next = nextTypingExpiry(typists, Date.now());
    if (next === null) return;
    const t = setTimeout(() => setClock((n) => n + 1), Math.max(0, next - Date.now()) + 20);
    return () => clearTimeout(t);
  });

  // Read receipts: with the view shown, mark the newest message read when something is unread.
  useEffect(() => {
    if (!newest || messages.isPending) return;
    if (lastMarked === null && conversation.unread_count === 0) {
      setLastMarked(newest.id); // nothing unread when opened: the baseline
      return;
    }
    const target = readMarkTarget({
      newest: newest.id ? { id: newest.id, sender_user_id: newest.sender_user_id } : undefined,
      myUserId: me.id,
      unreadCount: conversation.unread_count,
      lastMarked,
      visible,
    });
    if (!target || marking.current) return;
    marking.current = true;
    api.conversations
      .markRead(id, target)
      .then(
        (state) => {
          applyUnreadCount(queryClient, id, state.unread_count, me.id);
          setLastMarked(target);
        },
        () => setLastMarked(target), // not retried until something newer arrives
      )
      .finally(() => {
        marking.current = false;
      });
  }, [newest, messages.isPending, conversation.unread_count, lastMarked, visible, api, id, me.id, queryClient]);

  // Typing: publish while typing (throttled), and "stopped" on send, clear or leaving.
  const publishTyping = (typing: boolean) => {
    client.publish(channel, 'typing', { typing }).catch(() => undefined);
  };
  useEffect(() => {
    const t = throttle.current;
    return () => {
      if (t.stop(Date.now())) client.publish(channel, 'typing', { typing: false }).catch(() => undefined);
    };
  }, [client, channel]);

  function onDraft(value: string) {
    setDraft(value);
    const t = Date.now();
    if (value.trim()) {
      if (throttle.current.input(t)) publishTyping(true);
    } else if (throttle.current.stop(t)) {
      publishTyping(false);
    }
  }

  async function deliver(p: PendingMessage) {
    setPendingList((list) => setPending(list, { ...p, state: 'sending', error: undefined }));
    try {
      const message = await api.conversations.send(id, { body: p.body, client_id: p.client_id, attachment_ids: p.attachment_ids });
      upsertIntoLists<Message>(queryClient, messagingKeys.messages(id), message, { compare: newestFirst });
      setPendingList((list) => list.filter((x) => x.client_id !== p.client_id));
    } catch (e) {
      setPendingList((list) => setPending(list, { ...p, state: 'failed', error: errorMessage(e) }));
    }
  }

  function onSend(e?: FormEvent) {
    e?.preventDefault();
    // A file sent without words goes with its name as the text.
    const body = draft.trim() || files.attached.map((a) => a.file_name).join(', ');
    if (!body || files.uploading) return;
    if (throttle.current.stop(Date.now())) publishTyping(false);
    const attachment_ids = files.attached.map((a) => a.document_id);
    setDraft('');
    files.clear();
    stickToBottom.current = true;
    void deliver({ client_id: newClientId(), body, attachment_ids, created_at: new Date().toISOString(), state: 'sending' });
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      onSend();
    }
  }

  // Scrolling: follow new messages while at the bottom; keep the place when older ones load.
  const scroller = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const keepFromBottom = useRef<number | null>(null);
  const lastKey = thread.length > 0 ? thread[thread.length - 1]!.key : '';
  const firstKey = thread.length > 0 ? thread[0]!.key : '';
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (keepFromBottom.current !== null) {
      el.scrollTop = el.scrollHeight - keepFromBottom.current;
      keepFromBottom.current = null;
    } else if (stickToBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [lastKey, firstKey, typingNames.length]);

  function loadOlder() {
    const el = scroller.current;
    if (el) keepFromBottom.current = el.scrollHeight - el.scrollTop;
    void messages.fetchNextPage();
  }

  const seenId = seenMessageId(thread, otherRead ? furtherRead(thread, storedRead, otherRead) : storedRead);
  const lastOwnStored = [...thread].reverse().find((t) => t.mine && t.id !== null)?.id ?? null;

  return (
    <div className="chat" data-testid="chat">
      <div className="chat__presence" data-testid="presence" data-online={othersHere.length > 0}>
        <span className={othersHere.length > 0 ? 'dot dot--on' : 'dot'} aria-hidden="true" />
        {othersHere.length > 0
          ? `${othersHere.map((u) => u.name).join(', ')} ${othersHere.length === 1 ? 'is' : 'are'} here now`
          : `${otherSideName}: not here now`}
      </div>
      <div
        className="chat__messages"
        ref={scroller}
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
        aria-label="Messages"
        role="log"
      >
        {messages.isPending ? (
          <p className="muted">Loading messages…</p>
        ) : messages.isError && !messages.data ? (
          <div className="notice notice--error" role="alert">
            Could not load the messages: {errorMessage(messages.error)}
          </div>
        ) : (
          <>
            <div className="chat__older">
              {messages.hasNextPage ? (
                <button type="button" className="button button--small" onClick={loadOlder} disabled={messages.isFetchingNextPage}>
                  {messages.isFetchingNextPage ? 'Loading…' : 'Load older messages'}
                </button>
              ) : thread.length === 0 ? (
                <span className="muted">No messages yet.</span>
              ) : (
                <span className="muted">Start of the conversation</span>
              )}
              {messages.isFetchNextPageError ? (
                <div className="notice notice--error" role="alert">
                  {errorMessage(messages.error)}
                </div>
              ) : null}
            </div>
            <ol className="chat__list">
              {thread.map((t) => (
                <MessageRow
                  key={t.key}
                  item={t}
                  attachments={t.id !== null ? <MessageAttachments api={api} attachments={attachmentsById.get(t.id) ?? []} /> : null}
                  status={t.mine && (t.state !== 'sent' || t.id === lastOwnStored) ? (t.id !== null && t.id === seenId ? 'seen' : t.state) : null}
                  onRetry={() => {
                    const p = pending.find((x) => x.client_id === t.client_id);
                    if (p) void deliver(p);
                  }}
                />
              ))}
            </ol>
          </>
        )}
      </div>
      <div className="chat__typing muted" data-testid="typing" aria-live="polite">
        {typingText(typingNames)}
      </div>
      <form className="chat__composer" onSubmit={onSend} aria-label="Send a message">
        <label htmlFor={`chat-draft-${id}`} className="visually-hidden">
          Message
        </label>
        <textarea
          id={`chat-draft-${id}`}
          value={draft}
          placeholder="Write a message… (Enter sends, Shift+Enter for a new line)"
          maxLength={5000}
          rows={2}
          onChange={(e) => onDraft(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <AttachButton id={id} onFile={(file) => void files.attach(file)} disabled={files.uploading} />
        <button type="submit" className="button button--primary" disabled={(!draft.trim() && files.attached.length === 0) || files.uploading}>
          Send
        </button>
      </form>
      <AttachedFiles attached={files.attached} onRemove={files.detach} />
      <UploadProgress progress={files.progress} />
      {files.error ? (
        <div className="notice notice--error" role="alert" data-testid="attach-error">
          {files.error}
        </div>
      ) : null}
    </div>
  );
}

const STATUS_WORDS = { sending: 'Sending…', sent: 'Sent', seen: 'Seen', failed: 'Not sent' } as const;

function MessageRow({
  item,
  status,
  onRetry,
  attachments,
}: {
  item: ThreadItem;
  status: keyof typeof STATUS_WORDS | null;
  onRetry: () => void;
  attachments: ReactNode;
}) {
  if (item.sender_role === 'system') {
    return (
      <li className="msg msg--system" data-testid="message" data-id={item.id ?? undefined} data-system="true">
        <span className="msg__body">{item.body}</span> <span className="muted">{formatDateTime(item.created_at)}</span>
      </li>
    );
  }
  const who = item.mine ? 'You' : (item.sender_name ?? 'Clinic');
  return (
    <li
      className={item.mine ? 'msg msg--mine' : 'msg'}
      data-testid="message"
      data-state={item.state}
      data-id={item.id ?? undefined}
      data-mine={item.mine}
    >
      <div className="msg__meta">
        <span className="msg__who">{who}</span> <span className="muted">{formatDateTime(item.created_at)}</span>
      </div>
      <div className="msg__body">{item.body}</div>
      {attachments}
      {status ? (
        <div
          className={status === 'failed' ? 'msg__status msg__status--failed' : 'msg__status'}
          data-testid="message-status"
          data-status={status}
          title={status === 'failed' ? item.error : undefined}
        >
          {STATUS_WORDS[status]}
          {status === 'failed' ? (
            <>
              {' — '}
              <button type="button" className="link-button" onClick={onRetry} title={item.error}>
                retry
              </button>
            </>
          ) : null}
        </div>
      ) : null}
    </li>
  );
}
