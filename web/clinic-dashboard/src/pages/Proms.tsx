/**
 * The PROMs page: open item alerts, overdue questionnaires, the clinic's templates and the
 * analytics (completion rates and average change by questionnaire). Alerts and lists are live
 * through `PromsLive` in the layout.
 */
import { Link, useLocation } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { errorMessage, formatDateTime } from '@qivr/shared';
import { api } from '../session';
import { AlertCard, promKeys, useOpenAlerts } from '../proms';

export function PromsPage() {
  const location = useLocation();
  const saved = (location.state as { saved?: string } | null)?.saved;
  return (
    <section>
      <div className="page-head">
        <h1>PROMs</h1>
        <Link className="button button--primary" to="/proms/templates/new">
          New template
        </Link>
      </div>
      {saved ? (
        <div className="notice notice--ok" role="status">
          {saved}
        </div>
      ) : null}
      <OpenAlerts />
      <Overdue />
      <Templates />
      <Analytics />
    </section>
  );
}

function OpenAlerts() {
  const alerts = useOpenAlerts();
  return (
    <section className="card" aria-labelledby="prom-alerts-title">
      <h2 id="prom-alerts-title">Alerts to review</h2>
      {alerts.isPending ? (
        <p className="muted">Loading alerts…</p>
      ) : alerts.isError ? (
        <div className="notice notice--error">{errorMessage(alerts.error)}</div>
      ) : alerts.data.items.length === 0 ? (
        <p className="muted">No open alerts.</p>
      ) : (
        alerts.data.items.map((alert) => <AlertCard key={alert.id} alert={alert} />)
      )}
    </section>
  );
}

function Overdue() {
  const query = { overdue: true, limit: 100 };
  const overdue = useQuery({ queryKey: promKeys.instanceList(query), queryFn: ({ signal }) => api.proms.instances(query, signal) });
  return (
    <section className="card" aria-labelledby="prom-overdue-title">
      <h2 id="prom-overdue-title">Overdue</h2>
      {overdue.isPending ? (
        <p className="muted">Loading…</p>
      ) : overdue.isError ? (
        <div className="notice notice--error">{errorMessage(overdue.error)}</div>
      ) : overdue.data.items.length === 0 ? (
        <p className="muted">Nothing overdue.</p>
      ) : (
        <table className="list" aria-label="Overdue questionnaires">
          <thead>
            <tr>
              <th scope="col">Patient</th>
              <th scope="col">Questionnaire</th>
              <th scope="col">Due</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {overdue.data.items.map((i) => (
              <tr key={i.id} data-testid="prom-overdue">
                <td>
                  <Link to={`/patients/${i.patient_id}`}>{i.patient_name}</Link>
                </td>
                <td>{i.template_name}</td>
                <td>{formatDateTime(i.due_at)}</td>
                <td>{i.status === 'in_progress' ? 'Started' : 'Not started'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Templates() {
  const templates = useQuery({ queryKey: promKeys.templates, queryFn: ({ signal }) => api.proms.templates(signal) });
  return (
    <section className="card" aria-labelledby="prom-templates-title">
      <h2 id="prom-templates-title">Templates</h2>
      {templates.isPending ? (
        <p className="muted">Loading…</p>
      ) : templates.isError ? (
        <div className="notice notice--error">{errorMessage(templates.error)}</div>
      ) : (
        <table className="list" aria-label="PROM templates">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Version</th>
              <th scope="col">Items</th>
              <th scope="col">Scales</th>
            </tr>
          </thead>
          <tbody>
            {templates.data.items.map((t) => (
              <tr key={t.id} data-testid="prom-template">
                <td>
                  <Link to={`/proms/templates/${t.id}`}>{t.name}</Link>
                </td>
                <td>{t.version}</td>
                <td>{t.items}</td>
                <td>{t.scales.join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Analytics() {
  const stats = useQuery({ queryKey: promKeys.analytics, queryFn: ({ signal }) => api.proms.analytics(signal) });
  return (
    <section className="card" aria-labelledby="prom-analytics-title">
      <h2 id="prom-analytics-title">Clinic analytics</h2>
      {stats.isPending ? (
        <p className="muted">Loading…</p>
      ) : stats.isError ? (
        <div className="notice notice--error">{errorMessage(stats.error)}</div>
      ) : (
        <table className="list" aria-label="PROM analytics">
          <thead>
            <tr>
              <th scope="col">Questionnaire</th>
              <th scope="col">Completed / due</th>
              <th scope="col">Completion rate</th>
              <th scope="col">Overdue</th>
              <th scope="col">Average change (first → latest)</th>
              <th scope="col">Improved by ≥ MCID</th>
            </tr>
          </thead>
          <tbody>
            {stats.data.items.map((s) => (
              <tr key={s.template_id} data-testid="prom-stats">
                <td>{s.template_name}</td>
                <td>
                  {s.completed} / {s.due}
                </td>
                <td>{s.completion_rate === null || s.completion_rate === undefined ? '—' : `${Math.round(s.completion_rate * 100)}%`}</td>
                <td>{s.overdue}</td>
                <td>
                  {s.average_change === null || s.average_change === undefined
                    ? '—'
                    : `${s.average_change > 0 ? '+' : ''}${s.average_change} ${s.scale ?? ''} (${s.patients_with_change} patient${s.patients_with_change === 1 ? '' : 's'}; ${s.higher_is_better ? 'higher is better' : 'lower is better'})`}
                </td>
                <td>{s.patients_with_change ? `${s.improved} of ${s.patients_with_change}` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
