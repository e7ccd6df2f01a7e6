import { Link, useLocation } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import {
  ApiError,
  PATIENT_STATUS_LABELS,
  channels,
  errorMessage,
  formatDateTime,
  isNotOlder,
  statusLabel,
  useAuthState,
  useLiveCache,
  type EvaluationStatusEvent,
  type Intake,
  type Page,
} from '@qivr/shared';
import { api, auth } from './session';
import { keys } from './queryClient';

/** The patient's intakes, whose status follows triage live (`evaluation.*` on `user:<id>`). */
export function MyIntakes() {
  const userId = useAuthState(auth, (s) => s.user?.id ?? null);
  const location = useLocation();
  const submitted = (location.state as { submitted?: string } | null)?.submitted;
  const intakes = useQuery({ queryKey: keys.intakes, queryFn: ({ signal }) => api.intakes.list({}, signal) });

  useLiveCache(userId ? channels.user(userId) : null, {
    refetch: [keys.intakes],
    apply: (event, queryClient) => {
      if (event.kind !== 'evaluation.created' && event.kind !== 'evaluation.updated') return;
      const change = event.data as EvaluationStatusEvent;
      const page = queryClient.getQueryData<Page<Intake>>(keys.intakes);
      if (!page) return;
      if (!page.items.some((i) => i.id === change.intake_id)) {
        // An intake this page has not seen (sent from another tab, or by the clinic for us).
        void queryClient.invalidateQueries({ queryKey: keys.intakes });
        return;
      }
      queryClient.setQueryData<Page<Intake>>(keys.intakes, {
        ...page,
        items: page.items.map((i) =>
          i.id === change.intake_id && isNotOlder(change, i) ? { ...i, status: change.status, updated_at: change.updated_at } : i,
        ),
      });
    },
  });

  return (
    <section>
      <div className="page-head">
        <h1>My intakes</h1>
        <Link className="button button--primary" to="/intakes/new">
          New intake form
        </Link>
      </div>
      {submitted ? (
        <div className="notice notice--ok" role="status">
          Thank you. Your form was sent to your clinic; you will see here when it has been reviewed.
        </div>
      ) : null}
      {intakes.isPending ? (
        <p className="muted">Loading your intakes…</p>
      ) : intakes.isError ? (
        <div className="notice notice--error" role="alert">
          {intakes.error instanceof ApiError && intakes.error.status === 404
            ? 'Your login is not linked to a patient record yet. Please contact your clinic.'
            : `Could not load your intakes: ${errorMessage(intakes.error)}`}
        </div>
      ) : intakes.data.items.length === 0 ? (
        <p className="muted">You have not sent an intake form yet.</p>
      ) : (
        <table className="list" aria-label="My intakes">
          <thead>
            <tr>
              <th scope="col">Sent</th>
              <th scope="col">Problem</th>
              <th scope="col">Pain</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {intakes.data.items.map((i) => (
              <tr key={i.id} data-testid="intake-row" className={i.id === submitted ? 'row--new' : undefined}>
                <td className="nowrap">{formatDateTime(i.created_at)}</td>
                <td className="break">{i.chief_complaint}</td>
                <td>{i.pain_level}/10</td>
                <td>
                  <span className={`status status--${i.status}`} data-testid="intake-status" data-status={i.status}>
                    {statusLabel(i.status, PATIENT_STATUS_LABELS)}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
