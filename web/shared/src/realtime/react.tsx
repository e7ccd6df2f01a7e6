/**
 * React bindings of the realtime client: a provider per app, a hook that listens to a channel
 * while a component is mounted, and one that keeps the TanStack Query cache live from events.
 */
import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { useQueryClient, type QueryClient, type QueryKey } from '@tanstack/react-query';
import type { ChannelHandlers, RealtimeClient, RealtimeStatus } from './client';
import type { EventFrame, PresenceUser, RealtimeEvent } from './protocol';

const RealtimeContext = createContext<RealtimeClient | null>(null);

export function RealtimeProvider({ client, children }: { client: RealtimeClient; children: ReactNode }) {
  return <RealtimeContext.Provider value={client}>{children}</RealtimeContext.Provider>;
}

export function useRealtimeClient(): RealtimeClient {
  const client = useContext(RealtimeContext);
  if (!client) throw new Error('useRealtimeClient: wrap the app in <RealtimeProvider>');
  return client;
}

/** The connection's status, re-rendering on change. */
export function useRealtimeStatus(): RealtimeStatus {
  const client = useRealtimeClient();
  return useSyncExternalStore(
    (onChange) => client.onStatus(onChange),
    () => client.status,
  );
}

/**
 * Listens to `channel` while mounted (nothing when it is null). The handlers may change on
 * every render; the subscription follows only `channel`.
 */
export function useRealtime(channel: string | null | undefined, handlers: ChannelHandlers): void {
  const client = useRealtimeClient();
  const ref = useRef(handlers);
  useEffect(() => {
    ref.current = handlers;
  });
  useEffect(() => {
    if (!channel) return;
    return client.subscribe(channel, {
      onEvent: (event, frame) => ref.current.onEvent?.(event, frame),
      onSubscribed: (info) => ref.current.onSubscribed?.(info),
      onRecoveryFailed: (c) => ref.current.onRecoveryFailed?.(c),
      onPresence: (frame) => ref.current.onPresence?.(frame),
      onError: (error) => ref.current.onError?.(error),
    });
  }, [client, channel]);
}

export interface LiveCacheOptions {
  /** Applies one event to the Query cache (upsert into lists and details). */
  apply: (event: RealtimeEvent, queryClient: QueryClient, frame: EventFrame) => void;
  /**
   * Refetched when events may have been missed: after the first subscription (the REST read may
   * have raced it) and when the server could not replay a gap (`recovered: false`).
   */
  refetch: readonly QueryKey[];
}

/** Keeps the Query cache live from `channel` while mounted. */
export function useLiveCache(channel: string | null | undefined, { apply, refetch }: LiveCacheOptions): void {
  const queryClient = useQueryClient();
  const invalidate = () => {
    for (const queryKey of refetch) void queryClient.invalidateQueries({ queryKey });
  };
  useRealtime(channel, {
    onEvent: (event, frame) => apply(event, queryClient, frame),
    onSubscribed: (info) => {
      if (!info.resumed) invalidate();
    },
    onRecoveryFailed: invalidate,
  });
}

/** Who is on a presence channel, kept up to date from joins and leaves. */
export function usePresence(channel: string | null | undefined): PresenceUser[] {
  const client = useRealtimeClient();
  const [present, setPresent] = useState<PresenceUser[]>([]);
  const load = () => {
    if (!channel) return;
    client.presence(channel).then(setPresent, () => undefined);
  };
  useRealtime(channel, {
    onSubscribed: load,
    onPresence: (frame) => {
      setPresent((list) => {
        let next = list;
        if (frame.present) next = frame.present;
        if (frame.joined) next = [...next.filter((u) => !frame.joined!.some((j) => j.user_id === u.user_id)), ...frame.joined];
        if (frame.left) next = next.filter((u) => !frame.left!.some((l) => l.user_id === u.user_id));
        return next;
      });
    },
  });
  useEffect(() => {
    if (!channel) setPresent([]);
  }, [channel]);
  return present;
}

/** "Live" while the socket is open, otherwise says it is reconnecting. */
export function LiveStatus() {
  const status = useRealtimeStatus();
  const live = status === 'open';
  const label = live ? 'Live' : status === 'idle' ? 'Offline' : 'Reconnecting…';
  return (
    <span
      className={live ? 'live live--on' : 'live'}
      data-testid="live-status"
      data-status={status}
      role="status"
      title={live ? 'Updates arrive as they happen' : 'Updates resume when the connection is back'}
    >
      {label}
    </span>
  );
}
