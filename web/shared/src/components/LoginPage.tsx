import { useState, type FormEvent } from 'react';
import { ApiError, errorMessage } from '../api/errors';
import { useAuthState } from '../auth/react';
import type { Auth } from '../auth/session';
import { TextField } from './Field';

const LAST_TENANT_KEY = 'qivr.last_tenant';

function readLastTenant(): string {
  try {
    return localStorage.getItem(LAST_TENANT_KEY) ?? '';
  } catch {
    return '';
  }
}

export interface LoginPageProps {
  auth: Auth;
  /** e.g. "Clinic dashboard". */
  title: string;
  subtitle?: string;
}

/** The sign-in screen both apps show when there is no session. */
export function LoginPage({ auth, title, subtitle }: LoginPageProps) {
  const notice = useAuthState(auth, (s) => s.notice);
  const reason = useAuthState(auth, (s) => s.signedOutReason);
  const [tenant, setTenant] = useState(readLastTenant);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Readonly<Record<string, string>>>({});

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setFieldErrors({});
    auth.clearNotice();
    try {
      await auth.login(tenant, email, password);
      try {
        localStorage.setItem(LAST_TENANT_KEY, tenant.trim());
      } catch {
        // not remembered; no harm
      }
    } catch (err) {
      if (err instanceof ApiError) {
        setFieldErrors(err.fieldErrors);
        setError(
          err.status === 401
            ? (err.detail ?? 'The clinic, email or password is not right.')
            : err.userMessage,
        );
      } else {
        setError(errorMessage(err));
      }
      setPassword('');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form className="card login__card" onSubmit={onSubmit} aria-labelledby="login-title" noValidate>
        <h1 id="login-title">{title}</h1>
        {subtitle ? <p className="muted">{subtitle}</p> : null}
        {notice && !error ? (
          <div className={reason === 'inactivity' ? 'notice notice--info' : 'notice'} role="status">
            {notice}
          </div>
        ) : null}
        {error ? (
          <div className="notice notice--error" role="alert">
            {error}
          </div>
        ) : null}
        <TextField
          label="Clinic"
          name="tenant"
          autoComplete="organization"
          placeholder="e.g. harbour-physio"
          value={tenant}
          onChange={(e) => setTenant(e.target.value)}
          error={fieldErrors['tenant']}
          required
        />
        <TextField
          label="Email"
          name="email"
          type="email"
          autoComplete="username"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={fieldErrors['email']}
          required
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fieldErrors['password']}
          required
        />
        <button type="submit" className="button button--primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
