/**
 * Idle logoff: calls `onIdle` once after `timeoutMs` without user activity.
 *
 * Activity only records a timestamp (mousemove fires constantly); one timer checks the elapsed
 * time and re-arms itself for the remainder. Because the check compares wall-clock times, a
 * laptop that slept or a background tab whose timers were throttled is still signed out when
 * it wakes: returning to the tab runs the check before any new activity counts.
 */
export interface IdleTimerOptions {
  timeoutMs: number;
  onIdle: () => void;
  /** Where activity events are heard; default `window` (none outside a browser). */
  target?: EventTarget | null;
  events?: readonly string[];
  now?: () => number;
}

export interface IdleTimer {
  /** Counts as activity (e.g. the user clicked "stay signed in"). */
  touch(): void;
  /** Milliseconds left before `onIdle`. */
  remaining(): number;
  stop(): void;
}

export const DEFAULT_ACTIVITY_EVENTS: readonly string[] = [
  'pointerdown',
  'pointermove',
  'mousemove',
  'mousedown',
  'keydown',
  'wheel',
  'scroll',
  'touchstart',
];

/** Events after which the elapsed time is checked at once (the tab was hidden or the machine slept). */
const WAKE_EVENTS = ['visibilitychange', 'focus', 'pageshow'];

export function startIdleTimer(options: IdleTimerOptions): IdleTimer {
  const now = options.now ?? (() => Date.now());
  const target: EventTarget | null =
    options.target !== undefined ? options.target : typeof window !== 'undefined' ? window : null;
  const events = options.events ?? DEFAULT_ACTIVITY_EVENTS;
  const timeoutMs = options.timeoutMs;
  let last = now();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;

  const onActivity = () => {
    last = now();
  };
  const check = () => {
    if (stopped) return;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const left = timeoutMs - (now() - last);
    if (left <= 0) {
      stop();
      options.onIdle();
    } else {
      timer = setTimeout(check, left);
    }
  };
  const listenerOptions: AddEventListenerOptions = { capture: true, passive: true };

  function stop() {
    if (stopped) return;
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (target) {
      for (const e of events) target.removeEventListener(e, onActivity, listenerOptions);
      for (const e of WAKE_EVENTS) target.removeEventListener(e, check, listenerOptions);
    }
  }

  if (target) {
    for (const e of events) target.addEventListener(e, onActivity, listenerOptions);
    for (const e of WAKE_EVENTS) target.addEventListener(e, check, listenerOptions);
  }
  timer = setTimeout(check, timeoutMs);

  return {
    touch: onActivity,
    remaining: () => Math.max(0, timeoutMs - (now() - last)),
    stop,
  };
}
