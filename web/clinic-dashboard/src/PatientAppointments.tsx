import { Link } from 'react-router';
import { appointmentKindLabel, errorMessage, formatInZone, splitUpcoming, type Appointment } from '@qivr/shared';
import { AppointmentStatusBadge, appointmentHref, useAppointments, useClinicTimeZone } from './appointments';

/** The patient page's appointments: upcoming (next first) and past (latest first), live. */
export function PatientAppointments({ patientId }: { patientId: string }) {
  const timeZone = useClinicTimeZone();
  const appointments = useAppointments({ patient_id: patientId });
  const { upcoming, past } = splitUpcoming(appointments.data?.items ?? []);
  return (
    <section className="card" aria-labelledby="appointments-title">
      <div className="page-head">
        <h2 id="appointments-title">Appointments</h2>
        <Link className="button button--small" to={`/appointments?book=1&patient=${patientId}`}>
          Book appointment
        </Link>
      </div>
      {appointments.isPending ? (
        <p className="muted">Loading appointments…</p>
      ) : appointments.isError ? (
        <div className="notice notice--error" role="alert">
          Could not load appointments: {errorMessage(appointments.error)}
        </div>
      ) : (
        <>
          <h3>Upcoming</h3>
          <AppointmentTable items={upcoming} timeZone={timeZone} label="Upcoming appointments" empty="No upcoming appointments." />
          <h3>Past</h3>
          <AppointmentTable items={past} timeZone={timeZone} label="Past appointments" empty="No past appointments." />
        </>
      )}
    </section>
  );
}

function AppointmentTable({ items, timeZone, label, empty }: { items: Appointment[]; timeZone: string; label: string; empty: string }) {
  if (items.length === 0) return <p className="muted">{empty}</p>;
  return (
    <table className="list" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Provider</th>
          <th scope="col">Kind</th>
          <th scope="col">Status</th>
        </tr>
      </thead>
      <tbody>
        {items.map((a) => (
          <tr key={a.id} data-testid="patient-appointment" data-id={a.id}>
            <td className="nowrap">
              <Link to={appointmentHref(a, timeZone)}>{formatInZone(a.starts_at, timeZone)}</Link>
            </td>
            <td>{a.provider_name}</td>
            <td>{appointmentKindLabel(a.kind)}</td>
            <td>
              <AppointmentStatusBadge status={a.status} />
              {a.cancel_reason ? <div className="muted break">{a.cancel_reason}</div> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
