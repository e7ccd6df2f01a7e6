import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startIdleTimer } from '../src/auth/idle';
import { INACTIVITY_NOTICE, createAuth } from '../src/auth/session';
import { fakeServer, json, memoryStorage, tokens } from './fakeServer';

const MINUTE = 60_000;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('idle timer', () => {
  it('fires once after the timeout without activity', () => {
    const target = new EventTarget();
    const onIdle = vi.fn();
    startIdleTimer({ timeoutMs: 30 * MINUTE, onIdle, target });
    vi.advanceTimersByTime(30 * MINUTE - 1);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onIdle).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60 * MINUTE);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('is pushed back by user activity', () => {
    const target = new EventTarget();
    const onIdle = vi.fn();
    const timer = startIdleTimer({ timeoutMs: 30 * MINUTE, onIdle, target });
    vi.advanceTimersByTime(20 * MINUTE);
    target.dispatchEvent(new Event('keydown'));
    vi.advanceTimersByTime(20 * MINUTE);
    expect(onIdle).not.toHaveBeenCalled();
    expect(timer.remaining()).toBe(10 * MINUTE);
    target.dispatchEvent(new Event('mousemove'));
    vi.advanceTimersByTime(29 * MINUTE);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1 * MINUTE);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('signs out at once when the tab wakes up after the timeout', () => {
    const target = new EventTarget();
    const onIdle = vi.fn();
    startIdleTimer({ timeoutMs: 30 * MINUTE, onIdle, target });
    // The machine slept: the clock jumped but no timer ran.
    vi.setSystemTime(Date.now() + 45 * MINUTE);
    target.dispatchEvent(new Event('visibilitychange'));
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('stops listening when stopped', () => {
    const target = new EventTarget();
    const onIdle = vi.fn();
    const timer = startIdleTimer({ timeoutMs: MINUTE, onIdle, target });
    timer.stop();
    vi.advanceTimersByTime(10 * MINUTE);
    expect(onIdle).not.toHaveBeenCalled();
  });
});

describe('idle logoff', () => {
  function setup(idleMinutes?: number, serverIdleSecs?: number) {
    const target = new EventTarget();
    const storage = memoryStorage();
    const server = fakeServer({
      'POST /api/v1/auth/login': () => json(tokens('staff', 900, serverIdleSecs)),
      'POST /api/v1/auth/refresh': () => json(tokens('staff', 900, serverIdleSecs)),
      'POST /api/v1/auth/logout': () => new Response(null, { status: 204 }),
    });
    const auth = createAuth({
      app: 'clinic',
      allowedRoles: ['staff'],
      roleRefusal: 'staff only',
      ...(idleMinutes !== undefined ? { idleMinutes } : {}),
      fetch: server.fetch,
      storage,
      activityTarget: target,
    });
    return { auth, server, storage, target };
  }

  it('signs out after 30 idle minutes by default, says why, and revokes the session', async () => {
    const { auth, server, storage } = setup();
    await auth.login('t', 'e', 'p');
    await vi.advanceTimersByTimeAsync(30 * MINUTE - 1);
    expect(auth.store.getState().status).toBe('authenticated');
    await vi.advanceTimersByTimeAsync(1);
    expect(auth.store.getState()).toMatchObject({
      status: 'anonymous',
      user: null,
      accessToken: null,
      signedOutReason: 'inactivity',
      notice: INACTIVITY_NOTICE,
    });
    expect(storage.map.size).toBe(0);
    expect(server.callsTo('POST', '/api/v1/auth/logout')).toHaveLength(1);
    auth.dispose();
  });

  it('silent refreshes do not keep an idle session alive, activity does', async () => {
    const { auth, target } = setup(5);
    await auth.login('t', 'e', 'p');
    for (let i = 0; i < 8; i++) {
      await vi.advanceTimersByTimeAsync(4 * MINUTE);
      target.dispatchEvent(new Event('pointerdown'));
    }
    expect(auth.store.getState().status).toBe('authenticated');
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    expect(auth.store.getState().signedOutReason).toBe('inactivity');
    auth.dispose();
  });

  it("never waits longer than the server's own idle timeout", async () => {
    const { auth } = setup(30, 10 * 60);
    await auth.login('t', 'e', 'p');
    await vi.advanceTimersByTimeAsync(10 * MINUTE - 1);
    expect(auth.store.getState().status).toBe('authenticated');
    await vi.advanceTimersByTimeAsync(1);
    expect(auth.store.getState().signedOutReason).toBe('inactivity');
    auth.dispose();
  });

  it('can be configured and a new login clears the notice', async () => {
    const { auth } = setup(1);
    await auth.login('t', 'e', 'p');
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(auth.store.getState().signedOutReason).toBe('inactivity');
    await auth.login('t', 'e', 'p');
    expect(auth.store.getState()).toMatchObject({ status: 'authenticated', signedOutReason: null, notice: null });
    auth.dispose();
  });
});
