/**
 * The sign-in session: a Zustand store plus the API client wired to it.
 *
 * - The access token lives only in memory; the refresh token is also kept in sessionStorage so
 *   a reload of the tab resumes the session (`restore()`), while closing the tab ends it.
 * - Silent refresh: shortly before `expires_in` runs out, and once when a request is answered
 *   401. Refreshes are single-flight: the server rotates refresh tokens and treats a reused one
 *   as theft (revoking the family), so two concurrent refreshes must never both be sent.
 * - Idle logoff: after `idleMinutes` without user activity the session is ended locally (and
 *   revoked on the server, best effort) and the login screen says why.
 * - Role gate: each app names the roles it serves; anyone else is refused at login and the
 *   tokens just issued are revoked, so no session is kept.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { ApiClient } from '../api/client';
import { createQivrApi, type QivrApi } from '../api/endpoints';
import { ApiError } from '../api/errors';
import type { AuthUser, Role, TokenResponse } from '../api/types';
import { startIdleTimer, type IdleTimer } from './idle';

export type AuthStatus = 'restoring' | 'anonymous' | 'authenticated';

/** Why the login screen is shown again, so it can say so. */
export type SignedOutReason = 'inactivity' | 'expired' | null;

export interface AuthState {
  status: AuthStatus;
  user: AuthUser | null;
  /** Kept in memory only. */
  accessToken: string | null;
  /** Epoch milliseconds when `accessToken` expires. */
  expiresAt: number | null;
  signedOutReason: SignedOutReason;
  /** A message for the login screen (inactivity, expired session, a failed restore). */
  notice: string | null;
}

export interface MinimalStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface AuthConfig {
  /** Short app name, used to namespace storage (`clinic`, `portal`). */
  app: string;
  /** Roles this app serves. */
  allowedRoles: readonly Role[];
  /** Shown when someone with another role signs in. */
  roleRefusal: string;
  /** Idle logoff after this many minutes without activity (default 30; 0 disables). */
  idleMinutes?: number;
  basePath?: string;
  fetch?: typeof fetch;
  /** Default: `sessionStorage` in a browser, memory elsewhere. */
  storage?: MinimalStorage;
  /** Where activity is heard for idle logoff; default `window`. */
  activityTarget?: EventTarget | null;
}

export const DEFAULT_IDLE_MINUTES = 30;
export const INACTIVITY_NOTICE = 'You were signed out for inactivity. Please sign in again.';
export const EXPIRED_NOTICE = 'Your session has ended. Please sign in again.';

/** Refresh this long before the access token expires: a fifth of its life, at most a minute. */
export function refreshLeadMs(expiresInSeconds: number): number {
  return Math.min(60_000, (expiresInSeconds * 1000) / 5);
}

/** Retry a refresh that failed for a transient reason (network, 5xx) after this long. */
const REFRESH_RETRY_MS = 15_000;

export class RoleRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RoleRefusedError';
  }
}

export interface Auth {
  store: StoreApi<AuthState>;
  client: ApiClient;
  api: QivrApi;
  config: Readonly<Required<Pick<AuthConfig, 'app' | 'allowedRoles' | 'roleRefusal' | 'idleMinutes'>>>;
  /** Resume a session from the stored refresh token (call once at startup). */
  restore(): Promise<void>;
  /** Throws `ApiError` (bad credentials, lockout) or `RoleRefusedError`. */
  login(tenant: string, email: string, password: string): Promise<AuthUser>;
  /**
   * Sets an invited user's password and signs them in, as `login` does. Throws `ApiError` (404:
   * the link is invalid, used or expired; 422: the password) or `RoleRefusedError` (the password
   * is set, but this app does not serve the user's role).
   */
  acceptInvitation(token: string, password: string): Promise<AuthUser>;
  /** Ends the session here and revokes it on the server. */
  logout(): Promise<void>;
  /** Gets a new access token; single-flight. Resolves false if the session could not be kept. */
  refresh(): Promise<boolean>;
  /** What the idle timer calls. */
  signOutForInactivity(): void;
  clearNotice(): void;
  /** Stops timers (tests, hot reload). */
  dispose(): void;
}

function memoryStorage(): MinimalStorage {
  const m = new Map<string, string>();
  return {
    getItem: (k) => m.get(k) ?? null,
    setItem: (k, v) => void m.set(k, v),
    removeItem: (k) => void m.delete(k),
  };
}

function defaultStorage(): MinimalStorage {
  try {
    if (typeof sessionStorage !== 'undefined') return sessionStorage;
  } catch {
    // storage disabled by the browser: fall back to memory (no resume on reload)
  }
  return memoryStorage();
}

export function createAuth(cfg: AuthConfig): Auth {
  const config = {
    app: cfg.app,
    allowedRoles: cfg.allowedRoles,
    roleRefusal: cfg.roleRefusal,
    idleMinutes: cfg.idleMinutes ?? DEFAULT_IDLE_MINUTES,
  };
  const storage = cfg.storage ?? defaultStorage();
  const storageKey = `qivr.${cfg.app}.refresh_token`;

  const store = createStore<AuthState>()(() => ({
    status: storage.getItem(storageKey) ? 'restoring' : 'anonymous',
    user: null,
    accessToken: null,
    expiresAt: null,
    signedOutReason: null,
    notice: null,
  }));

  let refreshToken: string | null = storage.getItem(storageKey);
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  let refreshInFlight: Promise<boolean> | null = null;
  let idle: IdleTimer | null = null;
  /** Bumped whenever the session ends, so a refresh that was in flight cannot resurrect it. */
  let generation = 0;

  const client = new ApiClient({
    ...(cfg.basePath !== undefined ? { basePath: cfg.basePath } : {}),
    ...(cfg.fetch !== undefined ? { fetch: cfg.fetch } : {}),
    getAccessToken: () => store.getState().accessToken,
    onUnauthorized: async (usedToken) => {
      const current = store.getState().accessToken;
      if (current && current !== usedToken) return true; // someone refreshed meanwhile
      if (!refreshToken) return false;
      return refresh();
    },
  });
  const api = createQivrApi(client);

  function clearTimers() {
    if (refreshTimer !== null) clearTimeout(refreshTimer);
    refreshTimer = null;
    idle?.stop();
    idle = null;
  }

  function scheduleRefresh(delayMs: number) {
    if (refreshTimer !== null) clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      void refresh();
    }, Math.max(0, delayMs));
  }

  /** Starts idle logoff at the shorter of our setting and the server's own idle timeout, so a
   *  user is told they were signed out for inactivity rather than meeting a dead session. */
  function startIdle(serverIdleSecs: number) {
    if (idle || config.idleMinutes <= 0) return;
    const ours = config.idleMinutes * 60_000;
    const servers = Number.isFinite(serverIdleSecs) && serverIdleSecs > 0 ? serverIdleSecs * 1000 : ours;
    idle = startIdleTimer({
      timeoutMs: Math.min(ours, servers),
      onIdle: () => signOutForInactivity(),
      ...(cfg.activityTarget !== undefined ? { target: cfg.activityTarget } : {}),
    });
  }

  function setSession(t: TokenResponse) {
    refreshToken = t.refresh_token;
    try {
      storage.setItem(storageKey, t.refresh_token);
    } catch {
      // quota or privacy mode: the session still works, it just won't survive a reload
    }
    store.setState({
      status: 'authenticated',
      user: t.user,
      accessToken: t.access_token,
      expiresAt: Date.now() + t.expires_in * 1000,
      signedOutReason: null,
      notice: null,
    });
    scheduleRefresh(t.expires_in * 1000 - refreshLeadMs(t.expires_in));
    startIdle(t.idle_timeout_secs);
  }

  /** Forgets the session locally; returns the tokens it held so the caller may revoke them. */
  function endSession(reason: SignedOutReason, notice: string | null) {
    generation++;
    clearTimers();
    const held = { refreshToken, accessToken: store.getState().accessToken };
    refreshToken = null;
    try {
      storage.removeItem(storageKey);
    } catch {
      // nothing to remove
    }
    store.setState({
      status: 'anonymous',
      user: null,
      accessToken: null,
      expiresAt: null,
      signedOutReason: reason,
      notice,
    });
    return held;
  }

  function revoke(held: { refreshToken: string | null; accessToken: string | null }) {
    if (!held.refreshToken) return Promise.resolve();
    return api.auth.logout(held.refreshToken, held.accessToken ?? undefined).then(
      () => undefined,
      () => undefined, // best effort: the local session is gone either way
    );
  }

  function roleAllowed(user: AuthUser) {
    return config.allowedRoles.includes(user.role);
  }

  async function doRefresh(): Promise<boolean> {
    const gen = generation;
    const token = refreshToken;
    if (!token) return false;
    let t: TokenResponse;
    try {
      t = await api.auth.refresh(token);
    } catch (e) {
      if (gen !== generation) return false;
      const transient = !(e instanceof ApiError) || e.status === 0 || e.status >= 500 || e.status === 429;
      if (transient) {
        // Keep the session; try again soon unless the access token is already gone.
        if (store.getState().status === 'authenticated') scheduleRefresh(REFRESH_RETRY_MS);
        return false;
      }
      endSession('expired', EXPIRED_NOTICE);
      return false;
    }
    if (gen !== generation) {
      // Signed out while the refresh was in flight: revoke what we just got.
      void revoke({ refreshToken: t.refresh_token, accessToken: t.access_token });
      return false;
    }
    if (!roleAllowed(t.user)) {
      const held = endSession(null, config.roleRefusal);
      void revoke({ ...held, refreshToken: t.refresh_token, accessToken: t.access_token });
      return false;
    }
    setSession(t);
    return true;
  }

  function refresh(): Promise<boolean> {
    if (!refreshInFlight) {
      refreshInFlight = doRefresh().finally(() => {
        refreshInFlight = null;
      });
    }
    return refreshInFlight;
  }

  async function restore() {
    if (store.getState().status === 'authenticated') return;
    if (!refreshToken) {
      store.setState({ status: 'anonymous' });
      return;
    }
    store.setState({ status: 'restoring' });
    const gen = generation;
    const ok = await refresh();
    if (!ok && gen === generation && store.getState().status !== 'authenticated') {
      // A transient failure leaves the stored token for the next reload to try again.
      store.setState({
        status: 'anonymous',
        notice: store.getState().notice ?? 'Could not resume your session. Please sign in.',
      });
    }
  }

  /**
   * Takes over a session the server just issued (a login, an accepted invitation): refuses a
   * role this app does not serve (revoking the tokens), and ends any session from before.
   */
  function adoptSession(t: TokenResponse): AuthUser {
    if (!roleAllowed(t.user)) {
      void revoke({ refreshToken: t.refresh_token, accessToken: t.access_token });
      throw new RoleRefusedError(config.roleRefusal);
    }
    // A session from before (another user in this tab) ends without a trace.
    if (store.getState().status === 'authenticated') {
      const held = endSession(null, null);
      void revoke(held);
    }
    generation++;
    setSession(t);
    return t.user;
  }

  async function login(tenant: string, email: string, password: string): Promise<AuthUser> {
    const t = await api.auth.login({ tenant: tenant.trim(), email: email.trim(), password });
    return adoptSession(t);
  }

  async function acceptInvitation(token: string, password: string): Promise<AuthUser> {
    const t = await api.auth.acceptInvitation({ token, password });
    return adoptSession(t);
  }

  async function logout() {
    const held = endSession(null, null);
    await revoke(held);
  }

  function signOutForInactivity() {
    const held = endSession('inactivity', INACTIVITY_NOTICE);
    void revoke(held);
  }

  return {
    store,
    client,
    api,
    config,
    restore,
    login,
    acceptInvitation,
    logout,
    refresh,
    signOutForInactivity,
    clearNotice: () => store.setState({ notice: null, signedOutReason: null }),
    dispose: clearTimers,
  };
}
