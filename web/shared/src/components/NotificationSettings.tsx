import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { QivrApi } from '../api/endpoints';
import type { NotificationPreference } from '../api/types';
import { errorMessage } from '../api/errors';

const KEY = ['me', 'notification-preferences'] as const;

/**
 * The caller's email notifications, each a switch saved at once. Messages and clinical details
 * are never in an email; these only say that something is waiting.
 */
export function NotificationSettings({ api }: { api: QivrApi }) {
  const queryClient = useQueryClient();
  const preferences = useQuery({ queryKey: KEY, queryFn: ({ signal }) => api.notificationPreferences.list(signal) });
  // The choice shows at once; the saved value replaces it, or the error explains.
  const [choosing, setChoosing] = useState<Record<string, boolean>>({});
  const change = useMutation({
    mutationFn: ({ kind, email }: { kind: string; email: boolean }) => api.notificationPreferences.set(kind, email),
    onSuccess: (saved) =>
      queryClient.setQueryData<NotificationPreference[]>(KEY, (list) => list?.map((p) => (p.kind === saved.kind ? saved : p))),
    onSettled: (_saved, _error, { kind }) =>
      setChoosing(({ [kind]: _done, ...rest }) => rest),
  });
  return (
    <section className="card" aria-labelledby="notification-settings">
      <h2 id="notification-settings">Email notifications</h2>
      <p className="muted">Emails only tell you that something is waiting; they never contain messages or health details.</p>
      {preferences.isPending ? (
        <p className="muted">Loading…</p>
      ) : preferences.isError ? (
        <div className="notice notice--error" role="alert">
          Could not load your settings: {errorMessage(preferences.error)}
        </div>
      ) : (
        <ul className="plain-list" data-testid="notification-settings">
          {preferences.data.map((p) => (
            <li key={p.kind}>
              <label>
                <input
                  type="checkbox"
                  name={p.kind}
                  checked={choosing[p.kind] ?? p.email}
                  disabled={p.kind in choosing}
                  onChange={(e) => {
                    const email = e.target.checked;
                    setChoosing((c) => ({ ...c, [p.kind]: email }));
                    change.mutate({ kind: p.kind, email });
                  }}
                />{' '}
                {p.description}
              </label>
            </li>
          ))}
        </ul>
      )}
      {change.isError ? (
        <div className="notice notice--error" role="alert">
          Not saved: {errorMessage(change.error)}
        </div>
      ) : null}
    </section>
  );
}
