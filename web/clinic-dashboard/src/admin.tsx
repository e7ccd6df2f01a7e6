import type { ReactNode } from 'react';
import { ApiError, useAuthState } from '@qivr/shared';
import { auth } from './session';

export function useIsAdmin(): boolean {
  return useAuthState(auth, (s) => s.user?.role === 'admin');
}

/** The API answers 403 to a non-admin (or to an admin demoted since signing in). */
export function isForbidden(e: unknown): boolean {
  return e instanceof ApiError && e.status === 403;
}

export function AdminOnlyNotice({ title, message }: { title: string; message: string }) {
  return (
    <section className="card">
      <h1>{title}</h1>
      <div className="notice notice--error" role="alert">
        {message}
      </div>
    </section>
  );
}

/** Renders an admin page, or says who may see it without asking the server. */
export function AdminOnly({ title, message, children }: { title: string; message: string; children: ReactNode }) {
  const isAdmin = useIsAdmin();
  return isAdmin ? children : <AdminOnlyNotice title={title} message={message} />;
}
