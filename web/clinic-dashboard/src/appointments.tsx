/**
 * The dashboard's appointment data: query keys, the reads (providers, clinic settings, a range
 * of appointments, one patient's), how an appointment from an event or a PATCH answer goes into
 * every cached list, and the app-wide live subscription that alerts staff when a patient books
 * or cancels, and keeps providers and the clinic's settings current.
 */
import { useRef, useState } from 'react';
import { Link } from 'react-router';
import { useQuery, type QueryClient, type QueryKey } from '@tanstack/react-query';
import {
  ApiError,
  appointmentInRange,
  appointmentStatusLabel,
  byStart,
  channels,
  collectPages,
  formatInZone,
  safeTimeZone,
  upsertIntoLists,
  useLiveCache,
  zonedParts,
  type Appointment,
  type AppointmentEvent,
  type AppointmentRange,
  type ClinicSettings,
  type Provider,
} from '@qivr/shared';
import { api } from './session';

export const appointmentKeys = {
  providers: ['providers'] as const,
  settings: ['clinic-settings'] as const,
  all: ['appointments'] as const,
  lists: ['appointments', 'list'] as const,
  list: (range: AppointmentRange) => ['appointments', 'list', range] as const,
};

/** Providers (active first); everyone in the clinic may list them. */
export function useProviders() {
  return useQuery({ queryKey: appointmentKeys.providers, queryFn: ({ signal }) => api.providers.list(signal), staleTime: 60_000 });
}

export function useClinicSettings() {
  return useQuery({ queryKey: appointmentKeys.settings, queryFn: ({ signal }) => api.clinicSettings.get(signal), staleTime: 60_000 });
}

/** The clinic's time zone (working hours and the calendar are in it); UTC until the settings load. */
export function useClinicTimeZone(): string {
  return safeTimeZone(useClinicSettings().data?.timezone);
}

/** Every appointment matching `range` (all pages), kept live by `AppointmentsLive`. */
export function useAppointments(range: AppointmentRange, enabled = true) {
  return useQuery({
    queryKey: appointmentKeys.list(range),
    queryFn: ({ signal }) => collectPages((cursor) => api.appointments.list({ ...range, cursor, limit: 100 }, signal)),
    enabled,
  });
}

/** Puts an appointment (from an event or a PATCH/POST answer) into every cached list it belongs to. */
export function applyAppointment(queryClient: QueryClient, item: Appointment, insert = true) {
  const { by_patient: _ignored, ...appointment } = item as AppointmentEvent;
  void _ignored;
  upsertIntoLists<Appointment>(queryClient, appointmentKeys.lists, appointment, {
    belongs: (a, key: QueryKey) => appointmentInRange(a, (key[2] ?? {}) as AppointmentRange),
    compare: byStart,
    insert,
  });
}

/** The words of a 409 from `POST`/`PATCH /appointments`: the provider is taken then. */
export function doubleBookingMessage(providerName: string | undefined): string {
  return `${providerName ?? 'The provider'} is already booked at that time`;
}

/** Field messages of a failed save, with the 409 said in the desk's words under the start time. */
export function appointmentFieldErrors(error: unknown, providerName: string | undefined): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  if (error.status === 409) return { ...error.fieldErrors, starts_at: doubleBookingMessage(providerName) };
  return { ...error.fieldErrors };
}

/** The calendar address of an appointment: its day, in the clinic's time zone, with it selected. */
export function appointmentHref(a: Pick<Appointment, 'id' | 'starts_at'>, timeZone: string): string {
  return `/appointments?date=${zonedParts(a.starts_at, timeZone).date}&appt=${a.id}`;
}

export function providerName(providers: readonly Provider[] | undefined, id: string): string | undefined {
  return providers?.find((p) => p.id === id)?.name;
}

export function AppointmentStatusBadge({ status }: { status: string }) {
  return (
    <span className={`status appt-status--${status}`} data-testid="appointment-status" data-status={status}>
      {appointmentStatusLabel(status)}
    </span>
  );
}

interface Alert {
  key: string;
  appointment: Appointment;
  what: 'booked' | 'requested' | 'cancelled';
}

const MAX_ALERTS = 5;

/**
 * Mounted once in the layout: follows `appointments` for the whole dashboard (every cached
 * appointment list stays live on any page) and shows an alert when a patient books, requests
 * or cancels themselves. Alerts stay until dismissed.
 */
export function AppointmentsLive() {
  const timeZone = useClinicTimeZone();
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const counter = useRef(0);
  useLiveCache(channels.appointments, {
    refetch: [appointmentKeys.lists],
    apply: (event, queryClient) => {
      if (event.kind.startsWith('provider.')) {
        void queryClient.invalidateQueries({ queryKey: appointmentKeys.providers });
        return;
      }
      if (event.kind === 'clinic.settings_updated') {
        queryClient.setQueryData<ClinicSettings>(appointmentKeys.settings, event.data as ClinicSettings);
        return;
      }
      if (!event.kind.startsWith('appointment.')) return;
      const item = event.data as AppointmentEvent;
      applyAppointment(queryClient, item);
      if (!item.by_patient) return;
      const what =
        event.kind === 'appointment.cancelled'
          ? 'cancelled'
          : event.kind === 'appointment.created'
            ? item.status === 'requested'
              ? 'requested'
              : 'booked'
            : null;
      if (!what) return;
      counter.current += 1;
      const alert = { key: `${event.id}-${counter.current}`, appointment: item, what } as const;
      setAlerts((list) => [...list.filter((a) => a.appointment.id !== item.id || a.what !== what), alert].slice(-MAX_ALERTS));
    },
  });
  if (alerts.length === 0) return null;
  const dismiss = (key: string) => setAlerts((list) => list.filter((a) => a.key !== key));
  return (
    <div className="toasts" aria-label="Appointment alerts" role="region">
      {alerts.map(({ key, appointment: a, what }) => (
        <div key={key} className={`toast toast--${what}`} role="alert" data-testid="appointment-alert" data-id={a.id}>
          <div>
            <strong>{a.patient_name}</strong>{' '}
            {what === 'cancelled' ? 'cancelled' : what === 'requested' ? 'requested' : 'booked'} an appointment with{' '}
            {a.provider_name} on {formatInZone(a.starts_at, timeZone)}.
            {what === 'cancelled' && a.cancel_reason ? <div className="muted">Reason: {a.cancel_reason}</div> : null}
            <div>
              <Link to={appointmentHref(a, timeZone)} onClick={() => dismiss(key)}>
                {what === 'requested' ? 'Review request' : 'Show in calendar'}
              </Link>
            </div>
          </div>
          <button type="button" className="button button--small" aria-label="Dismiss alert" onClick={() => dismiss(key)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
