import { useState, type FormEvent } from 'react';
import { ApiError, errorMessage, formErrorMessage } from '../api/errors';
import { inviteTokenFromHash, MIN_PASSWORD_LENGTH, newPasswordProblems } from '../auth/invitation';
import { useAuthState } from '../auth/react';
import { RoleRefusedError, type Auth } from '../auth/session';
import { TextField } from './Field';

export const INVALID_INVITATION = 'This invitation link is invalid, already used or expired.';

export interface AcceptInvitePageProps {
  auth: Auth;
  /** e.g. "Qivr clinic dashboard". */
  title: string;
  /** Leaves the page: signed in after accepting, or to the login form otherwise. */
  onDone: () => void;
}

/**
 * `/<app>/accept-invite#token=…`: the invited user chooses a password and is signed in. The app
 * shows it whatever the session state; accepting replaces a session the tab may hold.
 */
export function AcceptInvitePage({ auth, title, onDone }: AcceptInvitePageProps) {
  const [token] = useState(() => (typeof window === 'undefined' ? null : inviteTokenFromHash(window.location.hash)));
  const signedInAs = useAuthState(auth, (s) => (s.status === 'authenticated' ? s.user : null));
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  /** Set when the form cannot help any more (bad link, wrong app): only "Go to sign in" remains. */
  const [final, setFinal] = useState<string | null>(token ? null : INVALID_INVITATION);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Readonly<Record<string, string>>>({});

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (!token) return;
    const problems = newPasswordProblems(password, confirm);
    setFieldErrors(problems);
    setError(null);
    if (Object.keys(problems).length > 0) return;
    setBusy(true);
    try {
      await auth.acceptInvitation(token, password);
      onDone();
    } catch (err) {
      if (err instanceof RoleRefusedError) {
        setFinal(`Your password is set. ${err.message}`);
      } else if (err instanceof ApiError && err.status === 404) {
        setFinal(INVALID_INVITATION);
      } else {
        if (err instanceof ApiError) setFieldErrors(err.fieldErrors);
        setError(err instanceof ApiError ? formErrorMessage(err, ['password']) : errorMessage(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form className="card login__card" onSubmit={onSubmit} aria-labelledby="accept-title" noValidate>
        <h1 id="accept-title">{title}</h1>
        {final ? (
          <>
            <div className="notice notice--error" role="alert">
              {final}
            </div>
            <button type="button" className="button" onClick={onDone}>
              Go to sign in
            </button>
          </>
        ) : (
          <>
            <p className="muted">Welcome! Choose a password to finish setting up your account.</p>
            {signedInAs ? (
              <div className="notice" role="status">
                You are signed in as {signedInAs.name}. Accepting this invitation signs you in as the invited user
                instead.
              </div>
            ) : null}
            {error ? (
              <div className="notice notice--error" role="alert">
                {error}
              </div>
            ) : null}
            <TextField
              label="New password"
              name="password"
              type="password"
              autoComplete="new-password"
              hint={`At least ${MIN_PASSWORD_LENGTH} characters.`}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              error={fieldErrors['password']}
              required
            />
            <TextField
              label="Confirm password"
              name="confirm"
              type="password"
              autoComplete="new-password"
              value={confirm}
              onChange={(e) => setConfirm(e.target.value)}
              error={fieldErrors['confirm']}
              required
            />
            <button type="submit" className="button button--primary" disabled={busy}>
              {busy ? 'Setting your password…' : 'Set password and sign in'}
            </button>
          </>
        )}
      </form>
    </main>
  );
}
