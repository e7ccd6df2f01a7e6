import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RealtimeClient, type ChannelHandlers, type WebSocketLike } from '../src/realtime/client';
import { compareOffsets, type ClientFrame, type EventFrame } from '../src/realtime/protocol';

/** A scripted stand-in for the browser's WebSocket, driven by the test as the server. */
class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  sent: ClientFrame[] = [];
  closedByClient: number | undefined;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data) as ClientFrame);
  }
  close(code?: number) {
    this.closedByClient = code ?? 1000;
    this.readyState = 3;
  }
  // ---- the server's side ----
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  serverClose(code: number) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  /** Opens and answers the `auth` frame with `connected`. */
  accept() {
    this.open();
    const auth = this.sent.find((f) => f.op === 'auth');
    if (!auth) throw new Error('no auth frame');
    this.receive({ op: 'connected', id: auth.id, user: { id: 'u1', tenant_id: 't1', role: 'staff', email: 'e', name: 'N' }, expires_in: 900 });
  }
  frames<Op extends ClientFrame['op']>(op: Op): Extract<ClientFrame, { op: Op }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { op: Op }> => f.op === op);
  }
  /** Answers the latest `subscribe` for `channel`. */
  subscribed(channel: string, offset: string, epoch: string, recovered = false, events: EventFrame[] = []) {
    const req = this.frames('subscribe').filter((f) => f.channel === channel).at(-1);
    if (!req) throw new Error(`no subscribe for ${channel}`);
    this.receive({ op: 'subscribed', id: req.id, channel, offset, epoch, recovered, events });
  }
}

function eventFrame(channel: string, offset: string, id: string, data: unknown = {}, epoch = 'e1'): EventFrame {
  return { op: 'event', channel, offset, epoch, event: { id, kind: 'evaluation.updated', ts: '2026-01-01T00:00:00.000Z', data } };
}

function setup(opts: { token?: string | null; refresh?: () => Promise<string | null> } = {}) {
  const sockets: FakeSocket[] = [];
  let token: string | null = opts.token === undefined ? 'tok-1' : opts.token;
  const refreshToken = vi.fn(opts.refresh ?? (async () => (token = `tok-${Number(token?.split('-')[1] ?? 0) + 1}`)));
  const client = new RealtimeClient({
    url: 'ws://test/ws',
    getToken: () => token,
    refreshToken,
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    random: () => 0.5,
    backoff: { initialMs: 1000, maxMs: 8000, factor: 2 },
  });
  return {
    client,
    sockets,
    refreshToken,
    last: () => sockets[sockets.length - 1]!,
    setToken: (t: string | null) => (token = t),
  };
}

function recorder(): ChannelHandlers & { events: string[]; refetches: string[]; subscribedInfo: unknown[] } {
  const r = {
    events: [] as string[],
    refetches: [] as string[],
    subscribedInfo: [] as unknown[],
    onEvent: (e: { id: string }) => void r.events.push(e.id),
    onRecoveryFailed: (c: string) => void r.refetches.push(c),
    onSubscribed: (info: unknown) => void r.subscribedInfo.push(info),
  };
  return r;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('connecting', () => {
  it('sends auth first with the current token, then subscribes every channel', () => {
    const { client, last } = setup();
    client.subscribe('evaluations', {});
    client.start();
    expect(client.status).toBe('connecting');
    const ws = last();
    ws.open();
    expect(ws.sent).toHaveLength(1);
    expect(ws.sent[0]).toMatchObject({ op: 'auth', token: 'tok-1' });
    ws.receive({ op: 'connected', id: ws.sent[0]!.id, user: {}, expires_in: 900 });
    expect(client.status).toBe('open');
    expect(ws.frames('subscribe')).toEqual([{ op: 'subscribe', id: expect.any(Number), channel: 'evaluations' }]);
  });

  it('without a token asks for one, and waits for a sign-in if there is none', async () => {
    const { client, sockets, refreshToken, setToken } = setup({ token: null, refresh: async () => null });
    client.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(refreshToken).toHaveBeenCalledTimes(1);
    expect(sockets).toHaveLength(0);
    expect(client.status).toBe('idle');
    setToken('tok-9');
    client.tokenChanged();
    expect(sockets).toHaveLength(1);
  });
});

describe('backoff', () => {
  it('grows exponentially with jitter up to the cap', () => {
    const { client } = setup();
    // random = 0.5: half the base plus a quarter of it
    expect(client.backoffDelay(0)).toBe(750);
    expect(client.backoffDelay(1)).toBe(1500);
    expect(client.backoffDelay(2)).toBe(3000);
    expect(client.backoffDelay(3)).toBe(6000);
    expect(client.backoffDelay(10)).toBe(6000);
    const low = new RealtimeClient({ getToken: () => null, refreshToken: async () => null, url: 'x', random: () => 0 });
    const high = new RealtimeClient({ getToken: () => null, refreshToken: async () => null, url: 'x', random: () => 0.999999 });
    expect(low.backoffDelay(0)).toBe(250);
    expect(high.backoffDelay(0)).toBe(500);
  });

  it('waits longer after each failed attempt and resets after a connection that lasted', async () => {
    const { client, sockets, last } = setup();
    client.start();
    last().serverClose(1006);
    expect(client.status).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(749);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(2);
    last().serverClose(1006);
    await vi.advanceTimersByTimeAsync(1499);
    expect(sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(3);
    // This one connects and stays up for a while: the next drop starts from the first delay again.
    last().accept();
    await vi.advanceTimersByTimeAsync(10_000);
    last().serverClose(4500);
    await vi.advanceTimersByTimeAsync(750);
    expect(sockets).toHaveLength(4);
  });

  it('stop() closes the socket and does not reconnect', async () => {
    const { client, sockets, last } = setup();
    client.start();
    last().accept();
    client.stop();
    expect(sockets[0]!.closedByClient).toBe(1000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
    expect(client.status).toBe('idle');
  });
});

describe('recovery', () => {
  it('resubscribes with since = the last position seen, and delivers the replayed events', async () => {
    const { client, last } = setup();
    const r = recorder();
    client.subscribe('evaluations', r);
    client.start();
    last().accept();
    last().subscribed('evaluations', '4', 'e1');
    last().receive(eventFrame('evaluations', '5', 'ev-5'));
    last().receive(eventFrame('evaluations', '6', 'ev-6'));
    expect(r.events).toEqual(['ev-5', 'ev-6']);

    last().serverClose(4008);
    await vi.advanceTimersByTimeAsync(1000);
    last().accept();
    const resubscribe = last().frames('subscribe')[0]!;
    expect(resubscribe).toMatchObject({ channel: 'evaluations', since: { offset: '6', epoch: 'e1' } });
    last().subscribed('evaluations', '8', 'e1', true, [eventFrame('evaluations', '7', 'ev-7'), eventFrame('evaluations', '8', 'ev-8')]);
    expect(r.events).toEqual(['ev-5', 'ev-6', 'ev-7', 'ev-8']);
    expect(r.refetches).toEqual([]);
    expect(r.subscribedInfo.at(-1)).toMatchObject({ resumed: true, recovered: true });
    expect(client.position('evaluations')).toEqual({ offset: '8', epoch: 'e1' });
  });

  it('tells the app to refetch when the server could not recover the gap', async () => {
    const { client, last } = setup();
    const r = recorder();
    client.subscribe('user:u1', r);
    client.start();
    last().accept();
    last().subscribed('user:u1', '2', 'e1');
    expect(r.refetches).toEqual([]); // a first subscription is not a failed recovery
    expect(r.subscribedInfo.at(-1)).toMatchObject({ resumed: false });
    last().serverClose(1006);
    await vi.advanceTimersByTimeAsync(1000);
    last().accept();
    expect(last().frames('subscribe')[0]).toMatchObject({ since: { offset: '2', epoch: 'e1' } });
    last().subscribed('user:u1', '1', 'e2', false);
    expect(r.refetches).toEqual(['user:u1']);
    // The new epoch replaces the old position, even though its offset is lower.
    expect(client.position('user:u1')).toEqual({ offset: '1', epoch: 'e2' });
  });

  it('remembers a channel position after unsubscribing, so coming back resumes', () => {
    const { client, last } = setup();
    client.start();
    last().accept();
    const off = client.subscribe('evaluations', {});
    last().subscribed('evaluations', '3', 'e1');
    off();
    expect(last().frames('unsubscribe')).toMatchObject([{ channel: 'evaluations' }]);
    const r = recorder();
    client.subscribe('evaluations', r);
    expect(last().frames('subscribe').at(-1)).toMatchObject({ since: { offset: '3', epoch: 'e1' } });
  });

  it('drops duplicate events by id, including ones replayed in subscribed', async () => {
    const { client, last } = setup();
    const r = recorder();
    client.subscribe('evaluations', r);
    client.start();
    last().accept();
    last().subscribed('evaluations', '1', 'e1');
    last().receive(eventFrame('evaluations', '2', 'ev-a'));
    // The outbox relay re-publishes the same event (same id, a new offset).
    last().receive(eventFrame('evaluations', '3', 'ev-a'));
    last().receive(eventFrame('evaluations', '4', 'ev-b'));
    expect(r.events).toEqual(['ev-a', 'ev-b']);
    expect(client.position('evaluations')).toEqual({ offset: '4', epoch: 'e1' });
    last().serverClose(1006);
    await vi.advanceTimersByTimeAsync(1000);
    last().accept();
    last().subscribed('evaluations', '5', 'e1', true, [eventFrame('evaluations', '4', 'ev-b'), eventFrame('evaluations', '5', 'ev-c')]);
    expect(r.events).toEqual(['ev-a', 'ev-b', 'ev-c']);
  });
});

describe('tokens', () => {
  it('on refresh_required gets a fresh token and sends refresh', async () => {
    const { client, last, refreshToken } = setup();
    client.start();
    last().accept();
    last().receive({ op: 'refresh_required', expires_in: 60 });
    await vi.advanceTimersByTimeAsync(0);
    expect(refreshToken).toHaveBeenCalledTimes(1);
    const refresh = last().frames('refresh');
    expect(refresh).toEqual([{ op: 'refresh', id: expect.any(Number), token: 'tok-2' }]);
    last().receive({ op: 'refreshed', id: refresh[0]!.id, expires_in: 900 });
  });

  it('on refresh_required uses a token the app already refreshed', async () => {
    const { client, last, refreshToken, setToken } = setup();
    client.start();
    last().accept();
    setToken('tok-7');
    last().receive({ op: 'refresh_required', expires_in: 60 });
    await vi.advanceTimersByTimeAsync(0);
    expect(refreshToken).not.toHaveBeenCalled();
    expect(last().frames('refresh')).toMatchObject([{ token: 'tok-7' }]);
  });

  it('sends refresh when the app token changes', () => {
    const { client, last, setToken } = setup();
    client.start();
    last().accept();
    setToken('tok-3');
    client.tokenChanged();
    expect(last().frames('refresh')).toMatchObject([{ token: 'tok-3' }]);
  });

  it.each([4001, 4002])('on close %i refreshes the token, then reconnects with it', async (code) => {
    const { client, sockets, last, refreshToken } = setup();
    client.start();
    last().accept();
    last().serverClose(code);
    await vi.advanceTimersByTimeAsync(0);
    expect(refreshToken).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets).toHaveLength(2);
    last().open();
    expect(last().sent[0]).toMatchObject({ op: 'auth', token: 'tok-2' });
  });

  it('on 4001 with the session gone, stops trying', async () => {
    const { client, sockets, last, setToken } = setup({ refresh: async () => null });
    client.start();
    last().accept();
    setToken(null);
    last().serverClose(4001);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
    expect(client.status).toBe('idle');
  });
});

describe('presence and publish', () => {
  it('answers presence queries and passes joins and leaves to the channel', async () => {
    const { client, last } = setup();
    const joined: unknown[] = [];
    client.subscribe('presence', { onPresence: (f) => void joined.push(f) });
    client.start();
    const answer = client.presence('presence');
    last().accept();
    await vi.advanceTimersByTimeAsync(0);
    const req = last().frames('presence')[0]!;
    expect(req).toMatchObject({ channel: 'presence' });
    const alice = { user_id: 'a', name: 'Alice', role: 'staff' };
    last().receive({ op: 'presence', id: req.id, channel: 'presence', present: [alice] });
    await expect(answer).resolves.toEqual([alice]);
    last().receive({ op: 'presence', channel: 'presence', joined: [alice] });
    expect(joined).toEqual([{ op: 'presence', channel: 'presence', joined: [alice] }]);
  });

  it('publishes typing and surfaces errors', async () => {
    const { client, last } = setup();
    await expect(client.publish('conversation:c', 'typing')).rejects.toMatchObject({ code: 'disconnected' });
    client.start();
    last().accept();
    const sent = client.publish('conversation:c', 'typing', { typing: true });
    const req = last().frames('publish')[0]!;
    expect(req).toMatchObject({ channel: 'conversation:c', kind: 'typing', data: { typing: true } });
    last().receive({ op: 'error', id: req.id, code: 'forbidden', message: 'subscribe to the channel first' });
    await expect(sent).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('passes a refused subscription to the channel handlers', () => {
    const { client, last } = setup();
    const errors: string[] = [];
    client.subscribe('evaluations', { onError: (e) => void errors.push(`${e.code} ${e.channel}`) });
    client.start();
    last().accept();
    const req = last().frames('subscribe')[0]!;
    last().receive({ op: 'error', id: req.id, code: 'forbidden', message: 'not allowed' });
    expect(errors).toEqual(['forbidden evaluations']);
  });
});

describe('offsets', () => {
  it('compare as unsigned integers of any size', () => {
    expect(compareOffsets('9', '10')).toBe(-1);
    expect(compareOffsets('18446744073709551615', '18446744073709551614')).toBe(1);
    expect(compareOffsets('7', '7')).toBe(0);
  });
});
