import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { vi } from 'vitest';
import { ApiError } from '../src/api/errors';
import { EXPIRED_NOTICE, RoleRefusedError, createAuth, refreshLeadMs, type Auth } from '../src/auth/session';
import { fakeServer, json, memoryStorage, problem, tokens } from './fakeServer';

const KEY = 'qivr.clinic.refresh_token';
let auth: Auth | undefined;

function setup(routes: Parameters<typeof fakeServer>[0], storage = memoryStorage()) {
  const server = fakeServer(routes);
  auth = createAuth({
    app: 'clinic',
    allowedRoles: ['admin', 'staff'],
    roleRefusal: 'staff only',
    idleMinutes: 0,
    fetch: server.fetch,
    storage,
    activityTarget: null,
  });
  return { server, storage, auth };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  auth?.dispose();
  auth = undefined;
  vi.useRealTimers();
});

describe('login and logout', () => {
  it('keeps the access token in memory and the refresh token in session storage', async () => {
    const t = tokens('staff');
    const { auth, storage } = setup({ 'POST /api/v1/auth/login': () => json(t) });
    expect(auth.store.getState().status).toBe('anonymous');
    const user = await auth.login(' harbour-physio ', 'staff@harbour-physio.test', 'pw');
    expect(user.role).toBe('staff');
    const s = auth.store.getState();
    expect(s.status).toBe('authenticated');
    expect(s.accessToken).toBe(t.access_token);
    expect(storage.map.get(KEY)).toBe(t.refresh_token);
    expect([...storage.map.values()]).not.toContain(t.access_token);
  });

  it('sends the tenant slug, email and password to /auth/login', async () => {
    const { auth, server } = setup({ 'POST /api/v1/auth/login': () => json(tokens('staff')) });
    await auth.login('harbour-physio', 'staff@harbour-physio.test', 'secret');
    expect(server.calls[0]?.body).toEqual({ tenant: 'harbour-physio', email: 'staff@harbour-physio.test', password: 'secret' });
  });

  it('surfaces the lockout problem detail', async () => {
    const { auth } = setup({
      'POST /api/v1/auth/login': () => problem(429, { title: 'Too Many Requests', detail: 'Account locked for 15 minutes.' }),
    });
    const err = (await auth.login('t', 'e', 'p').catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.userMessage).toBe('Account locked for 15 minutes.');
    expect(auth.store.getState().status).toBe('anonymous');
  });

  it('refuses a role the app does not serve and revokes the tokens it was given', async () => {
    const t = tokens('patient');
    const { auth, server, storage } = setup({
      'POST /api/v1/auth/login': () => json(t),
      'POST /api/v1/auth/logout': () => new Response(null, { status: 204 }),
    });
    await expect(auth.login('t', 'patient1@x.test', 'p')).rejects.toBeInstanceOf(RoleRefusedError);
    await vi.advanceTimersByTimeAsync(0);
    expect(auth.store.getState().status).toBe('anonymous');
    expect(auth.store.getState().accessToken).toBeNull();
    expect(storage.map.has(KEY)).toBe(false);
    const logout = server.callsTo('POST', '/api/v1/auth/logout');
    expect(logout).toHaveLength(1);
    expect(logout[0]?.body).toEqual({ refresh_token: t.refresh_token });
  });

  it('logs out on the server with the refresh token and forgets everything locally', async () => {
    const t = tokens('staff');
    const { auth, server, storage } = setup({
      'POST /api/v1/auth/login': () => json(t),
      'POST /api/v1/auth/logout': () => new Response(null, { status: 204 }),
    });
    await auth.login('t', 'e', 'p');
    await auth.logout();
    const [call] = server.callsTo('POST', '/api/v1/auth/logout');
    expect(call?.body).toEqual({ refresh_token: t.refresh_token });
    expect(call?.headers['Authorization']).toBe(`Bearer ${t.access_token}`);
    expect(auth.store.getState()).toMatchObject({ status: 'anonymous', user: null, accessToken: null, notice: null });
    expect(storage.map.has(KEY)).toBe(false);
  });
});

describe('accepting an invitation', () => {
  it('sends the token and password without a bearer token and signs the user in', async () => {
    const t = tokens('staff');
    const { auth, server, storage } = setup({ 'POST /api/v1/auth/invitations/accept': () => json(t) });
    const user = await auth.acceptInvitation('tok.en', 'a long password');
    expect(user.role).toBe('staff');
    const [call] = server.callsTo('POST', '/api/v1/auth/invitations/accept');
    expect(call?.body).toEqual({ token: 'tok.en', password: 'a long password' });
    expect(call?.headers['Authorization']).toBeUndefined();
    expect(auth.store.getState()).toMatchObject({ status: 'authenticated', accessToken: t.access_token });
    expect(storage.map.get(KEY)).toBe(t.refresh_token);
  });

  it('surfaces a used or expired link as a 404 ApiError', async () => {
    const { auth } = setup({
      'POST /api/v1/auth/invitations/accept': () => problem(404, { title: 'Not Found', detail: 'invitation not found' }),
    });
    const err = (await auth.acceptInvitation('x', 'a long password').catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(404);
    expect(auth.store.getState().status).toBe('anonymous');
  });

  it('refuses a role the app does not serve and revokes the new session', async () => {
    const t = tokens('patient');
    const { auth, server, storage } = setup({
      'POST /api/v1/auth/invitations/accept': () => json(t),
      'POST /api/v1/auth/logout': () => new Response(null, { status: 204 }),
    });
    await expect(auth.acceptInvitation('x', 'a long password')).rejects.toBeInstanceOf(RoleRefusedError);
    await vi.advanceTimersByTimeAsync(0);
    expect(auth.store.getState().status).toBe('anonymous');
    expect(storage.map.has(KEY)).toBe(false);
    expect(server.callsTo('POST', '/api/v1/auth/logout')[0]?.body).toEqual({ refresh_token: t.refresh_token });
  });

  it('replaces a session the tab already holds and revokes it', async () => {
    const before = tokens('admin');
    const invited = tokens('staff');
    const { auth, server } = setup({
      'POST /api/v1/auth/login': () => json(before),
      'POST /api/v1/auth/invitations/accept': () => json(invited),
      'POST /api/v1/auth/logout': () => new Response(null, { status: 204 }),
    });
    await auth.login('t', 'admin@x.test', 'p');
    await auth.acceptInvitation('x', 'a long password');
    await vi.advanceTimersByTimeAsync(0);
    expect(auth.store.getState().accessToken).toBe(invited.access_token);
    expect(server.callsTo('POST', '/api/v1/auth/logout')[0]?.body).toEqual({ refresh_token: before.refresh_token });
  });
});

describe('silent refresh', () => {
  it('refreshes shortly before the access token expires', async () => {
    const first = tokens('staff', 900);
    const second = tokens('staff', 900);
    const { auth, server, storage } = setup({
      'POST /api/v1/auth/login': () => json(first),
      'POST /api/v1/auth/refresh': () => json(second),
    });
    await auth.login('t', 'e', 'p');
    const lead = refreshLeadMs(900);
    expect(lead).toBe(60_000);
    await vi.advanceTimersByTimeAsync(900_000 - lead - 1);
    expect(server.callsTo('POST', '/api/v1/auth/refresh')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    const calls = server.callsTo('POST', '/api/v1/auth/refresh');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toEqual({ refresh_token: first.refresh_token });
    expect(auth.store.getState().accessToken).toBe(second.access_token);
    expect(storage.map.get(KEY)).toBe(second.refresh_token);
  });

  it('keeps refreshing on schedule with the rotated token', async () => {
    const issued = [tokens('staff', 60), tokens('staff', 60), tokens('staff', 60)];
    let n = 0;
    const { auth, server } = setup({
      'POST /api/v1/auth/login': () => json(issued[0]),
      'POST /api/v1/auth/refresh': () => json(issued[++n]),
    });
    await auth.login('t', 'e', 'p');
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    const bodies = server.callsTo('POST', '/api/v1/auth/refresh').map((c) => c.body);
    expect(bodies).toEqual([{ refresh_token: issued[0]!.refresh_token }, { refresh_token: issued[1]!.refresh_token }]);
  });

  it('refreshes once on a 401 and retries the request, even for concurrent requests', async () => {
    const first = tokens('staff');
    const second = tokens('staff');
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const { auth, server } = setup({
      'POST /api/v1/auth/login': () => json(first),
      'POST /api/v1/auth/refresh': async () => {
        await gate;
        return json(second);
      },
      'GET /api/v1/me': (c) =>
        c.headers['Authorization'] === `Bearer ${second.access_token}`
          ? json({ id: 'u' })
          : problem(401, { title: 'Unauthorized' }),
    });
    await auth.login('t', 'e', 'p');
    const a = auth.api.me();
    const b = auth.api.me();
    await vi.advanceTimersByTimeAsync(0);
    release();
    await expect(Promise.all([a, b])).resolves.toEqual([{ id: 'u' }, { id: 'u' }]);
    // Rotation: a second refresh with the same token would look like theft to the server.
    expect(server.callsTo('POST', '/api/v1/auth/refresh')).toHaveLength(1);
  });

  it('ends the session when the refresh token is rejected', async () => {
    const { auth, storage } = setup({
      'POST /api/v1/auth/login': () => json(tokens('staff')),
      'POST /api/v1/auth/refresh': () => problem(401, { title: 'Unauthorized' }),
      'GET /api/v1/me': () => problem(401, { title: 'Unauthorized' }),
    });
    await auth.login('t', 'e', 'p');
    const err = (await auth.api.me().catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(401);
    expect(auth.store.getState()).toMatchObject({ status: 'anonymous', signedOutReason: 'expired', notice: EXPIRED_NOTICE });
    expect(storage.map.has(KEY)).toBe(false);
  });

  it('keeps the session through a transient refresh failure and tries again', async () => {
    let fail = true;
    const next = tokens('staff', 900);
    const { auth, server } = setup({
      'POST /api/v1/auth/login': () => json(tokens('staff', 900)),
      'POST /api/v1/auth/refresh': () => (fail ? problem(503, { title: 'Service Unavailable' }) : json(next)),
    });
    await auth.login('t', 'e', 'p');
    await vi.advanceTimersByTimeAsync(840_000);
    expect(auth.store.getState().status).toBe('authenticated');
    fail = false;
    await vi.advanceTimersByTimeAsync(15_000);
    expect(server.callsTo('POST', '/api/v1/auth/refresh')).toHaveLength(2);
    expect(auth.store.getState().accessToken).toBe(next.access_token);
  });

  it('resumes a session after a reload from the stored refresh token', async () => {
    const t = tokens('admin');
    const storage = memoryStorage({ [KEY]: 'stored-refresh' });
    const { auth, server } = setup({ 'POST /api/v1/auth/refresh': () => json(t) }, storage);
    expect(auth.store.getState().status).toBe('restoring');
    await auth.restore();
    expect(server.calls[0]?.body).toEqual({ refresh_token: 'stored-refresh' });
    expect(auth.store.getState()).toMatchObject({ status: 'authenticated', accessToken: t.access_token });
    expect(auth.store.getState().user?.role).toBe('admin');
  });

  it('shows the login screen when the stored refresh token is no longer valid', async () => {
    const storage = memoryStorage({ [KEY]: 'revoked' });
    const { auth } = setup({ 'POST /api/v1/auth/refresh': () => problem(401, { title: 'Unauthorized' }) }, storage);
    await auth.restore();
    expect(auth.store.getState().status).toBe('anonymous');
    expect(storage.map.has(KEY)).toBe(false);
  });
});
