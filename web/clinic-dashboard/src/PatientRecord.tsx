import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import {
  appointmentKindLabel,
  errorMessage,
  formatDate,
  formatDateTime,
  recordKeys,
  scoreText,
  ConsentStandingBadge,
  type TimelineEntry,
} from '@qivr/shared';
import { api } from './session';

/** The patient at a glance: what a clinician wants first on opening the record. */
export function PatientSummary({ patientId }: { patientId: string }) {
  const summary = useQuery({ queryKey: recordKeys.summary(patientId), queryFn: ({ signal }) => api.records.summary(patientId, signal) });
  return (
    <section className="card" aria-labelledby="summary-title" data-testid="patient-summary">
      <h2 id="summary-title">Summary</h2>
      {summary.isPending ? (
        <p className="muted">Loading the summary…</p>
      ) : summary.isError ? (
        <div className="notice notice--error" role="alert">
          Could not load the summary: {errorMessage(summary.error)}
        </div>
      ) : (
        <div className="summary-grid">
          <div>
            <h3>Active conditions</h3>
            {summary.data.active_conditions.length === 0 ? (
              <p className="muted">None recorded.</p>
            ) : (
              <ul>
                {summary.data.active_conditions.map((c) => (
                  <li key={c.id}>
                    {c.name}
                    {c.onset_date ? <span className="muted"> since {formatDate(c.onset_date)}</span> : null}
                  </li>
                ))}
              </ul>
            )}
            <h3>History</h3>
            <p>{summary.data.medical_history ?? <span className="muted">None recorded.</span>}</p>
            <h3>Medications and allergies</h3>
            <p>
              {summary.data.medications ?? 'No medications recorded'}; {summary.data.allergies ?? 'no allergies recorded'}.
            </p>
          </div>
          <div>
            <h3>Latest intake</h3>
            {summary.data.latest_intake ? (
              <p>
                {summary.data.latest_intake.chief_complaint} (pain {summary.data.latest_intake.pain_level}/10)
                <br />
                <span className={`status status--${summary.data.latest_intake.status}`}>{summary.data.latest_intake.status.replace('_', ' ')}</span>{' '}
                <span className="muted">{formatDateTime(summary.data.latest_intake.created_at)}</span>
              </p>
            ) : (
              <p className="muted">No intake yet.</p>
            )}
            <h3>Next appointments</h3>
            {summary.data.upcoming_appointments.length === 0 ? (
              <p className="muted">None booked.</p>
            ) : (
              <ul>
                {summary.data.upcoming_appointments.map((a) => (
                  <li key={a.id}>
                    {formatDateTime(a.starts_at)} · {appointmentKindLabel(a.kind)} with {a.provider_name}
                  </li>
                ))}
              </ul>
            )}
            <h3>Recent appointments</h3>
            {summary.data.recent_appointments.length === 0 ? (
              <p className="muted">None yet.</p>
            ) : (
              <ul>
                {summary.data.recent_appointments.map((a) => (
                  <li key={a.id}>
                    {formatDateTime(a.starts_at)} · {appointmentKindLabel(a.kind)} ({a.status.replace('_', ' ')})
                  </li>
                ))}
              </ul>
            )}
          </div>
          <div>
            <h3>Recent documents</h3>
            {summary.data.recent_documents.length === 0 ? (
              <p className="muted">None.</p>
            ) : (
              <ul>
                {summary.data.recent_documents.map((d) => (
                  <li key={d.id} className="break">
                    {d.file_name} <span className="muted">{formatDate(d.created_at.slice(0, 10))}</span>
                  </li>
                ))}
              </ul>
            )}
            <h3>Questionnaires</h3>
            {summary.data.prom_scores.length === 0 ? (
              <p className="muted">None completed.</p>
            ) : (
              <ul data-testid="summary-prom-scores">
                {summary.data.prom_scores.map((p) => (
                  <li key={p.instance_id}>
                    {p.template_name}: {p.scales.map((s) => scoreText(s)).join(', ')}{' '}
                    <span className="muted">{formatDate(p.submitted_at.slice(0, 10))}</span>
                  </li>
                ))}
              </ul>
            )}
            <h3>Consents</h3>
            {summary.data.required_consents_granted ? null : (
              <p className="notice notice--error">A required consent is missing or out of date.</p>
            )}
            <ul>
              {summary.data.consents.map((c) => (
                <li key={c.consent_type_id}>
                  {c.title} <ConsentStandingBadge status={c.status} />
                </li>
              ))}
            </ul>
          </div>
        </div>
      )}
    </section>
  );
}

const KIND_WORDS: Record<string, string> = {
  'intake.submitted': 'Intake submitted',
  'evaluation.status': 'Evaluation',
  appointment: 'Appointment',
  'document.uploaded': 'Document',
  'consent.granted': 'Consent granted',
  'consent.revoked': 'Consent revoked',
  conversation: 'Conversation',
};

function describe(e: TimelineEntry): string {
  switch (e.kind) {
    case 'evaluation.status':
      return `now ${e.title.replace('_', ' ')}`;
    case 'appointment':
      return `${appointmentKindLabel(e.title.split(' with ')[0] ?? e.title)} with ${String(e.detail['provider_name'] ?? '')} (${String(e.detail['status'] ?? '').replace('_', ' ')})`;
    case 'conversation':
      return `${e.title} — ${String(e.detail['message_count'] ?? 0)} messages`;
    case 'consent.granted':
    case 'consent.revoked':
      return `${e.title} (version ${String(e.detail['version'] ?? '')})`;
    default:
      return e.title;
  }
}

/** Everything on the record, newest first. */
export function PatientTimeline({ patientId }: { patientId: string }) {
  const timeline = useInfiniteQuery({
    queryKey: recordKeys.timeline(patientId),
    queryFn: ({ pageParam, signal }) => api.records.timeline(patientId, { cursor: pageParam, limit: 20 }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = timeline.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section className="card" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      {timeline.isPending ? (
        <p className="muted">Loading the timeline…</p>
      ) : timeline.isError ? (
        <div className="notice notice--error" role="alert">
          Could not load the timeline: {errorMessage(timeline.error)}
        </div>
      ) : items.length === 0 ? (
        <p className="muted">Nothing on the record yet.</p>
      ) : (
        <ol className="timeline" aria-label="Timeline">
          {items.map((e) => (
            <li key={`${e.at}-${e.kind}-${e.resource_id}`} data-testid="timeline-entry" data-kind={e.kind}>
              <span className="muted nowrap">{formatDateTime(e.at)}</span>
              <span>
                <strong>{KIND_WORDS[e.kind] ?? e.kind}</strong>: {describe(e)}
              </span>
            </li>
          ))}
        </ol>
      )}
      {timeline.hasNextPage ? (
        <button type="button" className="button" onClick={() => void timeline.fetchNextPage()} disabled={timeline.isFetchingNextPage}>
          Load older
        </button>
      ) : null}
    </section>
  );
}
