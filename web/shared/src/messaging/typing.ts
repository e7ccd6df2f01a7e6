/**
 * Typing indicators: the sender publishes `typing` (ephemeral, on `conversation:<id>`) at most
 * once per `TYPING_THROTTLE_MS` while the user types, and `typing: false` on send or clearing;
 * receivers show someone as typing until `TYPING_EXPIRY_MS` pass without a new event from them.
 * Times are passed in (ms), so all of this is pure.
 */
import type { TypingEvent, Uuid } from '../api/types';

export const TYPING_THROTTLE_MS = 2000;
/** Longer than the throttle, so a steady typist never flickers off. */
export const TYPING_EXPIRY_MS = 4000;

/** The sender's side: when to publish. */
export class TypingThrottle {
  private lastSent: number | null = null;

  constructor(private readonly intervalMs = TYPING_THROTTLE_MS) {}

  /** The user typed (the draft is not empty): true when `{typing: true}` should go out now. */
  input(now: number): boolean {
    if (this.lastSent !== null && now - this.lastSent < this.intervalMs) return false;
    this.lastSent = now;
    return true;
  }

  /**
   * The user sent, cleared the draft or left: true when `{typing: false}` should go out (others
   * may still show us as typing). Resets, so the next keystroke publishes at once.
   */
  stop(now: number): boolean {
    const showing = this.lastSent !== null && now - this.lastSent < TYPING_EXPIRY_MS;
    this.lastSent = null;
    return showing;
  }
}

export interface Typist {
  name: string;
  /** When to stop showing them (ms). */
  until: number;
}

/** Who is typing, by user id. */
export type TypingState = ReadonlyMap<Uuid, Typist>;

export const NO_TYPISTS: TypingState = new Map();

/** The state after a `typing` event (our own echoes are ignored). */
export function applyTyping(state: TypingState, event: Partial<TypingEvent>, now: number, myUserId: Uuid | null): TypingState {
  const id = event.user_id;
  if (!id || id === myUserId) return state;
  const next = new Map(state);
  if (event.typing === false) next.delete(id);
  else next.set(id, { name: event.name || 'Someone', until: now + TYPING_EXPIRY_MS });
  return next;
}

/** The state once `userId` sent a message (they stopped typing it). */
export function stopTyping(state: TypingState, userId: Uuid | null): TypingState {
  if (!userId || !state.has(userId)) return state;
  const next = new Map(state);
  next.delete(userId);
  return next;
}

/** Names of those typing now, in the order they started. */
export function activeTypists(state: TypingState, now: number): string[] {
  return [...state.values()].filter((t) => t.until > now).map((t) => t.name);
}

/** When the next typist expires (to re-render then), or null. */
export function nextTypingExpiry(state: TypingState, now: number): number | null {
  let next: number | null = null;
  for (const t of state.values()) if (t.until > now && (next === null || t.until < next)) next = t.until;
  return next;
}

/** "Sam Taylor is typing…", "Sam and Alex are typing…", "3 people are typing…", or `''`. */
export function typingText(names: readonly string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
