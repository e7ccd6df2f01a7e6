/** One realtime client per app, driven by the app's session store. */
import type { Auth } from '../auth/session';
import { RealtimeClient, type RealtimeClientOptions } from './client';

/**
 * Creates the app's realtime client: it authenticates with the session's access token, gets
 * fresh ones through the session's single-flight refresh, connects while someone is signed in,
 * tells the socket about every new token, and forgets positions when the user changes.
 */
export function createRealtimeForAuth(
  auth: Auth,
  options: Omit<RealtimeClientOptions, 'getToken' | 'refreshToken'> = {},
): RealtimeClient {
  const client = new RealtimeClient({
    ...options,
    getToken: () => auth.store.getState().accessToken,
    refreshToken: async () => ((await auth.refresh()) ? auth.store.getState().accessToken : null),
  });
  let userId: string | null = null;
  const sync = () => {
    const s = auth.store.getState();
    const id = s.status === 'authenticated' ? (s.user?.id ?? null) : null;
    if (id !== userId) {
      client.stop();
      client.reset();
      userId = id;
    }
    if (id) {
      client.start();
      client.tokenChanged();
    }
  };
  auth.store.subscribe(sync);
  sync();
  if (typeof window !== 'undefined') window.addEventListener('online', () => client.reconnectNow());
  return client;
}
