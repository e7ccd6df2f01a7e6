/**
 * Invitation links: `/clinic/accept-invite#token=…` and `/portal/accept-invite#token=…`. The
 * token travels in the fragment, so it never reaches a server log or a Referer header.
 */

/** The server refuses shorter passwords (422 on `password`); checked here first to save a trip. */
export const MIN_PASSWORD_LENGTH = 10;

/** The invitation token from a URL fragment (`#token=…`, other parameters allowed), or null. */
export function inviteTokenFromHash(hash: string): string | null {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  for (const part of raw.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq) !== 'token') continue;
    let value: string;
    try {
      // Not URLSearchParams: it would turn a `+` into a space.
      value = decodeURIComponent(part.slice(eq + 1));
    } catch {
      return null; // malformed percent-encoding: not a token we issued
    }
    value = value.trim();
    return value === '' ? null : value;
  }
  return null;
}

/** Messages for the "choose a password" form, keyed by field (`password`, `confirm`); empty when fine. */
export function newPasswordProblems(password: string, confirm: string): Record<string, string> {
  const problems: Record<string, string> = {};
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    problems['password'] = `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  } else if (password !== confirm) {
    problems['confirm'] = 'The passwords do not match.';
  }
  return problems;
}
