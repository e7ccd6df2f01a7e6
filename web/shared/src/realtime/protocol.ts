/**
 * Realtime protocol v1 on the wire (DESIGN.md §6; the server side is `realtime/src/protocol.rs`).
 * JSON text frames, one object each; client requests carry an `id` that the reply echoes.
 */
import type { Uuid } from '../api/types';

/** A client's position in a channel: what the server last sent, passed back as `since`. */
export interface StreamPosition {
  /** A decimal u64 as a string; compare with `compareOffsets`, never as numbers. */
  offset: string;
  /** One unbroken history; a new epoch means positions from before cannot be recovered. */
  epoch: string;
}

/** What every publisher sends, under `event`. `id` is stable across re-publication. */
export interface RealtimeEvent<D = unknown> {
  id: Uuid;
  kind: string;
  ts: string;
  data: D;
}

/** Someone present on a channel (presence answers and changes). */
export interface PresenceUser {
  user_id: Uuid;
  name: string;
  role: string;
}

/** The user in `connected`, shaped like the REST login's `user`. */
export interface ConnectedUser {
  id: Uuid;
  tenant_id: Uuid;
  role: string;
  email: string;
  name: string;
}

// ---- client → server -------------------------------------------------------------------

export type ClientFrame =
  | { op: 'auth'; id: number; token: string }
  | { op: 'subscribe'; id: number; channel: string; since?: StreamPosition }
  | { op: 'unsubscribe'; id: number; channel: string }
  | { op: 'publish'; id: number; channel: string; kind: string; data: Record<string, unknown> }
  | { op: 'presence'; id: number; channel: string }
  | { op: 'refresh'; id: number; token: string };

// ---- server → client -------------------------------------------------------------------

export interface ConnectedFrame {
  op: 'connected';
  id: number | null;
  user: ConnectedUser;
  expires_in: number;
}

/** A published event. Ephemeral events (typing) have no `offset`/`epoch`. */
export interface EventFrame<D = unknown> {
  op: 'event';
  channel: string;
  offset?: string;
  epoch?: string;
  event: RealtimeEvent<D>;
}

export interface SubscribedFrame {
  op: 'subscribed';
  id: number | null;
  channel: string;
  offset: string;
  epoch: string;
  /** `false` after a `since` means history could not cover the gap: refetch over REST. */
  recovered: boolean;
  /** Missed events, oldest first, each exactly the `event` frame it would have been. */
  events: EventFrame[];
}

export interface UnsubscribedFrame {
  op: 'unsubscribed';
  id: number | null;
  channel: string;
}

export interface PublishedFrame {
  op: 'published';
  id: number | null;
  channel: string;
}

/** An answer to a `presence` request (`present`, with `id`) or a change (`joined` / `left`). */
export interface PresenceFrame {
  op: 'presence';
  id?: number | null;
  channel: string;
  present?: PresenceUser[];
  joined?: PresenceUser[];
  left?: PresenceUser[];
}

export interface RefreshedFrame {
  op: 'refreshed';
  id: number | null;
  expires_in: number;
}

export interface RefreshRequiredFrame {
  op: 'refresh_required';
  expires_in: number;
}

export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'rate_limited'
  /** Not in DESIGN §6's list: the hub could not reach its broker; the request may be retried. */
  | 'unavailable';

export interface ErrorFrame {
  op: 'error';
  id: number | null;
  code: ErrorCode;
  message: string;
  /** Set when the error concerns a channel outside any request (access withdrawn). */
  channel?: string;
}

export type ServerFrame =
  | ConnectedFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | PublishedFrame
  | EventFrame
  | PresenceFrame
  | RefreshedFrame
  | RefreshRequiredFrame
  | ErrorFrame;

/** WebSocket close codes of protocol v1. */
export const CloseCode = {
  /** Bad or missing token, auth timeout, revoked session. */
  Unauthorized: 4001,
  /** The access token expired without a `refresh`. */
  TokenExpired: 4002,
  /** The client fell behind: reconnect and subscribe with `since`. */
  SlowConsumer: 4008,
  RateLimited: 4029,
  /** The server is shutting down: reconnect (elsewhere) and recover. */
  ShuttingDown: 4500,
} as const;

/** Compares two offsets (decimal u64 strings) without losing precision. */
export function compareOffsets(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Channel names as clients use them (the hub scopes them to the connection's tenant). */
export const channels = {
  evaluations: 'evaluations',
  appointments: 'appointments',
  presence: 'presence',
  inbox: 'inbox',
  proms: 'proms',
  records: 'records',
  user: (userId: Uuid) => `user:${userId}`,
  conversation: (conversationId: Uuid) => `conversation:${conversationId}`,
} as const;
