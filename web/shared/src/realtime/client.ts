/**
 * The realtime client: one WebSocket to `/ws` per app (DESIGN.md §6, protocol v1).
 *
 * - Authenticates with the current access token as the first frame, and keeps the socket's
 *   session alive with `refresh` (on `refresh_required`, and whenever the app's token changes).
 * - Reconnects on its own with jittered exponential backoff, and resubscribes every channel
 *   with `since` = the last position it saw, so missed events are replayed by the server.
 *   When the server cannot (`recovered: false`), the channel's handlers are told to refetch.
 * - Close codes: 4001/4002 get a fresh token first (or stop if the session is gone), the others
 *   (4008 slow consumer, 4500 shutdown, network loss) reconnect and recover.
 * - Drops duplicate events by `event.id` (the outbox relay may publish an event twice).
 *
 * Positions are remembered per channel even after the last handler unsubscribes, so coming
 * back to a page resubscribes with `since` and replays what happened meanwhile.
 */
import {
  CloseCode,
  compareOffsets,
  type ClientFrame,
  type ConnectedUser,
  type ErrorCode,
  type EventFrame,
  type PresenceFrame,
  type PresenceUser,
  type RealtimeEvent,
  type ServerFrame,
  type StreamPosition,
  type SubscribedFrame,
} from './protocol';

/** The part of the browser's `WebSocket` the client uses (tests pass a fake). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export type RealtimeStatus =
  /** Not started, stopped, or waiting for a session. */
  | 'idle'
  /** Opening the socket or authenticating. */
  | 'connecting'
  | 'open'
  /** Lost the connection; trying again after a backoff delay. */
  | 'reconnecting';

export interface BackoffOptions {
  /** First delay (before jitter); default 500 ms. */
  initialMs?: number;
  /** Cap; default 30 s. */
  maxMs?: number;
  /** Growth per failed attempt; default 2. */
  factor?: number;
}

export interface RealtimeClientOptions {
  /** Default: `/ws` on the page's own origin (`ws:` or `wss:`). */
  url?: string | (() => string);
  /** The current access token, or null when signed out. */
  getToken: () => string | null;
  /**
   * Gets a fresh access token (the app's single-flight refresh). Resolves null when none could
   * be had; if `getToken()` is null too, the session is over and the client stops trying.
   */
  refreshToken: () => Promise<string | null>;
  createSocket?: WebSocketFactory;
  backoff?: BackoffOptions;
  /** For tests: the jitter's randomness, in [0, 1). */
  random?: () => number;
  /** How many recent event ids are remembered to drop duplicates; default 1000. */
  dedupeSize?: number;
  /** Requests (presence, publish, refresh) fail after this long; default 10 s. */
  requestTimeoutMs?: number;
  /** A socket that is not open and authenticated by then is dropped and retried; default 15 s. */
  connectTimeoutMs?: number;
  /** A connection that lasted this long resets the backoff; default 5 s. */
  stableAfterMs?: number;
}

/** What a channel's subscriber wants to hear about. Every callback is optional. */
export interface ChannelHandlers {
  /** A new event (never one already delivered). */
  onEvent?(event: RealtimeEvent, frame: EventFrame): void;
  /**
   * The channel is subscribed. `resumed` says whether the client asked with `since`; when it
   * did, `recovered` says whether every missed event was replayed (they were delivered first).
   */
  onSubscribed?(info: { channel: string; resumed: boolean; recovered: boolean; position: StreamPosition }): void;
  /** The server could not replay what was missed (`recovered: false` after a `since`): refetch over REST. */
  onRecoveryFailed?(channel: string): void;
  /** Presence changes (`joined` / `left`) on channels that keep presence. */
  onPresence?(frame: PresenceFrame): void;
  /** The subscription was refused, or access to the channel was withdrawn. */
  onError?(error: RealtimeError): void;
}

export class RealtimeError extends Error {
  /** A protocol error code, or `disconnected` / `timeout` from the client itself. */
  readonly code: ErrorCode | 'disconnected' | 'timeout';
  readonly channel: string | undefined;
  constructor(code: RealtimeError['code'], message: string, channel?: string) {
    super(message);
    this.name = 'RealtimeError';
    this.code = code;
    this.channel = channel;
  }
}

type Listener<T> = (value: T) => void;

interface ChannelState {
  handlers: Set<ChannelHandlers>;
  /** The id of the subscribe request in flight, if any. */
  subscribeId: number | null;
  /** The `since` that request carried. */
  sentSince: StreamPosition | null;
  subscribed: boolean;
  retryTimer: ReturnType<typeof setTimeout> | null;
}

interface Pending {
  resolve: (frame: ServerFrame) => void;
  reject: (error: RealtimeError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** A set of recent keys that forgets the oldest past its capacity. */
class RecentSet {
  private readonly keys = new Map<string, true>();
  constructor(private readonly capacity: number) {}
  /** Adds `key`; false if it was already there. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.set(key, true);
    if (this.keys.size > this.capacity) {
      const oldest = this.keys.keys().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return true;
  }
  clear() {
    this.keys.clear();
  }
}

/** How many channels' positions are remembered. */
const MAX_POSITIONS = 500;
const OPEN = 1;

function defaultUrl(): string {
  if (typeof location === 'undefined') throw new Error('RealtimeClient: pass `url` outside a browser');
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}

export class RealtimeClient {
  private readonly options: Required<Omit<RealtimeClientOptions, 'url' | 'backoff'>> & { backoff: Required<BackoffOptions> };
  private readonly url: () => string;

  private started = false;
  private ws: WebSocketLike | null = null;
  private authId: number | null = null;
  /** The token the current socket is authenticated with. */
  private socketToken: string | null = null;
  private connectedAt: number | null = null;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private connecting = false;
  private refreshing = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly channelStates = new Map<string, ChannelState>();
  private readonly positions = new Map<string, StreamPosition>();
  private readonly seen: RecentSet;
  private statusValue: RealtimeStatus = 'idle';
  private userValue: ConnectedUser | null = null;
  private readonly statusListeners = new Set<Listener<RealtimeStatus>>();
  private openWaiters: { resolve: () => void; reject: (e: RealtimeError) => void }[] = [];

  constructor(options: RealtimeClientOptions) {
    const url = options.url;
    this.url = typeof url === 'function' ? url : url !== undefined ? () => url : defaultUrl;
    this.options = {
      getToken: options.getToken,
      refreshToken: options.refreshToken,
      createSocket: options.createSocket ?? ((u) => new WebSocket(u) as unknown as WebSocketLike),
      random: options.random ?? Math.random,
      dedupeSize: options.dedupeSize ?? 1000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      stableAfterMs: options.stableAfterMs ?? 5_000,
      backoff: {
        initialMs: options.backoff?.initialMs ?? 500,
        maxMs: options.backoff?.maxMs ?? 30_000,
        factor: options.backoff?.factor ?? 2,
      },
    };
    this.seen = new RecentSet(this.options.dedupeSize);
  }

  // ---- lifecycle ----------------------------------------------------------------------

  get status(): RealtimeStatus {
    return this.statusValue;
  }

  /** Who the socket is authenticated as (from `connected`), while open. */
  get user(): ConnectedUser | null {
    return this.userValue;
  }

  onStatus(listener: Listener<RealtimeStatus>): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Connects (when a token is available) and stays connected until `stop()`. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.attempt = 0;
    void this.connect();
  }

  /** Disconnects and stops reconnecting. Subscriptions stay registered for the next `start()`. */
  stop(): void {
    this.started = false;
    this.clearTimer('reconnect');
    this.clearTimer('connect');
    const ws = this.ws;
    this.dropSocket(new RealtimeError('disconnected', 'the realtime connection was stopped'));
    ws?.close(1000, 'client stopped');
    this.setStatus('idle');
  }

  /** Forgets positions and seen events (another user signs in). */
  reset(): void {
    this.positions.clear();
    this.seen.clear();
  }

  /**
   * The app's access token changed (a silent refresh, or a new sign-in): an open socket is
   * told with `refresh`; a started client that was waiting for a token connects now.
   */
  tokenChanged(): void {
    const token = this.options.getToken();
    if (!this.started || !token) return;
    if (this.statusValue === 'open') {
      if (token !== this.socketToken) void this.sendRefresh(token);
    } else if (!this.ws && !this.connecting && this.reconnectTimer === null) {
      void this.connect();
    }
  }

  /** Skips the backoff wait (the browser came back online). */
  reconnectNow(): void {
    if (!this.started || this.reconnectTimer === null) return;
    this.clearTimer('reconnect');
    void this.connect();
  }

  /** The delay before reconnect attempt `attempt` (0-based): exponential, capped, half jittered. */
  backoffDelay(attempt: number): number {
    const { initialMs, maxMs, factor } = this.options.backoff;
    const base = Math.min(maxMs, initialMs * Math.pow(factor, attempt));
    return Math.round(base / 2 + this.options.random() * (base / 2));
  }

  // ---- channels -----------------------------------------------------------------------

  /**
   * Listens to `channel` until the returned function is called. Several subscribers of one
   * channel share one subscription on the wire.
   */
  subscribe(channel: string, handlers: ChannelHandlers): () => void {
    let state = this.channelStates.get(channel);
    if (!state) {
      state = { handlers: new Set(), subscribeId: null, sentSince: null, subscribed: false, retryTimer: null };
      this.channelStates.set(channel, state);
      if (this.statusValue === 'open') this.sendSubscribe(channel, state);
    } else if (state.subscribed && handlers.onSubscribed) {
      // Joining a live subscription: it is as good as a fresh one for this subscriber.
      const position = this.positions.get(channel);
      if (position) {
        const info = { channel, resumed: false, recovered: false, position };
        queueMicrotask(() => {
          if (state?.handlers.has(handlers)) safely(() => handlers.onSubscribed?.(info));
        });
      }
    }
    state.handlers.add(handlers);
    return () => this.release(channel, handlers);
  }

  /** The last position seen on `channel` (what a resubscribe sends as `since`). */
  position(channel: string): StreamPosition | undefined {
    return this.positions.get(channel);
  }

  /** Who is on a presence channel (`presence`, `conversation:<id>`) now. Waits for the connection. */
  async presence(channel: string): Promise<PresenceUser[]> {
    await this.whenOpen();
    const frame = await this.request({ op: 'presence', channel });
    return frame.op === 'presence' ? (frame.present ?? []) : [];
  }

  /** Sends an ephemeral event (typing) to a subscribed conversation; fails when not connected. */
  async publish(channel: string, kind: string, data: Record<string, unknown> = {}): Promise<void> {
    if (this.statusValue !== 'open') throw new RealtimeError('disconnected', 'not connected');
    await this.request({ op: 'publish', channel, kind, data });
  }

  // ---- internals: connection ----------------------------------------------------------

  private setStatus(status: RealtimeStatus) {
    if (status === this.statusValue) return;
    this.statusValue = status;
    for (const l of [...this.statusListeners]) safely(() => l(status));
  }

  private clearTimer(which: 'reconnect' | 'connect') {
    const key = which === 'reconnect' ? 'reconnectTimer' : 'connectTimer';
    const timer = this[key];
    if (timer !== null) clearTimeout(timer);
    this[key] = null;
  }

  private async connect(): Promise<void> {
    if (!this.started || this.ws || this.connecting) return;
    this.connecting = true;
    let token = this.options.getToken();
    if (!token) {
      try {
        token = await this.options.refreshToken();
      } catch {
        token = null;
      }
    }
    this.connecting = false;
    if (!this.started || this.ws) return;
    if (!token) {
      // No session: wait for `tokenChanged()` (a sign-in) rather than retrying.
      this.setStatus('idle');
      return;
    }
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws: WebSocketLike;
    try {
      ws = this.options.createSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.socketToken = token;
    this.authId = null;
    this.connectedAt = null;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = null;
      if (this.ws === ws && this.statusValue !== 'open') {
        ws.close(4000, 'connect timeout');
        this.onClose(ws, 4000);
      }
    }, this.options.connectTimeoutMs);
    ws.onopen = () => {
      if (this.ws !== ws) return;
      const id = this.takeId();
      this.authId = id;
      this.sendFrame({ op: 'auth', id, token });
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws || typeof ev.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(ev.data) as ServerFrame;
      } catch {
        return;
      }
      if (frame && typeof frame === 'object' && typeof frame.op === 'string') this.onFrame(frame);
    };
    ws.onclose = (ev) => this.onClose(ws, ev.code);
    ws.onerror = () => {
      // a close event follows
    };
  }

  /** Forgets the current socket: pending requests fail, channels wait to be resubscribed. */
  private dropSocket(error: RealtimeError) {
    const ws = this.ws;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    }
    this.ws = null;
    this.userValue = null;
    this.socketToken = null;
    this.refreshing = false;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(error);
    }
    for (const state of this.channelStates.values()) {
      state.subscribed = false;
      state.subscribeId = null;
      if (state.retryTimer !== null) clearTimeout(state.retryTimer);
      state.retryTimer = null;
    }
    if (!this.started) {
      for (const w of this.openWaiters.splice(0)) w.reject(error);
    }
  }

  private onClose(ws: WebSocketLike, code: number) {
    if (this.ws !== ws) return;
    this.clearTimer('connect');
    const stable = this.connectedAt !== null && Date.now() - this.connectedAt >= this.options.stableAfterMs;
    if (stable) this.attempt = 0;
    this.dropSocket(new RealtimeError('disconnected', `connection closed (${code})`));
    if (!this.started) {
      this.setStatus('idle');
      return;
    }
    if (code === CloseCode.Unauthorized || code === CloseCode.TokenExpired) {
      void this.reauthenticate();
      return;
    }
    this.scheduleReconnect();
  }

  /** After 4001/4002: a fresh token, then reconnect; if the session is gone, stop trying. */
  private async reauthenticate() {
    this.setStatus('reconnecting');
    let token: string | null = null;
    try {
      token = await this.options.refreshToken();
    } catch {
      token = null;
    }
    if (!this.started) return;
    if (!token && !this.options.getToken()) {
      this.setStatus('idle');
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect() {
    if (!this.started || this.reconnectTimer !== null) return;
    const delay = this.backoffDelay(this.attempt);
    this.attempt++;
    this.setStatus('reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
  }

  private takeId(): number {
    return this.nextId++;
  }

  private sendFrame(frame: ClientFrame): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  private whenOpen(): Promise<void> {
    if (this.statusValue === 'open') return Promise.resolve();
    if (!this.started) return Promise.reject(new RealtimeError('disconnected', 'not connected'));
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      this.openWaiters.push(waiter);
      setTimeout(() => {
        const i = this.openWaiters.indexOf(waiter);
        if (i >= 0) {
          this.openWaiters.splice(i, 1);
          reject(new RealtimeError('timeout', 'not connected'));
        }
      }, this.options.requestTimeoutMs);
    });
  }

  /** Sends a request and resolves with the frame that answers it (an `error` rejects). */
  private request(frame: DistributiveOmit<ClientFrame, 'id'>): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      const id = this.takeId();
      if (!this.sendFrame({ ...frame, id } as ClientFrame)) {
        reject(new RealtimeError('disconnected', 'not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RealtimeError('timeout', `no answer to ${frame.op}`));
      }, this.options.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  private async sendRefresh(token: string) {
    try {
      await this.request({ op: 'refresh', token });
      this.socketToken = token;
    } catch {
      // Refused or not answered: the server closes with 4002 at expiry, and we reconnect then.
    }
  }

  /** `refresh_required`: use the app's newer token if it has one, else get one. */
  private async onRefreshRequired() {
    if (this.refreshing) return;
    this.refreshing = true;
    const ws = this.ws;
    try {
      let token = this.options.getToken();
      if (!token || token === this.socketToken) token = await this.options.refreshToken();
      if (token && this.ws === ws && this.statusValue === 'open') await this.sendRefresh(token);
    } catch {
      // see sendRefresh
    } finally {
      if (this.ws === ws) this.refreshing = false;
    }
  }

  // ---- internals: frames --------------------------------------------------------------

  private onFrame(frame: ServerFrame) {
    switch (frame.op) {
      case 'connected':
        if (frame.id !== this.authId) return;
        this.clearTimer('connect');
        this.connectedAt = Date.now();
        this.userValue = frame.user;
        this.setStatus('open');
        for (const [channel, state] of this.channelStates) this.sendSubscribe(channel, state);
        for (const w of this.openWaiters.splice(0)) w.resolve();
        return;
      case 'subscribed':
        this.onSubscribed(frame);
        return;
      case 'event':
        this.onEvent(frame);
        return;
      case 'presence':
        if (frame.id != null && this.settle(frame.id, frame)) return;
        this.channelStates.get(frame.channel)?.handlers.forEach((h) => safely(() => h.onPresence?.(frame)));
        return;
      case 'refresh_required':
        void this.onRefreshRequired();
        return;
      case 'error':
        this.onError(frame.id, new RealtimeError(frame.code, frame.message, frame.channel));
        return;
      default:
        if ('id' in frame && frame.id != null) this.settle(frame.id, frame);
    }
  }

  /** Resolves the request `id`; false if none was waiting. */
  private settle(id: number, frame: ServerFrame): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    clearTimeout(p.timer);
    this.pending.delete(id);
    p.resolve(frame);
    return true;
  }

  private sendSubscribe(channel: string, state: ChannelState) {
    const id = this.takeId();
    const since = this.positions.get(channel) ?? null;
    state.subscribeId = id;
    state.sentSince = since;
    state.subscribed = false;
    this.sendFrame(since ? { op: 'subscribe', id, channel, since } : { op: 'subscribe', id, channel });
  }

  private release(channel: string, handlers: ChannelHandlers) {
    const state = this.channelStates.get(channel);
    if (!state || !state.handlers.delete(handlers) || state.handlers.size > 0) return;
    this.channelStates.delete(channel);
    if (state.retryTimer !== null) clearTimeout(state.retryTimer);
    if (this.statusValue === 'open' && (state.subscribed || state.subscribeId !== null)) {
      this.request({ op: 'unsubscribe', channel }).catch(() => undefined);
    }
  }

  private remember(channel: string, position: StreamPosition) {
    const known = this.positions.get(channel);
    if (known && known.epoch === position.epoch && compareOffsets(position.offset, known.offset) <= 0) return;
    this.positions.delete(channel);
    this.positions.set(channel, { offset: position.offset, epoch: position.epoch });
    if (this.positions.size > MAX_POSITIONS) {
      const oldest = this.positions.keys().next().value;
      if (oldest !== undefined) this.positions.delete(oldest);
    }
  }

  private onSubscribed(frame: SubscribedFrame) {
    const state = this.channelStates.get(frame.channel);
    if (!state || state.subscribeId !== frame.id) return; // an answer to a request we no longer care about
    state.subscribeId = null;
    state.subscribed = true;
    for (const missed of frame.events ?? []) this.onEvent(missed);
    const position = { offset: frame.offset, epoch: frame.epoch };
    const known = this.positions.get(frame.channel);
    if (known && known.epoch !== position.epoch) this.positions.delete(frame.channel);
    this.remember(frame.channel, position);
    const resumed = state.sentSince !== null;
    const info = { channel: frame.channel, resumed, recovered: resumed && frame.recovered, position };
    for (const h of [...state.handlers]) {
      safely(() => h.onSubscribed?.(info));
      if (resumed && !frame.recovered) safely(() => h.onRecoveryFailed?.(frame.channel));
    }
  }

  private onEvent(frame: EventFrame) {
    const state = this.channelStates.get(frame.channel);
    if (!state || !frame.event || typeof frame.event.id !== 'string') return;
    if (frame.offset !== undefined && frame.epoch !== undefined) {
      this.remember(frame.channel, { offset: frame.offset, epoch: frame.epoch });
    }
    if (!this.seen.add(`${frame.channel} ${frame.event.id}`)) return;
    for (const h of [...state.handlers]) safely(() => h.onEvent?.(frame.event, frame));
  }

  private onError(id: number | null, error: RealtimeError) {
    if (id !== null) {
      const p = this.pending.get(id);
      if (p) {
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(error);
        return;
      }
      for (const [channel, state] of this.channelStates) {
        if (state.subscribeId !== id) continue;
        state.subscribeId = null;
        if (error.code === 'unavailable') {
          // The hub could not reach its broker: ask again shortly.
          state.retryTimer = setTimeout(() => {
            state.retryTimer = null;
            if (this.statusValue === 'open' && this.channelStates.get(channel) === state) this.sendSubscribe(channel, state);
          }, this.backoffDelay(1));
        }
        const withChannel = new RealtimeError(error.code, error.message, channel);
        state.handlers.forEach((h) => safely(() => h.onError?.(withChannel)));
        return;
      }
      if (id === this.authId) return; // a close with 4001 follows
    }
    if (error.channel) {
      const state = this.channelStates.get(error.channel);
      if (state) {
        state.subscribed = false;
        state.handlers.forEach((h) => safely(() => h.onError?.(error)));
      }
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function safely(f: () => void) {
  try {
    f();
  } catch (e) {
    // One subscriber's bug must not break the others or the connection.
    console.error('realtime handler failed', e);
  }
}
