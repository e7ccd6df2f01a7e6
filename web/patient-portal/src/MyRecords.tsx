import type { ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { ApiError, channels, ConsentGate, ConsentsPanel, DocumentsPanel, errorMessage, useAuthState, useRecordEvents } from '@qivr/shared';
import { api, auth } from './session';
import { keys } from './queryClient';

function useMyRecord() {
  return useQuery({ queryKey: keys.myRecord, queryFn: ({ signal }) => api.patients.me(signal) });
}

/** Renders `page` with the signed-in patient's record id, or says why there is none. */
function WithMyRecord({ title, page }: { title: string; page: (patientId: string) => ReactNode }) {
  const me = useMyRecord();
  if (me.isPending) return <p className="muted">Loading…</p>;
  if (me.isError) {
    return (
      <section className="card">
        <h1>{title}</h1>
        <div className="notice notice--error" role="alert">
          {me.error instanceof ApiError && me.error.status === 404
            ? 'Your login is not linked to a patient record yet. Please contact your clinic.'
            : errorMessage(me.error)}
        </div>
      </section>
    );
  }
  return <>{page(me.data.id)}</>;
}

export function MyDocuments() {
  return (
    <WithMyRecord
      title="My documents"
      page={(id) => <DocumentsPanel api={api} patientId={id} role="patient" title="My documents" heading="h1" />}
    />
  );
}

export function MyConsents() {
  return <WithMyRecord title="My consents" page={(id) => <ConsentsPanel api={api} patientId={id} canDecide title="My consents" heading="h1" />} />;
}

/**
 * Shows the portal only once the patient has granted every required consent; until then the
 * consent texts to agree to. A login without a patient record passes (its pages explain).
 */
export function RequiredConsents({ children }: { children: ReactNode }) {
  const me = useMyRecord();
  // Mounted on every page of a signed-in patient: documents and consents the clinic records
  // show up without a reload.
  const userId = useAuthState(auth, (s) => s.user?.id ?? null);
  useRecordEvents(userId ? channels.user(userId) : null);
  if (me.isPending) return <p className="muted">Loading…</p>;
  if (me.isError) return <>{children}</>;
  return (
    <ConsentGate api={api} patientId={me.data.id}>
      {children}
    </ConsentGate>
  );
}
