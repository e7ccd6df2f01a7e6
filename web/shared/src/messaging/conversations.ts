/**
 * Conversation lists for the inbox (dashboard) and "Messages" (portal): query keys, filters as
 * the server applies them, the server's order, and putting a `conversation.updated` event (or a
 * REST answer) into every cached list and the detail, re-sorted by latest activity.
 */
import type { QueryClient, QueryKey } from '@tanstack/react-query';
import type {
  Conversation,
  ConversationListQuery,
  ConversationStatus,
  ConversationSummary,
  InboxConversationEvent,
  Page,
  PatientConversationEvent,
  Uuid,
} from '../api/types';
import { isNotOlder, mergeIntoDetail, upsertInList } from '../realtime/cache';

/** A conversation list's filters; also the third part of its query key. */
export interface ConversationFilters {
  /** Only conversations with messages the caller has not read. */
  unread: boolean;
  /** `''` anyone, `me`, or a user id (staff). */
  assignee: string;
  /** `''` every patient (staff). */
  patient_id: string;
  status: ConversationStatus | '';
}

export const NO_CONVERSATION_FILTERS: ConversationFilters = { unread: false, assignee: '', patient_id: '', status: '' };

/** The list behind the unread badge: at most this many unread conversations are counted. */
export const UNREAD_TOTAL_LIMIT = 100;

/** Query keys of the messaging screens (both apps). */
export const messagingKeys = {
  all: ['conversations'] as const,
  lists: ['conversations', 'list'] as const,
  list: (f: ConversationFilters) => ['conversations', 'list', f] as const,
  /** A plain page (not "Load more") of the caller's unread conversations, for the badge. */
  unreadTotal: ['conversations', 'list', { ...NO_CONVERSATION_FILTERS, unread: true }, 'total'] as const,
  detail: (id: Uuid) => ['conversations', 'detail', id] as const,
  messages: (id: Uuid) => ['conversations', 'messages', id] as const,
  reads: (id: Uuid) => ['conversations', 'reads', id] as const,
};

export function conversationQuery(f: ConversationFilters): ConversationListQuery {
  return {
    unread: f.unread || undefined,
    assignee: f.assignee || undefined,
    patient_id: f.patient_id || undefined,
    status: f.status || undefined,
  };
}

/** Whether a conversation shows in a list with these filters, as the server would decide. */
export function matchesConversationFilters(c: Conversation, f: Partial<ConversationFilters>, myUserId: Uuid | null): boolean {
  if (f.unread && c.unread_count <= 0) return false;
  if (f.assignee && c.assignee_user_id !== (f.assignee === 'me' ? myUserId : f.assignee)) return false;
  if (f.patient_id && c.patient_id !== f.patient_id) return false;
  if (f.status && c.status !== f.status) return false;
  return true;
}

const activity = (c: Pick<Conversation, 'last_message_at' | 'created_at'>) => Date.parse(c.last_message_at ?? c.created_at);

/** The server's order: latest activity (last message, else creation) first, then id descending. */
export function byRecentActivity(a: Conversation, b: Conversation): number {
  const d = activity(b) - activity(a);
  if (d !== 0) return d;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function fromSummary(s: ConversationSummary, unread: number): Conversation {
  return {
    id: s.id,
    patient_id: s.patient_id,
    patient_name: s.patient_name,
    subject: s.subject,
    status: s.status,
    assignee_user_id: s.assignee_user_id,
    assignee_name: s.assignee_name,
    last_message_at: s.last_message_at,
    unread_count: unread,
    created_at: s.created_at,
    updated_at: s.updated_at,
  };
}

/** `conversation.updated` on `inbox`, as the signed-in clinic user sees it (their own unread count). */
export function conversationFromInboxEvent(e: InboxConversationEvent, myUserId: Uuid): Conversation {
  return fromSummary(e, e.unread_counts?.[myUserId] ?? 0);
}

/** `conversation.updated` on the patient's `user:<id>`. */
export function conversationFromPatientEvent(e: PatientConversationEvent): Conversation {
  return fromSummary(e, e.unread_count ?? 0);
}

type ListData = Page<Conversation> | { pages: Page<Conversation>[]; pageParams: unknown[] };

function findIn(data: ListData | undefined, id: Uuid): Conversation | undefined {
  if (!data) return undefined;
  const pages = 'pages' in data ? data.pages : [data];
  for (const p of pages) {
    const found = p.items.find((c) => c.id === id);
    if (found) return found;
  }
  return undefined;
}

/**
 * The list with `c` put where it now sorts (new activity moves a conversation to the top), or
 * taken out when it no longer matches the list's filters. An event older than the cached row is
 * ignored.
 */
export function placeConversation<D extends ListData>(data: D | undefined, c: Conversation, keep: boolean): D | undefined {
  const current = findIn(data, c.id);
  if (current && !isNotOlder(c, current)) return data;
  const without = upsertInList<Conversation>(data, c, false);
  if (!keep) return without as D | undefined;
  return upsertInList<Conversation>(without, c, true, { compare: byRecentActivity }) as D | undefined;
}

/** Puts `c` into every cached conversation list (by each list's filters) and its detail. */
export function applyConversation(queryClient: QueryClient, c: Conversation, myUserId: Uuid | null): void {
  for (const query of queryClient.getQueryCache().findAll({ queryKey: messagingKeys.lists })) {
    const filters = (query.queryKey[2] ?? {}) as Partial<ConversationFilters>;
    const keep = matchesConversationFilters(c, filters, myUserId);
    queryClient.setQueryData<ListData>(query.queryKey as QueryKey, (data) => placeConversation(data, c, keep));
  }
  mergeIntoDetail<Conversation>(queryClient, messagingKeys.detail(c.id), c);
}

/** After `POST …/read`: the caller's new unread count, in the detail and every list. */
export function applyUnreadCount(queryClient: QueryClient, id: Uuid, unread: number, myUserId: Uuid | null): void {
  const known =
    queryClient.getQueryData<Conversation>(messagingKeys.detail(id)) ??
    queryClient
      .getQueryCache()
      .findAll({ queryKey: messagingKeys.lists })
      .map((q) => findIn(q.state.data as ListData | undefined, id))
      .find((c) => c !== undefined);
  if (known) applyConversation(queryClient, { ...known, unread_count: unread }, myUserId);
}

/** The caller's unread messages over the conversations of the badge's list. */
export function unreadTotal(conversations: readonly Pick<Conversation, 'unread_count'>[]): number {
  return conversations.reduce((n, c) => n + Math.max(0, c.unread_count), 0);
}

/** The badge's text: `''` when nothing is unread, `"99+"` past 99 or when not every unread conversation was counted. */
export function unreadBadgeText(total: number, more = false): string {
  if (total <= 0 && !more) return '';
  if (total > 99) return '99+';
  return more ? `${total}+` : String(total);
}
