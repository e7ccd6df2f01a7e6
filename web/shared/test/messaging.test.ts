import { describe, expect, it } from 'vitest';
import { QueryClient, type InfiniteData } from '@tanstack/react-query';
import type { Conversation, InboxConversationEvent, Message, Page } from '../src/api/types';
import {
  applyConversation,
  applyUnreadCount,
  conversationFromInboxEvent,
  messagingKeys,
  NO_CONVERSATION_FILTERS,
  placeConversation,
  unreadBadgeText,
  unreadTotal,
} from '../src/messaging/conversations';
import { buildThread, furtherRead, newClientId, readMarkTarget, seenMessageId, setPending, type PendingMessage } from '../src/messaging/thread';
import {
  activeTypists,
  applyTyping,
  nextTypingExpiry,
  NO_TYPISTS,
  stopTyping,
  TYPING_EXPIRY_MS,
  TypingThrottle,
  typingText,
} from '../src/messaging/typing';

const ME = { id: 'me', name: 'Sam Taylor', role: 'staff' };

const msg = (id: string, second: number, sender = 'other', client_id: string | null = null): Message => ({
  id,
  conversation_id: 'c1',
  sender_user_id: sender,
  sender_name: sender === 'me' ? 'Sam Taylor' : 'Pat Patient',
  sender_role: sender === 'me' ? 'staff' : 'patient',
  body: `body ${id}`,
  client_id,
  attachments: [],
  created_at: `2026-01-01T00:00:${String(second).padStart(2, '0')}Z`,
});

const pending = (client_id: string, state: PendingMessage['state'] = 'sending'): PendingMessage => ({
  client_id,
  body: `draft ${client_id}`,
  created_at: '2026-01-01T00:01:00Z',
  state,
});

describe('buildThread (optimistic merge and dedupe)', () => {
  it('lists stored messages oldest first, once each, then unconfirmed sends', () => {
    const stored = [msg('b', 2), msg('a', 1), msg('b', 2)];
    const thread = buildThread(stored, [pending('k1')], ME);
    expect(thread.map((t) => [t.key, t.state])).toEqual([
      ['a', 'sent'],
      ['b', 'sent'],
      ['k1', 'sending'],
    ]);
    expect(thread[2]).toMatchObject({ mine: true, id: null, sender_name: 'Sam Taylor' });
  });

  it('drops a pending send once a stored message of ours carries its client_id, keeping its key', () => {
    const before = buildThread([msg('a', 1)], [pending('k1'), pending('k2', 'failed')], ME);
    const after = buildThread([msg('a', 1), msg('m1', 3, 'me', 'k1')], [pending('k1'), pending('k2', 'failed')], ME);
    expect(before.map((t) => t.key)).toEqual(['a', 'k1', 'k2']);
    expect(after.map((t) => [t.key, t.id, t.state])).toEqual([
      ['a', 'a', 'sent'],
      ['k1', 'm1', 'sent'],
      ['k2', null, 'failed'],
    ]);
  });

  it("does not take someone else's message with the same client_id as our confirmation", () => {
    const thread = buildThread([msg('x', 1, 'other', 'k1')], [pending('k1')], ME);
    expect(thread.map((t) => t.state)).toEqual(['sent', 'sending']);
  });

  it('setPending adds a send, and a retry changes the same entry', () => {
    let list = setPending([], pending('k1'));
    list = setPending(list, { ...pending('k1'), state: 'failed', error: 'offline' });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ state: 'failed', error: 'offline' });
    list = setPending(list, { ...list[0]!, state: 'sending', error: undefined });
    expect(list[0]!.state).toBe('sending');
  });

  it('newClientId makes distinct UUIDs', () => {
    const a = newClientId();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newClientId()).not.toBe(a);
  });
});

describe('read receipts', () => {
  const thread = buildThread([msg('a', 1), msg('m1', 2, 'me', 'k1'), msg('b', 3), msg('m2', 4, 'me', 'k2')], [], ME);

  it('"Seen" goes under our last stored message once the other side read it or later', () => {
    expect(seenMessageId(thread, null)).toBeNull();
    expect(seenMessageId(thread, { up_to: 'b' })).toBeNull();
    expect(seenMessageId(thread, { up_to: 'm2' })).toBe('m2');
    expect(seenMessageId(thread, { up_to: 'unknown' })).toBeNull();
  });

  it('keeps the receipt furthest along when several clinic users read', () => {
    expect(furtherRead(thread, null, { up_to: 'a' })).toEqual({ up_to: 'a' });
    expect(furtherRead(thread, { up_to: 'm2' }, { up_to: 'b' })).toEqual({ up_to: 'm2' });
    expect(furtherRead(thread, { up_to: 'b' }, { up_to: 'm2' })).toEqual({ up_to: 'm2' });
    expect(furtherRead(thread, { up_to: 'gone' }, { up_to: 'a' })).toEqual({ up_to: 'a' });
  });

  it('marks read only when visible, something new is there, and it is unread or from someone else', () => {
    const base = { myUserId: 'me', visible: true };
    const newest = { id: 'b', sender_user_id: 'other' };
    expect(readMarkTarget({ ...base, newest, unreadCount: 2, lastMarked: null })).toBe('b');
    expect(readMarkTarget({ ...base, newest, unreadCount: 2, lastMarked: null, visible: false })).toBeNull();
    expect(readMarkTarget({ ...base, newest, unreadCount: 2, lastMarked: 'b' })).toBeNull();
    // Opened with nothing unread: no request.
    expect(readMarkTarget({ ...base, newest, unreadCount: 0, lastMarked: null })).toBeNull();
    // A new message from the other side while open: at once, before its unread count arrives.
    expect(readMarkTarget({ ...base, newest, unreadCount: 0, lastMarked: 'a' })).toBe('b');
    // Our own newest message needs no receipt.
    expect(readMarkTarget({ ...base, newest: { id: 'm2', sender_user_id: 'me' }, unreadCount: 0, lastMarked: 'b' })).toBeNull();
    expect(readMarkTarget({ ...base, newest: undefined, unreadCount: 1, lastMarked: null })).toBeNull();
  });
});

describe('typing', () => {
  it('publishes at most once per throttle interval, and "stopped" only if it said typing recently', () => {
    const t = new TypingThrottle(2000);
    expect(t.input(0)).toBe(true);
    expect(t.input(500)).toBe(false);
    expect(t.input(1999)).toBe(false);
    expect(t.input(2000)).toBe(true);
    expect(t.stop(2500)).toBe(true);
    expect(t.input(2600)).toBe(true); // after a send, the next keystroke says so at once
    expect(t.stop(2600 + TYPING_EXPIRY_MS)).toBe(false); // the others' indicator has expired anyway
    expect(t.stop(9999)).toBe(false);
  });

  it('shows others typing until the expiry or their "stopped" or their message', () => {
    let s = applyTyping(NO_TYPISTS, { typing: true, user_id: 'u1', name: 'Pat Patient' }, 1000, 'me');
    s = applyTyping(s, { typing: true, user_id: 'me', name: 'Sam Taylor' }, 1000, 'me');
    expect(activeTypists(s, 1000)).toEqual(['Pat Patient']);
    expect(nextTypingExpiry(s, 1000)).toBe(1000 + TYPING_EXPIRY_MS);
    expect(activeTypists(s, 1000 + TYPING_EXPIRY_MS)).toEqual([]);
    // A new event extends it.
    s = applyTyping(s, { typing: true, user_id: 'u1', name: 'Pat Patient' }, 3000, 'me');
    expect(activeTypists(s, 1000 + TYPING_EXPIRY_MS)).toEqual(['Pat Patient']);
    expect(activeTypists(applyTyping(s, { typing: false, user_id: 'u1' }, 3500, 'me'), 3500)).toEqual([]);
    expect(activeTypists(stopTyping(s, 'u1'), 3500)).toEqual([]);
    expect(stopTyping(s, 'nobody')).toBe(s);
    expect(nextTypingExpiry(NO_TYPISTS, 0)).toBeNull();
  });

  it('says who is typing', () => {
    expect(typingText([])).toBe('');
    expect(typingText(['Sam Taylor'])).toBe('Sam Taylor is typing…');
    expect(typingText(['Sam', 'Alex'])).toBe('Sam and Alex are typing…');
    expect(typingText(['a', 'b', 'c'])).toBe('3 people are typing…');
  });
});

const conv = (id: string, minute: number, extra: Partial<Conversation> = {}): Conversation => ({
  id,
  patient_id: 'p1',
  patient_name: 'Pat Patient',
  subject: `subject ${id}`,
  status: 'open',
  assignee_user_id: null,
  assignee_name: null,
  last_message_at: `2026-01-01T00:${String(minute).padStart(2, '0')}:00Z`,
  unread_count: 0,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: `2026-01-01T00:${String(minute).padStart(2, '0')}:00Z`,
  ...extra,
});

describe('conversation lists and unread counts', () => {
  it('moves a conversation with new activity to the top, and ignores an older event', () => {
    const page: Page<Conversation> = { items: [conv('a', 3), conv('b', 2), conv('c', 1)], next_cursor: null };
    const moved = placeConversation(page, conv('c', 5, { unread_count: 1 }), true)!;
    expect(moved.items.map((c) => c.id)).toEqual(['c', 'a', 'b']);
    expect(moved.items[0]!.unread_count).toBe(1);
    const stale = { ...conv('a', 0), updated_at: '2025-12-31T00:00:00Z' };
    expect(placeConversation(page, stale, true)).toBe(page);
  });

  it('applies an inbox event to every cached list by its filters, with my own unread count', () => {
    const qc = new QueryClient();
    const unreadKey = messagingKeys.list({ ...NO_CONVERSATION_FILTERS, unread: true });
    const mineKey = messagingKeys.list({ ...NO_CONVERSATION_FILTERS, assignee: 'me' });
    qc.setQueryData<InfiniteData<Page<Conversation>>>(messagingKeys.list(NO_CONVERSATION_FILTERS), {
      pages: [{ items: [conv('a', 3)], next_cursor: null }],
      pageParams: [undefined],
    });
    qc.setQueryData<Page<Conversation>>(messagingKeys.unreadTotal, { items: [conv('a', 3, { unread_count: 2 })], next_cursor: null });
    qc.setQueryData<InfiniteData<Page<Conversation>>>(unreadKey, { pages: [{ items: [], next_cursor: null }], pageParams: [undefined] });
    qc.setQueryData<InfiniteData<Page<Conversation>>>(mineKey, { pages: [{ items: [], next_cursor: null }], pageParams: [undefined] });

    const event: InboxConversationEvent = {
      ...conv('n', 9),
      last_sender_role: 'patient',
      unread_counts: { me: 1, someone: 4 },
    };
    applyConversation(qc, conversationFromInboxEvent(event, 'me'), 'me');
    const all = qc.getQueryData<InfiniteData<Page<Conversation>>>(messagingKeys.list(NO_CONVERSATION_FILTERS))!;
    expect(all.pages[0]!.items.map((c) => [c.id, c.unread_count])).toEqual([
      ['n', 1],
      ['a', 0],
    ]);
    expect(all.pages[0]!.items[0]).not.toHaveProperty('unread_counts');
    expect(qc.getQueryData<InfiniteData<Page<Conversation>>>(unreadKey)!.pages[0]!.items.map((c) => c.id)).toEqual(['n']);
    expect(qc.getQueryData<InfiniteData<Page<Conversation>>>(mineKey)!.pages[0]!.items).toEqual([]);
    const badge = qc.getQueryData<Page<Conversation>>(messagingKeys.unreadTotal)!;
    expect(unreadTotal(badge.items)).toBe(3);

    // Read: it leaves the unread lists and the badge's count.
    applyUnreadCount(qc, 'a', 0, 'me');
    applyUnreadCount(qc, 'n', 0, 'me');
    expect(unreadTotal(qc.getQueryData<Page<Conversation>>(messagingKeys.unreadTotal)!.items)).toBe(0);
    expect(qc.getQueryData<InfiniteData<Page<Conversation>>>(unreadKey)!.pages[0]!.items).toEqual([]);
  });

  it('totals unread messages for the badge', () => {
    expect(unreadTotal([])).toBe(0);
    expect(unreadTotal([{ unread_count: 2 }, { unread_count: 0 }, { unread_count: 5 }])).toBe(7);
    expect(unreadBadgeText(0)).toBe('');
    expect(unreadBadgeText(7)).toBe('7');
    expect(unreadBadgeText(7, true)).toBe('7+');
    expect(unreadBadgeText(150)).toBe('99+');
  });
});
