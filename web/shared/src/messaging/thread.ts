/**
 * A chat thread as shown: the server's messages (from "Load older" pages and live events) merged
 * with the messages this tab is sending, deduplicated by id and by `client_id`; read receipts;
 * when to mark the thread read.
 */
import type { Message, MessageReadEvent, Uuid } from '../api/types';

/** What the tab knows of a message it sends until the server has it. */
export interface PendingMessage {
  client_id: string;
  body: string;
  /** Local time the user pressed send (for display). */
  created_at: string;
  state: 'sending' | 'failed';
  /** Why the last attempt failed. */
  error?: string | undefined;
  /** Documents sent with it (kept for retries). */
  attachment_ids?: Uuid[] | undefined;
}

export type DeliveryState = 'sending' | 'failed' | 'sent';

export interface ThreadItem {
  /** Stable across the sending → sent switch (the `client_id` when there is one). */
  key: string;
  /** The server's id once stored. */
  id: Uuid | null;
  client_id: string | null;
  body: string;
  sender_user_id: Uuid | null;
  sender_name: string | null;
  sender_role: string;
  created_at: string;
  mine: boolean;
  state: DeliveryState;
  error?: string | undefined;
}

/** The server's message order: newest first (`created_at`, then id). */
export function newestFirst(a: Message, b: Message): number {
  if (a.created_at !== b.created_at) return Date.parse(b.created_at) - Date.parse(a.created_at);
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export interface Me {
  id: Uuid;
  name: string;
  role: string;
}

/**
 * The thread, oldest first: every stored message once (pages may overlap after live inserts),
 * then this tab's messages the server has not confirmed, in the order they were sent. A pending
 * message disappears as soon as a stored message of ours carries its `client_id` (from the send's
 * answer or from `message.created`, whichever comes first).
 */
export function buildThread(stored: readonly Message[], pending: readonly PendingMessage[], me: Me): ThreadItem[] {
  const byId = new Map<Uuid, Message>();
  for (const m of stored) if (!byId.has(m.id)) byId.set(m.id, m);
  const messages = [...byId.values()].sort((a, b) => newestFirst(b, a));
  const confirmed = new Set<string>();
  const items: ThreadItem[] = messages.map((m) => {
    const mine = m.sender_user_id === me.id;
    if (mine && m.client_id) confirmed.add(m.client_id);
    return {
      key: mine && m.client_id ? m.client_id : m.id,
      id: m.id,
      client_id: m.client_id,
      body: m.body,
      sender_user_id: m.sender_user_id,
      sender_name: m.sender_name,
      sender_role: m.sender_role,
      created_at: m.created_at,
      mine,
      state: 'sent',
    };
  });
  const seen = new Set<string>();
  for (const p of pending) {
    if (confirmed.has(p.client_id) || seen.has(p.client_id)) continue;
    seen.add(p.client_id);
    items.push({
      key: p.client_id,
      id: null,
      client_id: p.client_id,
      body: p.body,
      sender_user_id: me.id,
      sender_name: me.name,
      sender_role: me.role,
      created_at: p.created_at,
      mine: true,
      state: p.state,
      error: p.error,
    });
  }
  return items;
}

/** Pending messages with `client_id` added or its state changed (a retry reuses the entry). */
export function setPending(list: readonly PendingMessage[], next: PendingMessage): PendingMessage[] {
  const i = list.findIndex((p) => p.client_id === next.client_id);
  if (i < 0) return [...list, next];
  return list.map((p, j) => (j === i ? { ...p, ...next } : p));
}

/** A `client_id` for a send: a random UUID (v4), also outside secure contexts. */
export function newClientId(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Whether a reader with `role` is on the other side from `myRole` (patient vs clinic). */
export function isOtherSide(role: string, myRole: string): boolean {
  return myRole === 'patient' ? role !== 'patient' && role !== 'system' : role === 'patient';
}

/**
 * The id of our last stored message if the other side's read receipt covers it (it read that
 * message or a later one), else null: where "Seen" goes.
 */
export function seenMessageId(thread: readonly ThreadItem[], otherRead: Pick<MessageReadEvent, 'up_to'> | null): Uuid | null {
  if (!otherRead) return null;
  const readAt = thread.findIndex((t) => t.id === otherRead.up_to);
  if (readAt < 0) return null;
  for (let i = thread.length - 1; i >= 0; i--) {
    const t = thread[i]!;
    if (t.mine && t.id !== null) return i <= readAt ? t.id : null;
  }
  return null;
}

/**
 * The read receipt to keep for "Seen": of the other side's receipts (several clinic users may
 * read), the one furthest along the thread. One for a message not loaded here replaces nothing
 * but an unknown one.
 */
export function furtherRead<R extends Pick<MessageReadEvent, 'up_to'>>(thread: readonly ThreadItem[], current: R | null, next: R): R {
  if (!current) return next;
  const at = (r: R) => thread.findIndex((t) => t.id === r.up_to);
  const a = at(current);
  const b = at(next);
  return b >= a ? next : current;
}

/**
 * Which message to send in `POST …/read` now, or null. The view must be open and visible. The
 * conversation's unread count (from the server, kept live) says whether anything is unread;
 * once the view has marked (or found nothing unread), a newer message from someone else is
 * marked at once, without waiting for the count's own event.
 */
export function readMarkTarget(s: {
  newest: Pick<Message, 'id' | 'sender_user_id'> | undefined;
  myUserId: Uuid;
  unreadCount: number;
  /** The newest message this view marked read or found read; null before the first look. */
  lastMarked: Uuid | null;
  visible: boolean;
}): Uuid | null {
  if (!s.visible || !s.newest || s.newest.id === s.lastMarked) return null;
  if (s.unreadCount > 0) return s.newest.id;
  if (s.lastMarked !== null && s.newest.sender_user_id !== s.myUserId) return s.newest.id;
  return null;
}
