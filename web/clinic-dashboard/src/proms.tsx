/**
 * The dashboard's PROM data: query keys, the app-wide live subscription to `proms` (submissions
 * refresh open patient charts; item alerts pop up until acknowledged), and the score chart.
 */
import { Link } from 'react-router';
import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import {
  bandRanges,
  channels,
  errorMessage,
  formatDate,
  useLiveCache,
  type Page,
  type PromAlert,
  type PromInstanceSummary,
  type PromScaleTrend,
} from '@qivr/shared';
import { api } from './session';

export const promKeys = {
  all: ['proms'] as const,
  templates: ['proms', 'templates'] as const,
  template: (id: string) => ['proms', 'templates', id] as const,
  instruments: ['proms', 'instruments'] as const,
  instances: ['proms', 'instances'] as const,
  instanceList: (query: Record<string, unknown>) => ['proms', 'instances', query] as const,
  instance: (id: string) => ['proms', 'instance', id] as const,
  openAlerts: ['proms', 'alerts', 'open'] as const,
  trends: (patientId: string) => ['proms', 'trends', patientId] as const,
  analytics: ['proms', 'analytics'] as const,
};

/** Open item alerts, kept live by `PromsLive`. */
export function useOpenAlerts() {
  return useQuery({ queryKey: promKeys.openAlerts, queryFn: ({ signal }) => api.proms.alerts({ open: true }, signal) });
}

function applyAlert(queryClient: QueryClient, alert: PromAlert) {
  const page = queryClient.getQueryData<Page<PromAlert>>(promKeys.openAlerts);
  if (!page) return;
  const rest = page.items.filter((a) => a.id !== alert.id);
  queryClient.setQueryData<Page<PromAlert>>(promKeys.openAlerts, {
    ...page,
    items: alert.acknowledged_at ? rest : [alert, ...rest],
  });
}

/**
 * Mounted once in the layout: follows `proms` for the whole dashboard. A submission refreshes
 * that patient's chart and the instance lists; an alert shows until someone acknowledges it.
 */
export function PromsLive() {
  const alerts = useOpenAlerts();
  useLiveCache(channels.proms, {
    refetch: [promKeys.openAlerts, promKeys.instances],
    apply: (event, queryClient) => {
      if (event.kind === 'prom.alert' || event.kind === 'prom.alert.acknowledged') {
        applyAlert(queryClient, event.data as PromAlert);
      } else if (event.kind === 'prom.submitted') {
        const instance = event.data as PromInstanceSummary;
        void queryClient.invalidateQueries({ queryKey: promKeys.trends(instance.patient_id) });
        void queryClient.invalidateQueries({ queryKey: promKeys.instances });
        void queryClient.invalidateQueries({ queryKey: promKeys.analytics });
      } else if (event.kind === 'prom.assigned') {
        void queryClient.invalidateQueries({ queryKey: promKeys.instances });
      }
    },
  });
  const open = alerts.data?.items ?? [];
  if (open.length === 0) return null;
  return (
    <div className="toasts toasts--proms" aria-label="PROM alerts" role="region">
      {open.slice(0, 5).map((alert) => (
        <AlertCard key={alert.id} alert={alert} toast />
      ))}
    </div>
  );
}

/** One alert with its Acknowledge button (audited on the server). */
export function AlertCard({ alert, toast = false }: { alert: PromAlert; toast?: boolean }) {
  const queryClient = useQueryClient();
  const acknowledge = useMutation({
    mutationFn: () => api.proms.acknowledge(alert.id),
    onSuccess: (updated) => applyAlert(queryClient, updated),
  });
  return (
    <div className={toast ? 'toast toast--cancelled' : 'notice notice--error'} role="alert" data-testid="prom-alert" data-id={alert.id}>
      <div>
        <strong>{alert.patient_name}</strong>: {alert.message}
        <div className="muted">
          {alert.template_name} — “{alert.item_text}” answered {alert.value}
        </div>
        <div>
          <Link to={`/patients/${alert.patient_id}`}>Open patient</Link>
        </div>
        {acknowledge.isError ? <div className="field__error">{errorMessage(acknowledge.error)}</div> : null}
      </div>
      <button type="button" className="button button--small" disabled={acknowledge.isPending} onClick={() => acknowledge.mutate()}>
        Acknowledge
      </button>
    </div>
  );
}

const WIDTH = 520;
const HEIGHT = 200;
const PAD = { left: 40, right: 12, top: 12, bottom: 28 };
const BAND_COLOURS = ['#e8f5e9', '#fffde7', '#fff3e0', '#fbe9e7', '#ffebee', '#f3e5f5'];

/**
 * One scale's scores over time: the bands as shaded stripes, each completion as a point, and
 * changes of at least the MCID marked (▲ improved, ▼ worsened).
 */
export function PromChart({ trend, title }: { trend: PromScaleTrend; title: string }) {
  const points = trend.points.filter((p) => typeof p.score === 'number');
  const bands = bandRanges(trend.bands);
  const values = points.map((p) => p.score as number);
  const top = Math.max(bands.at(-1)?.to ?? 0, ...values, 1);
  const bottom = Math.min(0, ...values);
  const y = (v: number) => PAD.top + (HEIGHT - PAD.top - PAD.bottom) * (1 - (v - bottom) / (top - bottom || 1));
  const x = (i: number) => PAD.left + (points.length <= 1 ? (WIDTH - PAD.left - PAD.right) / 2 : ((WIDTH - PAD.left - PAD.right) * i) / (points.length - 1));
  const latest = points.at(-1);
  return (
    <figure className="prom-chart" data-testid="prom-chart" data-scale={trend.scale}>
      <figcaption>
        <strong>{title}</strong> — {trend.label}
        {latest ? (
          <span data-testid="prom-latest-score">
            {' '}
            latest {latest.score}
            {latest.band ? ` (${latest.band})` : ''}
          </span>
        ) : null}
        {trend.mcid ? <span className="muted"> · MCID {trend.mcid}</span> : null}
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width="100%" role="img" aria-label={`${title} ${trend.label} over time`}>
        {bands.map((band, i) => (
          <g key={band.label}>
            <rect x={PAD.left} width={WIDTH - PAD.left - PAD.right} y={y(band.to)} height={Math.max(0, y(band.from) - y(band.to))} fill={BAND_COLOURS[i % BAND_COLOURS.length]} />
            <text x={WIDTH - PAD.right - 4} y={y(band.to) + 11} fontSize="10" textAnchor="end" fill="#555">
              {band.label}
            </text>
          </g>
        ))}
        <line x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={HEIGHT - PAD.bottom} stroke="#999" />
        <text x={PAD.left - 4} y={y(top) + 4} fontSize="10" textAnchor="end">
          {top}
        </text>
        <text x={PAD.left - 4} y={y(bottom)} fontSize="10" textAnchor="end">
          {bottom}
        </text>
        <polyline fill="none" stroke="#1565c0" strokeWidth="2" points={points.map((p, i) => `${x(i)},${y(p.score as number)}`).join(' ')} />
        {points.map((p, i) => (
          <g key={p.instance_id} data-testid="prom-point" data-score={p.score ?? ''}>
            <circle cx={x(i)} cy={y(p.score as number)} r="4" fill="#1565c0">
              <title>
                {formatDate(p.submitted_at)}: {p.score}
                {p.band ? ` (${p.band})` : ''}
              </title>
            </circle>
            {p.change === 'improved' || p.change === 'worsened' ? (
              <text x={x(i)} y={y(p.score as number) - 8} fontSize="12" textAnchor="middle" fill={p.change === 'improved' ? '#2e7d32' : '#c62828'}>
                {p.change === 'improved' ? '▲' : '▼'}
              </text>
            ) : null}
            <text x={x(i)} y={HEIGHT - 10} fontSize="10" textAnchor="middle">
              {formatDate(p.submitted_at)}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}
