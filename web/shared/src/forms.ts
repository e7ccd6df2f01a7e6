/** Small helpers for edit forms over API records. */

/** Form values are strings; an empty (or blank) string means "clear it" (`null`). */
export function emptyToNull(value: string): string | null {
  const v = value.trim();
  return v === '' ? null : v;
}

/**
 * The PATCH body for an edit form: only the fields whose value differs from the record, with
 * blanks as `null`. Fields listed in `required` are sent as trimmed strings, never `null`, so the
 * server can name them in a validation problem.
 */
export function changedFields<K extends string>(
  original: Readonly<Record<K, string | null>>,
  form: Readonly<Record<K, string>>,
  required: readonly K[] = [],
): Partial<Record<K, string | null>> {
  const patch: Partial<Record<K, string | null>> = {};
  for (const key of Object.keys(form) as K[]) {
    const normalize = (v: string | null) => (v === null ? null : required.includes(key) ? v.trim() : emptyToNull(v));
    const next = normalize(form[key]);
    const before = normalize(original[key] ?? null);
    if (next !== before) patch[key] = next;
  }
  return patch;
}

/** Today's date in the user's time zone, `YYYY-MM-DD`. */
export function todayIso(now: Date = new Date()): string {
  const y = now.getFullYear();
  const m = String(now.getMonth() + 1).padStart(2, '0');
  const d = String(now.getDate()).padStart(2, '0');
  return `${y}-${m}-${d}`;
}

/** `YYYY-MM-DD` shown as a local date without shifting it through UTC. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return iso;
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return date.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** An RFC 3339 timestamp as local date and time (to the second), or `—`. */
export function formatDateTime(ts: string | null | undefined): string {
  if (!ts) return '—';
  const date = new Date(ts);
  if (Number.isNaN(date.getTime())) return ts;
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}
