/** The inbox's nav entry: its unread badge, and the `inbox` subscription that keeps every conversation list live. */
import { NavLink } from 'react-router';
import {
  channels,
  conversationFromInboxEvent,
  NO_CONVERSATION_FILTERS,
  UnreadBadge,
  useAuthState,
  useConversationEvents,
  useUnreadTotal,
  type ConversationFilters,
  type ConversationStatus,
  type InboxConversationEvent,
} from '@qivr/shared';
import { api, auth } from './session';

/** Mounted once in the shell: `conversation.updated` on `inbox` updates the badge, the inbox and open chats. */
export function InboxNavLink() {
  const myId = useAuthState(auth, (s) => s.user?.id ?? null);
  useConversationEvents(channels.inbox, myId, (data) => conversationFromInboxEvent(data as InboxConversationEvent, myId ?? ''));
  const unread = useUnreadTotal(api);
  return (
    <NavLink to="/inbox">
      Inbox <UnreadBadge count={unread.total} text={unread.text} testId="inbox-unread" />
    </NavLink>
  );
}

/** The inbox's filters in the address bar: `?unread=1&mine=1&patient_id=<id>&status=open|closed`. */
export function inboxFiltersFromParams(params: URLSearchParams): ConversationFilters {
  const status = params.get('status') ?? '';
  return {
    ...NO_CONVERSATION_FILTERS,
    unread: params.get('unread') === '1',
    assignee: params.get('mine') === '1' ? 'me' : '',
    patient_id: params.get('patient_id') ?? '',
    status: status === 'open' || status === 'closed' ? (status as ConversationStatus) : '',
  };
}

export function inboxFiltersToParams(f: ConversationFilters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.unread) p.set('unread', '1');
  if (f.assignee === 'me') p.set('mine', '1');
  if (f.patient_id) p.set('patient_id', f.patient_id);
  if (f.status) p.set('status', f.status);
  return p;
}
